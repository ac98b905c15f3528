import Foundation

/// A webhook as it arrived, before anything is trusted: the raw bytes are what signatures cover.
public struct InboundRequest: Sendable {
    /// The `{source}` path segment.
    public var sourceName: String
    /// Header fields as received (names compared case-insensitively).
    public var headers: [(name: String, value: String)]
    /// Query parameters as received.
    public var query: [(name: String, value: String)]
    /// The raw body.
    public var body: [UInt8]
    /// The peer address (the TCP peer, or a forwarded-for address from a trusted proxy).
    public var remoteAddress: String?
    /// When it arrived.
    public var receivedAt: Date

    public init(
        sourceName: String,
        headers: [(name: String, value: String)],
        query: [(name: String, value: String)] = [],
        body: [UInt8],
        remoteAddress: String?,
        receivedAt: Date = Date()
    ) {
        self.sourceName = sourceName
        self.headers = headers
        self.query = query
        self.body = body
        self.remoteAddress = remoteAddress
        self.receivedAt = receivedAt
    }

    /// The first value of header `name`, compared case-insensitively.
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name.lowercased() == lower }?.value
    }

    /// The first value of query parameter `name`.
    public func queryValue(_ name: String) -> String? {
        query.first { $0.name == name }?.value
    }
}
