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

    /// What a notice says of an order: its instrument and side, when known.
    public struct OrderSummary: Sendable, Equatable {
        public var instId: String
        public var side: String

        public init(instId: String, side: String) {
            self.instId = instId
            self.side = side
        }

        /// The order of an `order.intent` entry.
        init?(intent entry: JournalEntry) {
            guard let request = entry.fields["request"]?.objectValue, let instId = request["instId"]?.stringValue,
                let side = request["side"]?.stringValue
            else { return nil }
            self.init(instId: instId, side: side)
        }
    }

    /// The notice an order record calls for, if any: a fill (`order.update` with state `filled`), a refusal, an
    /// abandonment, or an unknown outcome. `order` is what is known of the order.
    public static func order(_ entry: JournalEntry, order: OrderSummary?, at time: Date) -> Notice? {
        let fields = entry.fields
        guard let clOrdId = fields["clOrdId"]?.stringValue else { return nil }
        let what = order.map { "\($0.instId) \($0.side)" } ?? "order"
        var data: [(String, JSONValue)] = [("clOrdId", .string(clOrdId))]
        if let order { data += [("instId", .string(order.instId)), ("side", .string(order.side))] }
        func text(_ key: String) -> String { fields[key]?.stringValue ?? "" }
        switch entry.type {
        case .orderUpdate where Self.endsFilled(fields):
            data += ["ordId", "state", "accFillSz", "avgPx", "fee", "feeCcy"].map { ($0, .string(text($0))) }
            let how = text("state") == "filled" ? "filled" : "partly filled, the rest canceled (\(text("state")))"
            return Notice(
                event: .orderFilled,
                key: clOrdId,
                time: time,
                summary: "\(what) \(how): \(text("accFillSz")) at \(text("avgPx")) (\(Self.fee(text("fee"), text("feeCcy")))), clOrdId \(clOrdId)",
                data: JSONObject(data)
            )
        case .orderReject:
            data += [("sCode", .string(text("sCode"))), ("sMsg", .string(text("sMsg")))]
            return Notice(
                event: .orderRejected,
                key: clOrdId,
                time: time,
                summary: "\(what) rejected by the exchange: \(text("sMsg")) (\(text("sCode"))), clOrdId \(clOrdId)",
                data: JSONObject(data)
            )
        case .orderAbandoned:
            data.append(("reason", .string(text("reason"))))
            return Notice(
                event: .orderAbandoned,
                key: clOrdId,
                time: time,
                summary: "\(what) abandoned, not sent: \(text("reason")), clOrdId \(clOrdId)",
                data: JSONObject(data)
            )
        case .orderUnknown:
            data.append(("error", .string(text("error"))))
            return Notice(
                event: .orderUnresolved,
                key: clOrdId + " " + text("expTime"),
                time: time,
                summary: "\(what): outcome unknown (\(text("error"))); it is looked up, later orders of the instrument wait, clOrdId \(clOrdId)",
                data: JSONObject(data)
            )
        default:
            return nil
        }
    }

    /// Whether an `order.update` ends the order with something filled: `filled`, or canceled after a partial fill.
    static func endsFilled(_ fields: JSONObject) -> Bool {
        let state = fields["state"]?.stringValue ?? ""
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
            orders[intent.clOrdId] = Notice.OrderSummary(instId: intent.request.instId, side: intent.request.side.rawValue)
        }
    }

    /// The notices `entries`, just made durable, call for.
    public mutating func notices(for entries: [JournalEntry], at time: Date) -> [Notice] {
        var notices: [Notice] = []
        for entry in entries {
            guard let clOrdId = entry.fields["clOrdId"]?.stringValue else { continue }
            if entry.type == .orderIntent {
                orders[clOrdId] = Notice.OrderSummary(intent: entry)
                continue
            }
            if let notice = Notice.order(entry, order: orders[clOrdId], at: time) { notices.append(notice) }
            let state = entry.fields["state"]?.stringValue.map(OrderState.init(exchangeState:))
            if [.orderReject, .orderAbandoned].contains(entry.type) || state?.isFinal == true {
                orders[clOrdId] = nil
            }
        }
        return notices
    }
}
