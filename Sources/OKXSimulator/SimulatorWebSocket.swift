import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOWebSocket
import SignalBridgeCore
import Synchronization

/// The private WebSocket at `/ws/v5/private` (and the business one at `/ws/v5/business`): `login` as OKX documents it
/// (Unix-seconds timestamp, sign over timestamp + `GET` + `/users/self/verify`), the `orders` channel for SPOT with a
/// push on every order change (at `/ws/v5/business`, `orders-algo` with a push on every algo order change; each
/// channel asked of the other endpoint is 64001), and the text `ping` answered with `pong`.
struct SimulatorWebSocket: Sendable {
    let simulator: Simulator
    /// The channel this endpoint serves: `orders` at `/ws/v5/private`, `orders-algo` at `/ws/v5/business`.
    var channel = "orders"

    /// What one connection has done so far.
    private final class Session: Sendable {
        struct State {
            var loggedIn = false
            /// Subscribed `instId`s; `"*"` for every spot instrument.
            var orders: Set<String> = []
        }
        let state = Mutex(State())

        func withLock<Value>(_ body: (inout State) -> Value) -> Value { state.withLock { body(&$0) } }
    }

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, logger: Logger) async throws {
        let connId = String(UUID().uuidString.lowercased().prefix(8))
        let session = Session()
        let wanted: @Sendable (String) -> Bool = { instId in session.withLock { $0.orders.contains("*") || $0.orders.contains(instId) } }
        if channel == "orders-algo" {
            try await Self.serve(
                inbound: inbound,
                outbound: outbound,
                refused: simulator.faults.isDown,
                faults: simulator.faults,
                events: simulator.account.algoEvents(),
                push: { algo in wanted(algo.instId) ? [Self.push(algo)] : [] },
                answer: { [answer(text: $0, session: session, connId: connId)] }
            )
        } else {
            try await Self.serve(
                inbound: inbound,
                outbound: outbound,
                refused: simulator.faults.isDown,
                faults: simulator.faults,
                events: simulator.account.orderEvents(),
                push: { event in wanted(event.order.request.instId) ? [Self.push(event)] : [] },
                answer: { [answer(text: $0, session: session, connId: connId)] }
            )
        }
    }

    /// Runs one simulated connection: closed at once while `refused` (an outage), each of `events` pushed as `push`
    /// makes it, closed by a disconnect fault, the text `ping` answered with `pong` and any other text by `answer`.
    static func serve<Event: Sendable>(
        inbound: WebSocketInboundStream,
        outbound: WebSocketOutboundWriter,
        refused: Bool,
        faults: FaultInjector,
        events: AsyncStream<Event>,
        push: @escaping @Sendable (Event) -> [JSONValue],
        answer: (String) -> [JSONValue]
    ) async throws {
        if refused {
            try await outbound.close(.unexpectedServerError, reason: "simulated outage")
            return
        }
        let disconnects = faults.disconnects()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await event in events {
                    for message in push(event) { try await outbound.write(.text(message.jsonText)) }
                }
            }
            group.addTask {
                for await _ in disconnects {
                    try await outbound.close(.goingAway, reason: "disconnected by fault injection")
                    return
                }
            }
            for try await message in inbound.messages(maxSize: 1 << 16) {
                guard case .text(let text) = message else { continue }
                if text == "ping" {
                    try await outbound.write(.text("pong"))
                    continue
                }
                for reply in answer(text) { try await outbound.write(.text(reply.jsonText)) }
            }
            group.cancelAll()
        }
    }

    private func answer(text: String, session: Session, connId: String) -> JSONValue {
        func error(_ code: String, _ message: String) -> JSONValue {
            .object(JSONObject([("event", "error"), ("code", .string(code)), ("msg", .string(message)), ("connId", .string(connId))]))
        }
        guard let request = (try? JSONParser.parse(text))?.objectValue, let op = request["op"]?.stringValue,
            let args = request["args"]?.arrayValue, let arg = args.first?.objectValue
        else { return error("60012", "Invalid request: \(text.prefix(100))") }
        switch op {
        case "login":
            if let failure = login(arg) { return error(failure.0, failure.1) }
            session.withLock { $0.loggedIn = true }
            return .object(JSONObject([("event", "login"), ("code", "0"), ("msg", ""), ("connId", .string(connId))]))
        case "subscribe", "unsubscribe":
            guard session.withLock({ $0.loggedIn }) else { return error("60011", "Please log in") }
            if let asked = arg["channel"]?.stringValue, asked != channel, ["orders", "orders-algo"].contains(asked) {
                // OKX serves `orders` on the private endpoint and `orders-algo` on the business one only.
                return error("64001", "This channel is not supported on this URL: \(asked)")
            }
            guard arg["channel"]?.stringValue == channel, ["SPOT", "ANY"].contains(arg["instType"]?.stringValue ?? "") else {
                return error(
                    "60018",
                    "Wrong URL or channel:\(arg["channel"]?.stringValue ?? ""),instType:\(arg["instType"]?.stringValue ?? "") doesn't exist"
                )
            }
            let instId = arg["instId"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? "*"
            session.withLock { state in
                if op == "subscribe" { state.orders.insert(instId) } else { state.orders.remove(instId) }
            }
            var ack = JSONObject([("event", .string(op)), ("arg", .object(arg)), ("connId", .string(connId))])
            if let id = request["id"] { ack["id"] = id }
            return .object(ack)
        default:
            return error("60012", "Invalid request: unknown op \(op)")
        }
    }

    /// OKX's checks of a WebSocket login, with OKX's codes; nil when it is genuine.
    private func login(_ arg: JSONObject) -> (String, String)? {
        let credentials = simulator.credentials
        guard let timestamp = arg["timestamp"]?.scalarText, let seconds = TimeInterval(timestamp) else { return ("60004", "Invalid timestamp") }
        guard abs(simulator.clock().timeIntervalSince1970 - seconds) <= 30 else { return ("60006", "Timestamp request expired") }
        guard let key = arg["apiKey"]?.stringValue, ConstantTime.equals(Array(key.utf8), Array(credentials.apiKey.utf8)) else {
            return ("60005", "Invalid OK-ACCESS-KEY")
        }
        guard let passphrase = arg["passphrase"]?.stringValue, ConstantTime.equals(Array(passphrase.utf8), credentials.passphrase.bytes) else {
            return ("60024", "Wrong passphrase")
        }
        guard let sign = arg["sign"]?.stringValue,
            OKXSignature.isValid(
                sign,
                timestamp: timestamp,
                method: "GET",
                requestPath: "/users/self/verify",
                body: [],
                secret: credentials.secretKey
            )
        else { return ("60007", "Invalid sign") }
        return nil
    }

    /// The `orders-algo` channel push for one algo order change.
    static func push(_ algo: SimulatedAlgoOrder) -> JSONValue {
        .object(
            JSONObject([
                ("arg", .object(JSONObject([("channel", "orders-algo"), ("instType", "SPOT"), ("uid", "1000000001")]))),
                ("data", .array([OKXEnvelope.algo(algo)])),
            ])
        )
    }

    /// The `orders` channel push for one order change.
    static func push(_ event: SimulatedOrderEvent) -> JSONValue {
        var data = OKXEnvelope.order(event.order).objectValue ?? JSONObject()
        let fill = event.fill
        data["avgPx"] = OKXEnvelope.string(event.order.avgPx ?? 0)
        data["fillSz"] = OKXEnvelope.string(fill?.fillSz ?? 0)
        data["fillPx"] = .string(fill.map { DecimalText.format($0.fillPx) } ?? "")
        data["tradeId"] = .string(fill?.tradeId ?? "")
        data["fillTime"] = fill.map { OKXEnvelope.millis($0.time) } ?? ""
        data["fillFee"] = OKXEnvelope.string(fill?.fee ?? 0)
        data["fillFeeCcy"] = .string(fill?.feeCcy ?? "")
        data["execType"] = .string(fill?.execType ?? "")
        data["code"] = "0"
        data["msg"] = ""
        return .object(
            JSONObject([
                ("arg", .object(JSONObject([("channel", "orders"), ("instType", "SPOT"), ("uid", "1000000001")]))), ("data", .array([.object(data)])),
            ])
        )
    }
}

extension Simulator {
    /// The simulator's server: OKX REST under `/api/v5/`, the private WebSocket at `/ws/v5/private`, the public one at
    /// `/ws/v5/public`, and `/sim/`.
    public func application(
        host: String,
        port: Int,
        logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let webSocketRouter = Router(context: BasicWebSocketRequestContext.self)
        let webSocket = SimulatorWebSocket(simulator: self)
        webSocketRouter.ws("/ws/v5/private") { inbound, outbound, context in
            try await webSocket.run(inbound: inbound, outbound: outbound, logger: context.logger)
        }
        let businessWebSocket = SimulatorWebSocket(simulator: self, channel: "orders-algo")
        webSocketRouter.ws("/ws/v5/business") { inbound, outbound, context in
            try await businessWebSocket.run(inbound: inbound, outbound: outbound, logger: context.logger)
        }
        let publicWebSocket = SimulatorPublicWebSocket(simulator: self)
        webSocketRouter.ws("/ws/v5/public") { inbound, outbound, context in
            try await publicWebSocket.run(inbound: inbound, outbound: outbound, logger: context.logger)
        }
        return Application(
            router: SimulatorRouter(simulator: self).buildRouter(),
            server: .http1WebSocketUpgrade(webSocketRouter: webSocketRouter),
            configuration: .init(address: .hostname(host, port: port), serverName: "signalbridge-sim"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger
        )
    }
}
