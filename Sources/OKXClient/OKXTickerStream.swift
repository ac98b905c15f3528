import Foundation
import HummingbirdWSClient
import Logging
import NIOWebSocket
import SignalBridgeCore
import Synchronization

/// OKX's public WebSocket `tickers` channel (`/ws/v5/public`, no login): one subscription per instrument, a push on
/// every change (OKX pushes at most every 100 ms); the text `ping` every 20 s keeps the connection alive (OKX closes it
/// after 30 s of silence).
///
/// A connection that does not confirm the subscription within `subscribeTimeout`, or that goes silent for 30 s (no
/// push and no `pong`), is given up: the caller reconnects.
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

    /// When the connection was last heard from, and whether its subscription was confirmed.
    private final class Liveness: Sendable {
        private let state = Mutex((at: ContinuousClock.now, subscribed: false))

        func withLock<Value>(_ body: (inout (at: ContinuousClock.Instant, subscribed: Bool)) -> Value) -> Value {
            state.withLock { body(&$0) }
        }
    }

    /// The connection was given up: no confirmation, or silence.
    public struct Silent: Error, CustomStringConvertible {
        public let description: String
    }

    public func follow(
        instruments: [String],
        connected: @escaping @Sendable () async -> Void,
        ticker: @escaping @Sendable (Ticker) async -> Void
    ) async throws {
        let clock = self.clock
        try await WebSocketClient.connect(url: url, logger: logger) { inbound, outbound, _ in
            let args = JSONValue.array(
                instruments.sorted().map { .object(JSONObject([("channel", "tickers"), ("instId", .string($0))])) }
            )
            try await outbound.write(.text(JSONValue.object(JSONObject([("op", "subscribe"), ("args", args)])).jsonText))
            let heard = Liveness()
            let subscribeTimeout = self.subscribeTimeout
            // Reading, pinging and watching run side by side; the first to end ends the connection. The watchdog closes
            // the connection before it gives up, so that a read waiting on a silent peer ends too.
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    while true {
                        try await Task.sleep(for: .seconds(20))
                        try await outbound.write(.text("ping"))
                    }
                }
                group.addTask {
                    while true {
                        try await Task.sleep(for: .milliseconds(250))
                        let (at, subscribed) = heard.withLock { $0 }
                        let silence = ContinuousClock.now - at
                        guard subscribed ? silence > .seconds(30) : silence > subscribeTimeout else { continue }
                        try? await outbound.close(.goingAway, reason: "silent")
                        throw Silent(description: subscribed ? "silent for 30 s" : "no subscription confirmed within \(subscribeTimeout)")
                    }
                }
                group.addTask {
                    var acknowledged = 0
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        heard.withLock { $0.at = ContinuousClock.now }
                        guard case .text(let text) = message, text != "pong", let push = (try? JSONParser.parse(text))?.objectValue else { continue }
                        switch push["event"]?.stringValue {
                        case "error"?:
                            throw OKXOrderStream.StreamError(
                                description:
                                    "OKX refused the tickers subscription: \(push["code"]?.scalarText ?? "") \(push["msg"]?.stringValue ?? "")"
                            )
                        case "subscribe"?:
                            acknowledged += 1
                            if acknowledged == instruments.count {
                                heard.withLock { $0.subscribed = true }
                                await connected()
                            }
                            continue
                        default:
                            break
                        }
                        guard push["arg"]?.objectValue?["channel"]?.stringValue == "tickers" else { continue }
                        for entry in push["data"]?.arrayValue ?? [] {
                            if let object = entry.objectValue, let parsed = OKXRestClient.ticker(object, now: clock()) { await ticker(parsed) }
                        }
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        }
    }
}

extension OKXRestClient {
    public func tickerFeed() -> (any TickerFeed)? {
        OKXTickerStream(url: publicWebSocketURL ?? OKXOrderStream.url(forREST: baseURL, demo: demo, path: "public"), logger: logger, clock: clock)
    }
}
