import Foundation

/// One row per signal: where it came from, which rules matched, and what became of its orders
/// (`signalbridge journal report`).
public struct JournalReport: Sendable {
    /// An order of a signal, as the journal last heard of it.
    public struct Order: Sendable, Equatable {
        public var clOrdId: String
        public var instId: String
        public var side: String
        /// For an algo order (`clOrdId` is its `algoClOrdId`): its type (`trigger`, `move_order_stop`, `oco`,
        /// `conditional`).
        public var algoType: String? = nil
        /// Its life as the journal tells it, folded through the order lifecycle.
        public var lifecycle = OrderLifecycle()

        /// `pending` (intent journaled, no answer yet), `unknown` (no clear answer, or being sent again), `live`
        /// (acknowledged, resting), `partially_filled`, `filled`, `canceled`, or the final `rejected` and `abandoned`.
        public var state: String { lifecycle.state.rawValue }
        public var ordId: String? { lifecycle.ordId }
        /// Filled size, in the base currency.
        public var filledSize: Decimal { lifecycle.filledSize }
        public var averagePrice: Decimal? { lifecycle.averagePrice }
        /// OKX's sign: negative is a fee charged, positive a rebate.
        public var fee: Decimal { lifecycle.fee }
        public var feeCurrency: String? { lifecycle.feeCurrency }
        /// Why it was rejected or abandoned.
        public var reason: String? { lifecycle.reason }
        /// The OKX body exactly as journaled, as JSON text (kept by a detailed report).
        public var requestText: String?
        /// Every record about it after the intent, in journal order (kept by a detailed report).
        public var events: [Event] = []
    }

    /// A record about an order, as a line of its lineage: `ts`, `type` (`order.ack`, …), the exchange's `state` of an
    /// `order.update`, and what it says.
    public struct Event: Sendable, Equatable {
        public var ts: String
        public var type: String
        public var state: String?
        public var text: String
    }

    /// A decision of a signal, with its reason (kept by a detailed report).
    public struct DecisionLine: Sendable, Equatable {
        public var ruleId: String?
        public var outcome: String
        public var reason: String
    }

    /// A signal and its outcome.
    public struct Row: Sendable {
        public var signalId: String
        /// When it was journaled (RFC 3339).
        public var ts: String
        public var source: String
        /// The rules that matched, in decision order.
        public var rules: [String] = []
        /// The distinct decision outcomes (`order`, `skip`, `blocked`, `dryRun`).
        public var outcomes: [String] = []
        public var orders: [Order] = []
        /// When its webhook came in (`receivedAt`; kept by a detailed report).
        public var receivedAt: String?
        public var remoteAddr: String?
        /// Its payload as journaled, as JSON text (kept by a detailed report).
        public var payload: String?
        public var decisions: [DecisionLine] = []

        /// Fees summed per currency, in order of first appearance.
        public var fees: [(currency: String, amount: Decimal)] {
            var sums: [(currency: String, amount: Decimal)] = []
            for order in orders where order.fee != 0 {
                let currency = order.feeCurrency ?? ""
                if let index = sums.firstIndex(where: { $0.currency == currency }) {
                    sums[index].amount += order.fee
                } else {
                    sums.append((currency, order.fee))
                }
            }
            return sums
        }
    }

    /// The signals journaled at or after `since`, in journal order.
    public private(set) var rows: [Row] = []
    private let since: Date
    private var rowIndex: [String: Int] = [:]
    private var orderPlace: [String: (row: Int, order: Int)] = [:]

    /// Builds the report from every record (orders are followed past `since`).
    public init(records: [JournalRecord], since: Date? = nil, detailed: Bool = false) {
        self.init(since: since, detailed: detailed)
        for record in records { add(record) }
    }

    /// Whether rows keep each signal's whole lineage (payload, decisions with reasons, order bodies and events), for
    /// the HTML report.
    public let detailed: Bool

    /// An empty report, to be fed records in journal order (``add(_:)``): memory grows with the report, not the journal.
    /// - Parameter detailed: keep each signal's whole lineage (``HTMLReport``).
    public init(since: Date? = nil, detailed: Bool = false) {
        self.since = since ?? .distantPast
        self.detailed = detailed
    }

    /// Adds the next record. A signal's decisions and intents follow it in its batch, so they belong to the latest
    /// signal of their id.
    public mutating func add(_ record: JournalRecord) {
        guard let event = JournalEvent.decode(record) else { return }
        switch event {
        case .signal(let key):
            guard (record.date ?? .distantPast) >= since else { return }
            rowIndex[key.signalId] = rows.count
            var row = Row(signalId: key.signalId, ts: record.ts, source: key.source)
            if detailed {
                row.receivedAt = record["receivedAt"]?.stringValue
                row.remoteAddr = record["remoteAddr"]?.stringValue
                row.payload = record["payload"]?.jsonText
            }
            rows.append(row)
        case .decision(let decision):
            guard let index = rowIndex[decision.signalId] else { return }
            if let ruleId = decision.ruleId { rows[index].rules.append(ruleId) }
            if !rows[index].outcomes.contains(decision.outcome) { rows[index].outcomes.append(decision.outcome) }
            if detailed {
                rows[index].decisions.append(
                    DecisionLine(ruleId: decision.ruleId, outcome: decision.outcome, reason: record["reason"]?.stringValue ?? "")
                )
            }
        case .intent(let intent):
            guard let index = rowIndex[intent.signalId] else { return }
            orderPlace[intent.clOrdId] = (index, rows[index].orders.count)
            var order = Order(clOrdId: intent.clOrdId, instId: intent.request.instId, side: intent.request.side.rawValue)
            order.algoType = intent.algo?.ordType.rawValue
            if detailed { order.requestText = record["request"]?.jsonText }
            rows[index].orders.append(order)
        case .order(let clOrdId, let event):
            guard let place = orderPlace[clOrdId] else { return }
            _ = rows[place.row].orders[place.order].lifecycle.apply(event)
            if detailed {
                rows[place.row].orders[place.order].events.append(
                    Event(ts: record.ts, type: record.type, state: record["state"]?.stringValue, text: Self.describe(record))
                )
            }
        case .rejected, .rulesLoaded:
            return
        }
    }

    /// What a record about an order says, in a line: everything but the fields every such record has.
    static func describe(_ record: JournalRecord) -> String {
        record.object.compactMap { member -> String? in
            switch member.key {
            case "seq", "ts", "type", "prev", "batch", "clOrdId", "algoClOrdId": return nil
            default: return "\(member.key) \(member.value.scalarText ?? member.value.jsonText)"
            }
        }
        .joined(separator: ", ")
    }

    /// The report as `format`: `json` gives one object per signal with every order; `table` and `csv` one row per
    /// signal, a signal's several orders joined with `;` in the order columns.
    public func render(format: ListingFormat) -> String {
        if format == .json { return rows.map { JSONValue.object($0.json).jsonText }.joined(separator: "\n") }
        let listing = Listing(
            header: ["ts", "signalId", "source", "rules", "outcome", "orders", "state", "filledSz", "avgPx", "fees"],
            rows: rows.map { row in
                [
                    row.ts, row.signalId, row.source, row.rules.joined(separator: ";"), row.outcomes.joined(separator: ";"),
                    String(row.orders.count), row.orders.map(\.state).joined(separator: ";"),
                    row.orders.map { DecimalText.format($0.filledSize) }.joined(separator: ";"),
                    row.orders.map { $0.averagePrice.map(DecimalText.format) ?? "" }.joined(separator: ";"),
                    row.fees.map { "\(DecimalText.format($0.amount)) \($0.currency)" }.joined(separator: ";"),
                ]
            }
        )
        return format == .csv ? listing.csv : listing.table
    }
}

extension JournalReport.Order {
    var json: JSONObject {
        var object = JSONObject([
            ("clOrdId", .string(clOrdId)), ("ordId", ordId.map(JSONValue.string) ?? .null), ("instId", .string(instId)),
            ("side", .string(side)), ("state", .string(state)), ("accFillSz", .string(DecimalText.format(filledSize))),
            ("avgPx", .string(averagePrice.map(DecimalText.format) ?? "")), ("fee", .string(DecimalText.format(fee))),
            ("feeCcy", .string(feeCurrency ?? "")),
        ])
        if let algoType {
            // An algo order: its own id and state, and the order it placed once triggered in `ordId`.
            object["ordType"] = .string(algoType)
            object["algoId"] = ordId.map(JSONValue.string) ?? .null
            object["algoState"] = lifecycle.algo.map { .string($0.state) } ?? .null
            object["ordId"] = lifecycle.algo?.ordId.map(JSONValue.string) ?? .null
        }
        if let reason { object["reason"] = .string(reason) }
        return object
    }
}

extension JournalReport.Row {
    var json: JSONObject {
        JSONObject([
            ("signalId", .string(signalId)), ("ts", .string(ts)), ("source", .string(source)),
            ("rules", .array(rules.map(JSONValue.string))), ("outcomes", .array(outcomes.map(JSONValue.string))),
            ("orders", .array(orders.map { .object($0.json) })),
            ("fees", .array(fees.map { .object(JSONObject([("ccy", .string($0.currency)), ("fee", .string(DecimalText.format($0.amount)))])) })),
        ])
    }
}
