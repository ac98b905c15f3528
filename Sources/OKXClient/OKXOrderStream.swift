import Foundation
import HummingbirdWSClient
import Logging
import SignalBridgeCore

/// OKX's private WebSocket `orders` channel for SPOT: login (Unix-seconds timestamp, signed over
/// `timestamp + GET + /users/self/verify`), subscribe, then every order change; the text `ping` every 20 s
/// keeps the connection alive (OKX closes it after 30 s of silence). A connection whose login and subscription are
/// not confirmed within `confirmTimeout`, or that goes silent for 30 s, is given up (``OKXSilentConnection``).
public typealias OKXOrderStream = OKXPrivateChannel<OrderStatus>

/// OKX's business WebSocket `orders-algo` channel for SPOT (`/ws/v5/business`; the private URL refuses it with
/// 64001): every change of an algo order, followed as ``OKXOrderStream`` follows orders.
public typealias OKXAlgoOrderStream = OKXPrivateChannel<AlgoStatus>

extension OKXPrivateChannel: OrderUpdateFeed where Update == OrderStatus {
    /// The `orders` channel at `url`, the private WebSocket.
    public init(
        url: String,
        credentials: OKXCredentials,
        logger: Logger,
        confirmTimeout: Duration = .seconds(10),
        clock: @escaping @Sendable () -> Date = Date.init
    ) {
        self.init(url, credentials, logger, confirmTimeout, clock, channel: "orders", read: OKXRestClient.orderStatus)
    }
}

extension OKXPrivateChannel: AlgoUpdateFeed where Update == AlgoStatus {
    /// The `orders-algo` channel at `url`, the business WebSocket.
    public init(
        url: String,
        credentials: OKXCredentials,
        logger: Logger,
        confirmTimeout: Duration = .seconds(10),
        clock: @escaping @Sendable () -> Date = Date.init
    ) {
        self.init(url, credentials, logger, confirmTimeout, clock, channel: "orders-algo", read: OKXRestClient.algoStatus)
    }
}

/// One logged-in channel of OKX's private or business WebSocket for SPOT: login, subscribe to `channel`, then each
/// pushed entry read by `read`.
public struct OKXPrivateChannel<Update: Sendable>: Sendable {
    /// The WebSocket URL.
    public let url: String
    let credentials: OKXCredentials
    let logger: Logger
    /// How long the login and the subscription may take before the connection is given up.
    let confirmTimeout: Duration
    let clock: @Sendable () -> Date
    let channel: String
    let read: @Sendable (JSONObject) -> Update?

    init(
        _ url: String,
        _ credentials: OKXCredentials,
        _ logger: Logger,
        _ confirmTimeout: Duration,
        _ clock: @escaping @Sendable () -> Date,
        channel: String,
        read: @escaping @Sendable (JSONObject) -> Update?
    ) {
        (self.url, self.credentials, self.logger, self.confirmTimeout, self.clock) = (url, credentials, logger, confirmTimeout, clock)
        (self.channel, self.read) = (channel, read)
    }

    /// The WebSocket URL (`private`, `public` or `business`) for a REST base URL: OKX's own hosts (demo: `wspap`,
    /// regional ones for `us.` and `eea.`), or `ws://host:port` for a local simulator.
    public static func url(forREST baseURL: String, demo: Bool, path: String = "private") -> String {
        guard let url = URL(string: baseURL), let host = url.host else { return "" }
        if url.scheme == "http" { return "ws://\(host)\(url.port.map { ":\($0)" } ?? "")/ws/v5/\(path)" }
        let region = host.hasPrefix("us.") ? "us" : host.hasPrefix("eea.") ? "eea" : ""
        return "wss://ws\(region)\(demo ? "pap" : "").okx.com:8443/ws/v5/\(path)"
    }

    /// A refusal of the login or subscription.
    public struct StreamError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The `login` message: the key, the passphrase, a Unix-seconds timestamp and its signature over
    /// `timestamp + GET + /users/self/verify`.
    static func login(_ credentials: OKXCredentials, at time: Date) -> JSONValue {
        let timestamp = String(Int(time.timeIntervalSince1970))
        let sign = OKXSignature.sign(timestamp: timestamp, method: "GET", requestPath: "/users/self/verify", body: [], secret: credentials.secretKey)
        return .object(
            JSONObject([
                ("op", "login"),
                (
                    "args",
                    .array([
                        .object(
                            JSONObject([
                                ("apiKey", .string(credentials.apiKey.text)), ("passphrase", .string(credentials.passphrase.text)),
                                ("timestamp", .string(timestamp)), ("sign", .string(sign)),
                            ])
                        )
                    ])
                ),
            ])
        )
    }

    /// Where a connection stands.
    enum Step: Sendable {
        case loggingIn, subscribing, following
    }

    /// Connects, logs in and subscribes; calls `connected` once subscribed and `update` for every pushed entry, until
    /// the connection ends (returns) or fails (throws).
    public func follow(connected: @escaping @Sendable () async -> Void, update: @escaping @Sendable (Update) async -> Void) async throws {
        let (credentials, clock, channel, read) = (self.credentials, self.clock, self.channel, self.read)
        let subscribe = JSONValue.object(
            JSONObject([
                ("id", .string(channel.filter { $0 != "-" })), ("op", "subscribe"),
                ("args", .array([.object(JSONObject([("channel", .string(channel)), ("instType", "SPOT")]))])),
            ])
        )
        try await WebSocketClient.connect(url: url, configuration: OKXWebSocketSession.clientConfiguration, logger: logger) {
            inbound,
            outbound,
            _ in
            try await outbound.write(.text(Self.login(credentials, at: clock()).jsonText))
            // Login, then the subscription, then pushes: each answer in turn, as the session reads them.
            let session = OKXWebSocketSession(inbound: inbound, outbound: outbound, confirmTimeout: confirmTimeout)
            try await session.run(state: Step.loggingIn) { reply, step in
                switch step {
                case .loggingIn:
                    guard reply["event"]?.stringValue == "login", reply["code"]?.scalarText == "0" else {
                        throw StreamError(description: "OKX refused the WebSocket login")
                    }
                    try await outbound.write(.text(subscribe.jsonText))
                    step = .subscribing
                    return false
                case .subscribing:
                    guard reply["event"]?.stringValue == "subscribe" else {
                        throw StreamError(description: "OKX refused the \(channel) subscription: \(reply["msg"]?.stringValue ?? "")")
                    }
                    step = .following
                    await connected()
                    return true
                case .following:
                    guard reply["arg"]?.objectValue?["channel"]?.stringValue == channel else { return false }
                    for entry in reply["data"]?.arrayValue ?? [] {
                        if let object = entry.objectValue, let value = read(object) { await update(value) }
                    }
                    return false
                }
            }
        }
    }
}

extension OKXRestClient {
    public func orderFeed() -> (any OrderUpdateFeed)? {
        OKXOrderStream(url: webSocketURL ?? OKXOrderStream.url(forREST: baseURL, demo: demo), credentials: credentials, logger: logger, clock: clock)
    }

    /// The `orders-algo` channel on the business WebSocket: `businessWebSocketURL`, or the one derived from
    /// `baseURL`.
    public func algoFeed() -> (any AlgoUpdateFeed)? {
        // A configured private URL of OKX's shape gives the business one beside it.
        let configured = webSocketURL.map { $0.hasSuffix("/ws/v5/private") ? String($0.dropLast("private".count)) + "business" : $0 }
        let url = configured ?? OKXOrderStream.url(forREST: baseURL, demo: demo, path: "business")
        return OKXAlgoOrderStream(url: url, credentials: credentials, logger: logger, clock: clock)
    }
}
