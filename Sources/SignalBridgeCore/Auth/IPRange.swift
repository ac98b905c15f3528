#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address or CIDR range from `allowFrom`, such as `52.89.214.238` or `10.0.0.0/8` or `::1`.
public struct IPRange: Sendable, Hashable, CustomStringConvertible {
    /// Network address bytes (4 or 16).
    public let network: [UInt8]
    /// Prefix length in bits.
    public let prefixLength: Int

    public static let loopbackV4 = IPRange(network: [127, 0, 0, 0], prefixLength: 8)
    public static let loopbackV6 = IPRange(network: Array(repeating: 0, count: 15) + [1], prefixLength: 128)

    private init(network: [UInt8], prefixLength: Int) {
        self.network = network
        self.prefixLength = prefixLength
    }

    /// Parses an address or a CIDR range; `nil` when it is neither.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPRange.parseAddress(String(parts[0])) else { return nil }
        let maxBits = address.count * 8
        var prefix = maxBits
        if parts.count == 2 {
            guard let p = Int(parts[1]), (0...maxBits).contains(p) else { return nil }
            prefix = p
        }
        self.init(network: IPRange.mask(address, prefix), prefixLength: prefix)
    }

    /// Whether `address` (textual IPv4 or IPv6) lies in this range. IPv4-mapped IPv6 addresses match IPv4 ranges.
    public func contains(_ address: String) -> Bool {
        guard var bytes = IPRange.parseAddress(address) else { return false }
        if bytes.count == 16, network.count == 4, bytes.prefix(12) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] {
            bytes = Array(bytes.suffix(4))
        }
        guard bytes.count == network.count else { return false }
        return IPRange.mask(bytes, prefixLength) == network
    }

    /// The share of each family's addresses this range covers (IPv4 1 for `0.0.0.0/0`, 1/256 for `10.0.0.0/8`). An
    /// IPv6 range inside `::ffff:0:0/96` counts as the IPv4 range it maps, and one containing all of it covers IPv4.
    public var share: (ipv4: Double, ipv6: Double) {
        func fraction(hostBits: Int, of total: Int) -> Double { Double(sign: .plus, exponent: hostBits - total, significand: 1) }
        if network.count == 4 { return (fraction(hostBits: 32 - prefixLength, of: 32), 0) }
        if prefixLength >= 96, Array(network.prefix(12)) == Self.mappedPrefix { return (fraction(hostBits: 128 - prefixLength, of: 32), 0) }
        return (prefixLength <= 96 && contains("::ffff:0.0.0.0") ? 1 : 0, fraction(hostBits: 128 - prefixLength, of: 128))
    }

    /// What is too broad about a list of ranges that is the only check (`allowFrom` of a `none` source,
    /// `trustedProxies`), if anything: together more than a /7 of either family (the private networks 10/8 +
    /// 172.16/12 + 192.168/16 and fc00::/7 still fit; `0.0.0.0/1` + `128.0.0.0/1`, `2000::/3`, `::ffff:0:0/96` do not).
    public static func tooBroad(_ ranges: [IPRange]) -> String? {
        let total = ranges.reduce((ipv4: 0.0, ipv6: 0.0)) { ($0.ipv4 + $1.share.ipv4, $0.ipv6 + $1.share.ipv6) }
        if total.ipv4 > 1.0 / 128 { return "more than a /7 of all IPv4 addresses" }
        if total.ipv6 > 1.0 / 128 { return "more than a /7 of all IPv6 addresses" }
        return nil
    }

    private static let mappedPrefix: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]

    public var description: String {
        let address: String
        if network.count == 4 {
            address = network.map(String.init).joined(separator: ".")
        } else {
            address = stride(from: 0, to: 16, by: 2).map { String(UInt16(network[$0]) << 8 | UInt16(network[$0 + 1]), radix: 16) }
                .joined(separator: ":")
        }
        return "\(address)/\(prefixLength)"
    }

    /// The bytes of a textual IPv4 or IPv6 address.
    public static func parseAddress(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    private static func mask(_ bytes: [UInt8], _ prefix: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let bits = max(0, min(8, prefix - index * 8))
            return bits == 8 ? byte : byte & ~(UInt8(0xFF) >> bits)
        }
    }
}
