import Foundation

/// Where a webhook really comes from, for `allowFrom` and the journal.
public enum ClientAddress {
    /// The TCP peer, or, when the peer is a trusted proxy, the client named by `X-Forwarded-For`: walking the
    /// entries from the right (the one the nearest proxy added), the first that is not itself a trusted proxy.
    /// An entry that is not an IP address stops the walk and is the client: it matches no `allowFrom`, so a
    /// forged entry can never let a spoofed address further left pass for the client. A forwarded-for header
    /// from a peer that is not a trusted proxy is ignored: it is trivially forged.
    /// - Parameters:
    ///   - peer: the TCP peer's address.
    ///   - forwardedFor: every `X-Forwarded-For` header value, in order.
    ///   - trustedProxies: the `trustedProxies` of the configuration.
    public static func resolve(peer: String?, forwardedFor: [String], trustedProxies: [IPRange]) -> String? {
        guard let peer, isTrusted(peer, trustedProxies) else { return peer }
        let chain = forwardedFor.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
            .map { String($0.trimmingASCIISpaces) }
        for entry in chain.reversed() {
            guard let address = address(entry) else { return "unparsable:" + sanitized(entry) }
            if !isTrusted(address, trustedProxies) { return address }
        }
        // Every hop is a trusted proxy: the leftmost is where the request started.
        return chain.first.flatMap(address) ?? peer
    }

    /// The address of an entry: `1.2.3.4`, `2001:db8::1`, or either with a port (`1.2.3.4:5678`, `[2001:db8::1]:443`)
    /// as some proxies write them.
    static func address(_ entry: String) -> String? {
        if IPRange.parseAddress(entry) != nil { return entry }
        var host = Substring(entry)
        var port = Substring()
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            port = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            guard port.isEmpty || port.hasPrefix(":") else { return nil }
            port = port.dropFirst()
        } else if let colon = host.firstIndex(of: ":"), host.lastIndex(of: ":") == colon {
            port = host[host.index(after: colon)...]
            host = host[..<colon]
            guard !port.isEmpty else { return nil }
        } else {
            return nil
        }
        guard port.allSatisfy({ $0.isASCII && $0.isNumber }), IPRange.parseAddress(String(host)) != nil else { return nil }
        return String(host)
    }

    /// At most 45 characters of an entry that is not an address, letters, digits and `.:[]-_` only, so that what a
    /// client wrote cannot break a log line or an answer.
    private static func sanitized(_ entry: String) -> String {
        String(
            entry.unicodeScalars.filter {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".:[]-_".unicodeScalars.contains($0))
            }.prefix(45).map(Character.init)
        )
    }

    private static func isTrusted(_ address: String, _ proxies: [IPRange]) -> Bool {
        proxies.contains { $0.contains(address) }
    }
}
