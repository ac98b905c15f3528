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
            guard let type = record.recordType, let time = record.date else { continue }
            switch type {
            case .signal:
                guard time >= rememberSince, let id = record["signalId"]?.stringValue, let source = record["source"]?.stringValue
                else { continue }
                let key = SignalKey(source: source, signalId: id)
                seen.append((key, time))
                guard time >= since else { continue }
                latest[id] = key
                signals[key] = (time, [])
                order.append(key)
            case .decision:
                guard let id = record["signalId"]?.stringValue else { continue }
                if let key = latest[id] { signals[key]?.decisions.append(Decision.answerEntry { record[$0] }) }
                if record["outcome"]?.stringValue == "order", let ruleId = record["ruleId"]?.stringValue {
                    let count = record["clOrdIds"]?.arrayValue?.count ?? 1
                    ledger.record(RiskLedger.Usage(ruleId: ruleId, time: time, orders: count, notional: record["notional"]?.decimalValue ?? 0))
                }
            case .orderIntent:
                guard let clOrdId = record["clOrdId"]?.stringValue, let signalId = record["signalId"]?.stringValue,
                    let ruleId = record["ruleId"]?.stringValue, let request = record["request"].flatMap(OrderRequest.init(json:))
                else { continue }
                orders[clOrdId] = OpenOrder(intent: OrderIntent(signalId: signalId, ruleId: ruleId, request: request), intentTime: time)
                openOrder.append(clOrdId)
            case .orderAck, .orderUnknown, .orderRetry, .orderUpdate, .orderReject, .orderAbandoned:
                guard let (clOrdId, event) = OrderEvent.decode(record) else { continue }
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
