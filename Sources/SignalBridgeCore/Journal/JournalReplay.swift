import Foundation

/// What the journal says about the past, rebuilt on start: answered signals (for duplicates), the risk ledger,
/// and orders that have no final record yet (for the reconciler).
public struct JournalReplay: Sendable {
    /// A signal that was answered 202, with its answer.
    public struct AnsweredSignal: Sendable {
        public var key: SignalKey
        public var answer: JSONValue
        public var time: Date
    }

    /// Every signal since `rememberSince`, oldest first, for the replay window (``SignalMemory``).
    public private(set) var seen: [(key: SignalKey, time: Date)] = []
    public private(set) var ledger = RiskLedger()

    /// Answers are kept for signals at or after this time.
    public let since: Date
    /// Keys are kept for signals at or after this time (at most ``since``).
    public let rememberSince: Date
    private var signals: [SignalKey: (time: Date, decisions: [JSONValue])] = [:]
    private var signalOrder: [SignalKey] = []
    /// A signal's decisions follow it in its batch, so a decision belongs to the latest signal of its id.
    private var latest: [String: SignalKey] = [:]
    /// Orders without a final record yet, with the `seq` of their intent.
    private var orders: [String: (seq: Int, order: OpenOrder)] = [:]

    /// An empty replay, to be fed records in journal order (``apply(_:)``), keeping the answers of signals at or after
    /// `since` and the keys of those at or after `rememberSince` (at most `since`).
    public init(since: Date, rememberSince: Date? = nil) {
        self.since = since
        self.rememberSince = min(rememberSince ?? since, since)
    }

    /// Replays `records`.
    public init(records: [JournalRecord], since: Date, rememberSince: Date? = nil) {
        self.init(since: since, rememberSince: rememberSince)
        for record in records { apply(record) }
    }

    /// What the replay needs of one line of the journal.
    public enum Item: Sendable {
        /// The whole record.
        case record(JournalRecord)
        /// Only that this signal was seen then (for the replay window).
        case seen(SignalKey, Date)
    }

    /// What the replay needs of the record on `line`, read from the fields every record starts with, so that on start
    /// only that is parsed whole: order records, and decisions that ordered (for cooldowns), always; signals and other
    /// decisions within the duplicate window; of older signals within the replay window, only their key.
    public func item(_ line: ScannedLine) throws(JournalDamage) -> Item? {
        let date = line.date ?? .distantFuture
        if line.isType(.signal) {
            if date < rememberSince { return nil }
            if date < since, let key = line.signalKey { return .seen(key, date) }
            return .record(try line.parsed())
        }
        if line.isType(.decision), date < since, !line.contains(#""outcome":"order""#) { return nil }
        if line.isType(.rejected) || line.isType(.rulesLoaded) { return nil }
        return .record(try line.parsed())
    }

    /// Replays what ``item(_:)`` made of the next line.
    public mutating func apply(_ item: Item) {
        switch item {
        case .record(let record): apply(record)
        case .seen(let key, let time): seen.append((key, time))
        }
    }

    /// Replays one record, the next in journal order.
    public mutating func apply(_ record: JournalRecord) {
        guard let time = record.date, let event = JournalEvent.decode(record) else { return }
        switch event {
        case .signal(let key):
            guard time >= rememberSince else { return }
            seen.append((key, time))
            guard time >= since else { return }
            latest[key.signalId] = key
            if signals[key] == nil { signalOrder.append(key) }
            signals[key] = (time, [])
        case .decision(let decision):
            if let key = latest[decision.signalId] { signals[key]?.decisions.append(decision.answerEntry) }
            if decision.ordered, let ruleId = decision.ruleId {
                ledger.record(RiskLedger.Usage(ruleId: ruleId, time: time, orders: max(1, decision.clOrdIds.count), notional: decision.notional))
            }
        case .intent(let intent):
            orders[intent.clOrdId] = (record.seq, OpenOrder(intent: intent, intentTime: time))
        case .order(let clOrdId, let event):
            guard var open = orders[clOrdId] else { return }
            _ = open.order.lifecycle.apply(event)
            // A final order is forgotten at once: what start keeps does not grow with the history of orders.
            orders[clOrdId] = open.order.state.isFinal ? nil : open
        case .rejected, .rulesLoaded:
            return
        }
    }

    /// The signals answered at or after ``since``, each with its answer, oldest first.
    public var answered: [AnsweredSignal] {
        signalOrder.compactMap { key in
            signals[key].map {
                AnsweredSignal(key: key, answer: SignalIntake.answerBody(signalId: key.signalId, decisions: $0.decisions), time: $0.time)
            }
        }
    }

    /// Orders whose outcome is not final, in journal order.
    public var openOrders: [OpenOrder] { orders.values.sorted { $0.seq < $1.seq }.map(\.order) }
}

/// Identifies a signal for duplicate detection: its source and id.
public struct SignalKey: Sendable, Hashable {
    public var source: String
    public var signalId: String
    public init(source: String, signalId: String) {
        self.source = source
        self.signalId = signalId
    }
}
