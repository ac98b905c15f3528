import Foundation
import HummingbirdWSClient
import Logging
import SignalBridgeCore

/// OKX's public WebSocket `tickers` channel (`/ws/v5/public`, no login): one subscription per instrument, a push on
/// every change (OKX pushes at most every 100 ms); the text `ping` every 20 s keeps the connection alive (OKX closes it
/// after 30 s of silence).
///
/// A connection that does not confirm the subscription within `subscribeTimeout`, or that goes silent for 30 s (no
/// push and no `pong`), is given up (``OKXSilentConnection``): the caller reconnects.
public struct OKXTickerStream: TickerFeed {
    /// The public WebSocket URL.
    public let url: String
    let logger: Logger
    let clock: @Sendable () -> Date
    let subscribeTimeout: Duration

    public init(url: String, logger: Logger, subscribeTimeout: Duration = .seconds(10), clock: @escaping @Sendable () -> Date = Date.init) {
        self.url = url
        self.logger = logger
        self.subscribeTimeout = subscribeTimeout
        self.clock = clock
    }

    public func follow(
        instruments: [String],
        connected: @escaping @Sendable () async -> Void,
        ticker: @escaping @Sendable (Ticker) async -> Void
    ) async throws {
        let clock = self.clock
        try await WebSocketClient.connect(url: url, configuration: OKXWebSocketSession.clientConfiguration, logger: logger) {
            inbound,
            outbound,
            _ in
            let args = JSONValue.array(
                instruments.sorted().map { .object(JSONObject([("channel", "tickers"), ("instId", .string($0))])) }
            )
            try await outbound.write(.text(JSONValue.object(JSONObject([("op", "subscribe"), ("args", args)])).jsonText))
            let session = OKXWebSocketSession(inbound: inbound, outbound: outbound, confirmTimeout: subscribeTimeout)
            try await session.run(state: 0) { push, acknowledged in
                switch push["event"]?.stringValue {
                case "error"?:
                    throw OKXOrderStream.StreamError(
                        description: "OKX refused the tickers subscription: \(push["code"]?.scalarText ?? "") \(push["msg"]?.stringValue ?? "")"
                    )
                case "subscribe"?:
                    acknowledged += 1
                    guard acknowledged == instruments.count else { return false }
                    await connected()
                    return true
                default:
                    guard push["arg"]?.objectValue?["channel"]?.stringValue == "tickers" else { return false }
                    for entry in push["data"]?.arrayValue ?? [] {
                        if let object = entry.objectValue, let parsed = OKXRestClient.ticker(object, now: clock()) { await ticker(parsed) }
                    }
                    return false
                }
            }
        }
    }
}

extension OKXRestClient {
    /// The public feed at `exchange.publicWebSocketURL`, else derived from `baseURL` when it is OKX's (or a local
    /// simulator); for another host (a proxy, a copy of the API) none: its prices are polled from that host, never
    /// pushed from OKX's.
    public func tickerFeed() -> (any TickerFeed)? {
        if let publicWebSocketURL { return OKXTickerStream(url: publicWebSocketURL, logger: logger, clock: clock) }
        guard let url = URL(string: baseURL), let host = url.host?.lowercased(),
            url.scheme == "http" || host == "okx.com" || host.hasSuffix(".okx.com")
        else { return nil }
        return OKXTickerStream(url: OKXOrderStream.url(forREST: baseURL, demo: demo, path: "public"), logger: logger, clock: clock)
    }
}
