import Foundation

/// Where a webhook really comes from, for `allowFrom` and the journal.
public enum ClientAddress {
    /// The TCP peer, or, when the peer is a trusted proxy, the rightmost `X-Forwarded-For` address that is not
    /// itself a trusted proxy. A forwarded-for header from anyone else is ignored: it is trivially forged.
    /// - Parameters:
    ///   - peer: the TCP peer's address.
    ///   - forwardedFor: every `X-Forwarded-For` header value, in order.
    ///   - trustedProxies: the `trustedProxies` of the configuration.
    public static func resolve(peer: String?, forwardedFor: [String], trustedProxies: [IPRange]) -> String? {
        guard let peer, isTrusted(peer, trustedProxies) else { return peer }
        let chain = forwardedFor.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { IPRange.parseAddress($0) != nil }
        return chain.last { !isTrusted($0, trustedProxies) } ?? chain.first ?? peer
    }

    private static func isTrusted(_ address: String, _ proxies: [IPRange]) -> Bool {
        proxies.contains { $0.contains(address) }
    }
}
