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

    public private(set) var answered: [AnsweredSignal] = []
    /// Every signal since `rememberSince`, oldest first, for the replay window (``SignalMemory``).
    public private(set) var seen: [(key: SignalKey, time: Date)] = []
    public private(set) var ledger = RiskLedger()
    /// Orders whose outcome is not final, in journal order.
    public private(set) var openOrders: [OpenOrder] = []

    /// Replays `records`, keeping the answers of signals newer than `since` and the keys of those newer than
    /// `rememberSince` (at most `since`).
    public init(records: [JournalRecord], since: Date, rememberSince: Date? = nil) {
        let rememberSince = min(rememberSince ?? since, since)
        var signals: [SignalKey: (time: Date, decisions: [JSONValue])] = [:]
        var order: [SignalKey] = []
        // A signal's decisions follow it in its batch, so a decision belongs to the latest signal of its id.
        var latest: [String: SignalKey] = [:]
        var orders: [String: OpenOrder] = [:]
        var openOrder: [String] = []
        for record in records {
            guard let time = record.date, let event = JournalEvent.decode(record) else { continue }
            switch event {
            case .signal(let key):
                guard time >= rememberSince else { continue }
                seen.append((key, time))
                guard time >= since else { continue }
                latest[key.signalId] = key
                signals[key] = (time, [])
                order.append(key)
            case .decision(let decision):
                if let key = latest[decision.signalId] { signals[key]?.decisions.append(decision.answerEntry) }
                if decision.ordered, let ruleId = decision.ruleId {
                    ledger.record(RiskLedger.Usage(ruleId: ruleId, time: time, orders: max(1, decision.clOrdIds.count), notional: decision.notional))
                }
            case .intent(let intent):
                orders[intent.clOrdId] = OpenOrder(intent: intent, intentTime: time)
                openOrder.append(intent.clOrdId)
            case .order(let clOrdId, let event):
                _ = orders[clOrdId]?.lifecycle.apply(event)
            case .rejected, .rulesLoaded:
                continue
            }
        }
        var answeredKeys = Set<SignalKey>()
        answered = order.compactMap { key in
            guard answeredKeys.insert(key).inserted, let signal = signals[key] else { return nil }
            return AnsweredSignal(key: key, answer: SignalIntake.answerBody(signalId: key.signalId, decisions: signal.decisions), time: signal.time)
        }
        var seen = Set<String>()
        openOrders = openOrder.compactMap { id in
            guard seen.insert(id).inserted, let order = orders[id], !order.state.isFinal else { return nil }
            return order
        }
    }
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
