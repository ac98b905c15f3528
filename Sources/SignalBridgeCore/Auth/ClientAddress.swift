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
            .map { $0.trimmingCharacters(in: .whitespaces) }
        for entry in chain.reversed() {
            guard IPRange.parseAddress(entry) != nil else { return "unparsable:" + entry.prefix(64) }
            if !isTrusted(entry, trustedProxies) { return entry }
        }
        // Every hop is a trusted proxy: the leftmost is where the request started.
        return chain.first ?? peer
    }

    private static func isTrusted(_ address: String, _ proxies: [IPRange]) -> Bool {
        proxies.contains { $0.contains(address) }
    }
}
