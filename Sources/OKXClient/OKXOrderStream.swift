import Foundation
import HummingbirdWSClient
import Logging
import SignalBridgeCore

/// OKX's private WebSocket `orders` channel for SPOT: login (Unix-seconds timestamp, signed over
/// `timestamp + GET + /users/self/verify`), subscribe, then every order change; the text `ping` every 20 s
/// keeps the connection alive (OKX closes it after 30 s of silence). A connection whose login and subscription are
/// not confirmed within `confirmTimeout`, or that goes silent for 30 s, is given up (``OKXSilentConnection``).
public struct OKXOrderStream: OrderUpdateFeed {
    /// The private WebSocket URL.
    public let url: String
    let credentials: OKXCredentials
    let logger: Logger
    let clock: @Sendable () -> Date
    /// How long the login and the subscription may take before the connection is given up.
    let confirmTimeout: Duration

    public init(
        url: String,
        credentials: OKXCredentials,
        logger: Logger,
        confirmTimeout: Duration = .seconds(10),
        clock: @escaping @Sendable () -> Date = Date.init
    ) {
        self.url = url
        self.credentials = credentials
        self.logger = logger
        self.confirmTimeout = confirmTimeout
        self.clock = clock
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

    public func follow(
        connected: @escaping @Sendable () async -> Void,
        update: @escaping @Sendable (OrderStatus) async -> Void
    ) async throws {
        let credentials = self.credentials
        let clock = self.clock
        try await WebSocketClient.connect(url: url, configuration: OKXWebSocketSession.clientConfiguration, logger: logger) {
            inbound,
            outbound,
            _ in
            let login = Self.login(credentials, at: clock())
            try await outbound.write(.text(login.jsonText))
            // Login, then the subscription, then pushes: each answer in turn, as the session reads them.
            let session = OKXWebSocketSession(inbound: inbound, outbound: outbound, confirmTimeout: confirmTimeout)
            try await session.run(state: Step.loggingIn) { reply, step in
                switch step {
                case .loggingIn:
                    guard reply["event"]?.stringValue == "login", reply["code"]?.scalarText == "0" else {
                        throw StreamError(description: "OKX refused the WebSocket login")
                    }
                    try await outbound.write(.text(#"{"id":"orders","op":"subscribe","args":[{"channel":"orders","instType":"SPOT"}]}"#))
                    step = .subscribing
                    return false
                case .subscribing:
                    guard reply["event"]?.stringValue == "subscribe" else { throw StreamError(description: "OKX refused the orders subscription") }
                    step = .following
                    await connected()
                    return true
                case .following:
                    guard reply["arg"]?.objectValue?["channel"]?.stringValue == "orders" else { return false }
                    for entry in reply["data"]?.arrayValue ?? [] {
                        if let object = entry.objectValue, let status = OKXRestClient.orderStatus(object) { await update(status) }
                    }
                    return false
                }
            }
        }
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
}

extension OKXRestClient {
    public func orderFeed() -> (any OrderUpdateFeed)? {
        OKXOrderStream(url: webSocketURL ?? OKXOrderStream.url(forREST: baseURL, demo: demo), credentials: credentials, logger: logger, clock: clock)
    }
}
