import Crypto
import Foundation

/// One notice to the configured targets: what happened, in one line a trader reads and as data.
public struct Notice: Sendable, Equatable {
    public var event: NotificationEvent
    /// The same for every delivery of this notice (its Standard Webhooks `webhook-id`), so a receiver can drop a
    /// delivery it already has.
    public var id: String
    public var time: Date
    /// One line: `BTC-USDT buy filled: 0.001 at 60000 (fee 0.0000008 BTC)`.
    public var summary: String
    public var data: JSONObject

    public init(event: NotificationEvent, key: String, time: Date, summary: String, data: JSONObject) {
        self.event = event
        self.id = "sbn_" + Hex.encode(SHA256.hash(data: Array("\(event.rawValue)|\(key)".utf8)).prefix(16))
        self.time = time
        self.summary = summary
        self.data = data
    }

    /// The kill switch was engaged (its file exists) or released.
    public static func killSwitch(engaged: Bool, file: String, at time: Date) -> Notice {
        Notice(
            event: .killSwitch,
            key: "\(engaged) \(Timestamp.format(time))",
            time: time,
            summary: engaged ? "kill switch engaged (\(file) exists): nothing is sent" : "kill switch released: new decisions may order again",
            data: JSONObject([("engaged", .bool(engaged)), ("file", .string(file))])
        )
    }

    /// A rule reload was refused for `problems`; the previous rules stay in force.
    public static func rulesRefused(_ problems: [String], at time: Date) -> Notice {
        Notice(
            event: .rulesRefused,
            key: Timestamp.format(time),
            time: time,
            summary: "rules reload refused (\(problems.count) problem\(problems.count == 1 ? "" : "s")): the previous rules stay in force",
            data: JSONObject([("problems", .array(problems.prefix(20).map(JSONValue.string)))])
        )
    }

    /// What a notice says of an order: its instrument and side, when known, and for an algo order its type.
    public struct OrderSummary: Sendable, Equatable {
        public var instId: String
        public var side: String
        /// `trigger`, `move_order_stop`, `oco` or `conditional` for an algo order.
        public var algoType: String?

        public init(instId: String, side: String, algoType: String? = nil) {
            self.instId = instId
            self.side = side
            self.algoType = algoType
        }

        /// The order of an `order.intent` or `algo.intent` entry.
        init?(intent entry: JournalEntry) {
            guard let request = entry.fields["request"]?.objectValue, let instId = request["instId"]?.stringValue,
                let side = request["side"]?.stringValue
            else { return nil }
            self.init(instId: instId, side: side, algoType: entry.type.isAlgo ? request["ordType"]?.stringValue : nil)
        }
    }

    /// The notice an order record calls for, if any: a fill (`order.update` with state `filled`), a refusal, an
    /// abandonment, or an unknown outcome. `order` is what is known of the order. An algo order's `algo.*` records
    /// call for the same, its fill being that of the order it placed when triggered (`algo.update` with `ordState`
    /// `filled`), and `order_failed` a refusal.
    public static func order(_ entry: JournalEntry, order: OrderSummary?, at time: Date) -> Notice? {
        let fields = entry.fields
        let algo = entry.type.isAlgo
        guard let clOrdId = fields[JournalEntry.idKey(algo)]?.stringValue else { return nil }
        let what = order.map { "\($0.instId) \($0.side)\($0.algoType.map { " \($0)" } ?? "")" } ?? "order"
        var data: [(String, JSONValue)] = [(JournalEntry.idKey(algo), .string(clOrdId))]
        if let order { data += [("instId", .string(order.instId)), ("side", .string(order.side))] }
        if let algoType = order?.algoType { data.append(("ordType", .string(algoType))) }
        func text(_ key: String) -> String { fields[key]?.stringValue ?? "" }
        // The state of the order: for an algo order, of the order it placed.
        let state = algo ? text("ordState") : text("state")
        switch entry.type {
        case .orderUpdate where Self.endsFilled(state: state, fields), .algoUpdate where Self.endsFilled(state: state, fields):
            data += (algo ? ["algoId", "ordId", "ordState"] : ["ordId", "state"]).map { ($0, .string(text($0))) }
            data += ["accFillSz", "avgPx", "fee", "feeCcy"].map { ($0, .string(text($0))) }
            let how = (algo ? "triggered, its order " : "") + (state == "filled" ? "filled" : "partly filled, the rest canceled (\(state))")
            return Notice(
                event: .orderFilled,
                key: clOrdId,
                time: time,
                summary:
                    "\(what) \(how): \(text("accFillSz")) at \(text("avgPx")) (\(Self.fee(text("fee"), text("feeCcy")))), \(JournalEntry.idKey(algo)) \(clOrdId)",
                data: JSONObject(data)
            )
        case .algoUpdate where text("state") == "order_failed":
            data += [("algoId", .string(text("algoId"))), ("state", .string(text("state")))]
            return Notice(
                event: .orderRejected,
                key: clOrdId,
                time: time,
                summary: "\(what) triggered, but the exchange refused the order it placed (order_failed), algoClOrdId \(clOrdId)",
                data: JSONObject(data)
            )
        case .orderReject, .algoReject:
            data += [("sCode", .string(text("sCode"))), ("sMsg", .string(text("sMsg")))]
            return Notice(
                event: .orderRejected,
                key: clOrdId,
                time: time,
                summary: "\(what) rejected by the exchange: \(text("sMsg")) (\(text("sCode"))), \(JournalEntry.idKey(algo)) \(clOrdId)",
                data: JSONObject(data)
            )
        case .orderAbandoned, .algoAbandoned:
            data.append(("reason", .string(text("reason"))))
            return Notice(
                event: .orderAbandoned,
                key: clOrdId,
                time: time,
                summary: "\(what) abandoned, not sent: \(text("reason")), \(JournalEntry.idKey(algo)) \(clOrdId)",
                data: JSONObject(data)
            )
        case .orderUnknown, .algoUnknown:
            data.append(("error", .string(text("error"))))
            return Notice(
                event: .orderUnresolved,
                key: clOrdId + " " + text("expTime"),
                time: time,
                summary:
                    "\(what): outcome unknown (\(text("error"))); it is looked up, later orders of the instrument wait, \(JournalEntry.idKey(algo)) \(clOrdId)",
                data: JSONObject(data)
            )
        default:
            return nil
        }
    }

    /// Whether an update leaving the order in `state` ends it with something filled: `filled`, or canceled after a
    /// partial fill.
    static func endsFilled(state: String, _ fields: JSONObject) -> Bool {
        switch OrderState(exchangeState: state) {
        case .filled: return true
        case .canceled: return (fields["accFillSz"]?.decimalValue ?? 0) > 0
        default: return false
        }
    }

    /// OKX's fee in a trader's words: negative is a charge, positive a rebate.
    static func fee(_ fee: String, _ currency: String) -> String {
        fee.hasPrefix("-") ? "fee \(fee.dropFirst()) \(currency)" : DecimalText.parse(fee) == 0 ? "no fee" : "rebate \(fee) \(currency)"
    }

    // MARK: - On the wire

    /// The body for a target of `format`: `json` is `{"type", "timestamp", "data"}`; the chat services get the
    /// summary as their message text, on one line, within their length limit as each counts it (Discord 2,000
    /// Unicode scalars, Telegram 4,096 UTF-16 units, Slack 4,000 characters after escaping), as plain text: Slack's
    /// `&`, `<` and `>` escaped, so a `<!channel>` in an exchange message is shown, not obeyed, Discord told to
    /// notify nobody (`allowed_mentions`), and Telegram sent without `parse_mode`.
    public func body(for format: NotificationTarget.Format) -> [UInt8] {
        let value: JSONValue
        switch format {
        case .json:
            value = .object(JSONObject([("type", .string(event.rawValue)), ("timestamp", .string(Timestamp.format(time))), ("data", .object(data))]))
        case .slack:
            value = .object(JSONObject([("text", .string(chatText(limit: 4000, escape: Self.slackEscaped) { $0.count }))]))
        case .telegram: value = .object(JSONObject([("text", .string(chatText(limit: 4096) { $0.utf16.count }))]))
        case .discord:
            value = .object(
                JSONObject([
                    ("content", .string(chatText(limit: 2000) { $0.unicodeScalars.count })),
                    ("allowed_mentions", .object(JSONObject([("parse", .array([]))]))),
                ])
            )
        }
        return Array(value.jsonText.utf8)
    }

    /// Slack's three control characters as its entities.
    static func slackEscaped(_ character: Character) -> String {
        switch character {
        case "&": return "&amp;"
        case "<": return "&lt;"
        case ">": return "&gt;"
        default: return String(character)
        }
    }

    /// `signalbridge: ` and the summary on one line, each character through `escape`, cut on a character boundary
    /// (ending in `…`) so that `measure` of the whole is at most `limit`.
    func chatText(limit: Int, escape: (Character) -> String = { String($0) }, measure: (String) -> Int) -> String {
        let ellipsis = "…"
        var pieces: [(text: String, size: Int)] = []
        var size = 0
        for character in "signalbridge: " + summary {
            let piece = character.isNewline ? " " : escape(character)
            let pieceSize = measure(piece)
            guard size + pieceSize <= limit else {
                // Whole pieces go until the ellipsis fits: an escape is never cut in two.
                while size + measure(ellipsis) > limit, let last = pieces.popLast() { size -= last.size }
                return pieces.map(\.text).joined() + ellipsis
            }
            pieces.append((piece, pieceSize))
            size += pieceSize
        }
        return pieces.map(\.text).joined()
    }

    /// The headers of a delivery of `body` at `sentAt`: for a signed target, Standard Webhooks' `webhook-id`,
    /// `webhook-timestamp` and `webhook-signature`.
    public func headers(signingKey: Secret?, body: [UInt8], sentAt: Date) -> [(String, String)] {
        var headers = [("Content-Type", "application/json")]
        guard let signingKey else { return headers }
        let timestamp = String(UnixTime.seconds(sentAt))
        let signature = StandardWebhooksAuth.signature(key: signingKey, id: id, timestamp: timestamp, body: body)
        headers += [("webhook-id", id), ("webhook-timestamp", timestamp), ("webhook-signature", "v1," + Data(signature).base64EncodedString())]
        return headers
    }
}

/// Turns journaled records into notices, remembering each open order's instrument and side from its intent (so that
/// a fill's notice can name them) until its final record.
public struct OrderNotices: Sendable {
    private var orders: [String: Notice.OrderSummary] = [:]

    public init() {}

    /// Remembers orders journaled before (a previous run's open ones).
    public mutating func remember(_ intents: [OrderIntent]) {
        for intent in intents {
            orders[intent.clOrdId] = Notice.OrderSummary(
                instId: intent.request.instId,
                side: intent.request.side.rawValue,
                algoType: intent.algo?.ordType.rawValue
            )
        }
    }

    /// The notices `entries`, just made durable, call for.
    public mutating func notices(for entries: [JournalEntry], at time: Date) -> [Notice] {
        var notices: [Notice] = []
        for entry in entries {
            guard let clOrdId = entry.fields[JournalEntry.idKey(entry.type.isAlgo)]?.stringValue else { continue }
            if entry.type == .orderIntent || entry.type == .algoIntent {
                orders[clOrdId] = Notice.OrderSummary(intent: entry)
                continue
            }
            if let notice = Notice.order(entry, order: orders[clOrdId], at: time) { notices.append(notice) }
            let state = OrderEvent.decode(type: entry.type, fields: { entry.fields[$0] }).flatMap { decoded -> OrderState? in
                guard case .update(_, let state, _, _, _, _, _) = decoded.event else { return nil }
                return OrderState(exchangeState: state)
            }
            if [.orderReject, .orderAbandoned, .algoReject, .algoAbandoned].contains(entry.type) || state?.isFinal == true {
                orders[clOrdId] = nil
            }
        }
        return notices
    }
}
