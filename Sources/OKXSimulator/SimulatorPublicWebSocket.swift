import Foundation
import HummingbirdWebSocket
import Logging
import SignalBridgeCore
import Synchronization

/// The public WebSocket at `/ws/v5/public`: no login; `tickers` and `books5` per `instId`, each answered with the
/// current state at once and pushed again on every price change (`POST /sim/price`); the text `ping` answered with
/// `pong`. An outage (`/sim/faults` `down`, or `publicFeedDown` for this feed alone) refuses the connection and a
/// disconnect fault closes it.
struct SimulatorPublicWebSocket: Sendable {
    let simulator: Simulator

    /// The channels of a public connection: channel name → subscribed `instId`s.
    private final class Subscriptions: Sendable {
        let channels = Mutex<[String: Set<String>]>([:])

        func channels(for instId: String) -> [String] {
            channels.withLock { channels in channels.filter { $0.value.contains(instId) }.map(\.key).sorted() }
        }
    }

    static let channels: Set<String> = ["tickers", "books5"]

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, logger: Logger) async throws {
        let connId = String(UUID().uuidString.lowercased().prefix(8))
        let subscriptions = Subscriptions()
        try await SimulatorWebSocket.serve(
            inbound: inbound,
            outbound: outbound,
            refused: simulator.faults.isPublicFeedDown,
            faults: simulator.faults,
            events: simulator.account.tickerEvents(),
            push: { ticker in subscriptions.channels(for: ticker.instId).map { push($0, ticker) } },
            answer: { answer($0, subscriptions: subscriptions, connId: connId) }
        )
    }

    /// The acknowledgements of a request (one per argument, as OKX sends them), then the current state of each new
    /// subscription; or one error.
    private func answer(_ text: String, subscriptions: Subscriptions, connId: String) -> [JSONValue] {
        func error(_ code: String, _ message: String) -> [JSONValue] {
            [.object(JSONObject([("event", "error"), ("code", .string(code)), ("msg", .string(message)), ("connId", .string(connId))]))]
        }
        guard let request = (try? JSONParser.parse(text))?.objectValue, let op = request["op"]?.stringValue,
            let args = request["args"]?.arrayValue, !args.isEmpty
        else { return error("60012", "Invalid request: \(text.prefix(100))") }
        guard op == "subscribe" || op == "unsubscribe" else { return error("60012", "Invalid request: unknown op \(op)") }
        var acks: [JSONValue] = []
        var snapshots: [JSONValue] = []
        for case let arg? in args.map(\.objectValue) {
            let channel = arg["channel"]?.stringValue ?? ""
            guard Self.channels.contains(channel), let instId = arg["instId"]?.stringValue, let ticker = simulator.account.ticker(instId) else {
                return error("60018", "Wrong URL or channel:\(channel),instId:\(arg["instId"]?.stringValue ?? "") doesn't exist")
            }
            subscriptions.channels.withLock { channels in
                if op == "subscribe" { channels[channel, default: []].insert(instId) } else { channels[channel]?.remove(instId) }
            }
            var ack = JSONObject([("event", .string(op)), ("arg", .object(arg)), ("connId", .string(connId))])
            if let id = request["id"] { ack["id"] = id }
            acks.append(.object(ack))
            if op == "subscribe" { snapshots.append(push(channel, ticker)) }
        }
        return acks + snapshots
    }

    /// What `books5` shows as a level's size while the depth is unlimited.
    static let unlimitedLevel: Decimal = 1_000_000

    /// A push of `channel` for `ticker`: the ticker as `GET /api/v5/market/ticker` shows it, or five levels a tick
    /// apart on each side of the spread (books5), each the size `POST /sim/depth` set.
    private func push(_ channel: String, _ ticker: Ticker) -> JSONValue {
        let arg = JSONValue.object(JSONObject([("channel", .string(channel)), ("instId", .string(ticker.instId))]))
        let data: JSONValue
        if channel == "books5", let instrument = simulator.account.instruments().first(where: { $0.instId == ticker.instId }) {
            let size = OKXEnvelope.string(simulator.account.levelSize(ticker.instId) ?? Self.unlimitedLevel)
            func levels(from price: Decimal, step: Decimal) -> JSONValue {
                .array(
                    (0..<SimulatedAccount.bookLevels).map { index in .array([OKXEnvelope.string(price + Decimal(index) * step), size, "0", "1"]) }
                )
            }
            data = .object(
                JSONObject([
                    ("asks", levels(from: ticker.ask, step: instrument.tickSz)), ("bids", levels(from: ticker.bid, step: -instrument.tickSz)),
                    ("instId", .string(ticker.instId)), ("ts", OKXEnvelope.millis(ticker.time)),
                ])
            )
        } else {
            data = OKXEnvelope.ticker(ticker)
        }
        return .object(JSONObject([("arg", arg), ("data", .array([data]))]))
    }
}
