import Foundation

/// What one journal record means, decoded once from its fields: the typed read model that replay, `journal report`
/// and `journal query` use instead of reading string keys themselves.
public enum JournalEvent: Sendable, Equatable {
    /// A decision, as far as reading the journal needs it.
    public struct DecisionRecord: Sendable, Equatable {
        public var signalId: String
        public var ruleId: String?
        /// `order`, `skip`, `blocked` or `dryRun`.
        public var outcome: String
        /// The `clOrdId`s of its orders (or the one it names).
        public var clOrdIds: [String]
        /// What an `order` decision counts against the daily notional limits.
        public var notional: Decimal
        /// Its entry in the signal's answer (`ruleId`, `outcome`, `reason`, `clOrdId`).
        public var answerEntry: JSONValue

        /// Whether it ordered.
        public var ordered: Bool { outcome == "order" }
    }

    /// An accepted webhook (`signal`).
    case signal(SignalKey)
    /// A refused webhook (`rejected`).
    case rejected
    case decision(DecisionRecord)
    /// An order about to be sent (`order.intent`, or an algo order's `algo.intent`), with its exact request.
    case intent(OrderIntent)
    /// Something that happened to an order (`order.ack`, `order.unknown`, `order.retry`, `order.update`,
    /// `order.reject`, `order.abandoned`, and the same `algo.*` records of an algo order, by its `algoClOrdId`).
    case order(clOrdId: String, OrderEvent)
    case rulesLoaded

    /// The event `record` stands for; nil for a record of a type this version does not know or that lacks the
    /// fields its type requires.
    public static func decode(_ record: JournalRecord) -> JournalEvent? {
        guard let type = record.recordType else { return nil }
        switch type {
        case .signal:
            guard let signalId = record["signalId"]?.stringValue, let source = record["source"]?.stringValue else { return nil }
            return .signal(SignalKey(source: source, signalId: signalId))
        case .rejected:
            return .rejected
        case .decision:
            guard let signalId = record["signalId"]?.stringValue, let outcome = record["outcome"]?.stringValue else { return nil }
            let named = (record["clOrdId"]?.stringValue).map { [$0] } ?? []
            let listed = record["clOrdIds"]?.arrayValue?.compactMap(\.stringValue) ?? []
            return .decision(
                DecisionRecord(
                    signalId: signalId,
                    ruleId: record["ruleId"]?.stringValue,
                    outcome: outcome,
                    clOrdIds: named + listed.filter { !named.contains($0) },
                    notional: record["notional"]?.decimalValue ?? 0,
                    answerEntry: Decision.answerEntry { record[$0] }
                )
            )
        case .orderIntent:
            guard let signalId = record["signalId"]?.stringValue, let ruleId = record["ruleId"]?.stringValue,
                let request = record["request"].flatMap(OrderRequest.init(json:)), record["clOrdId"]?.stringValue == request.clOrdId
            else { return nil }
            return .intent(OrderIntent(signalId: signalId, ruleId: ruleId, request: request))
        case .algoIntent:
            guard let signalId = record["signalId"]?.stringValue, let ruleId = record["ruleId"]?.stringValue,
                let algo = record["request"].flatMap(AlgoOrderRequest.init(json:)), record["algoClOrdId"]?.stringValue == algo.algoClOrdId
            else { return nil }
            return .intent(OrderIntent(signalId: signalId, ruleId: ruleId, algo: algo))
        case .orderAck, .orderUnknown, .orderRetry, .orderUpdate, .orderReject, .orderAbandoned, .algoAck, .algoUnknown, .algoRetry,
            .algoUpdate, .algoReject, .algoAbandoned:
            return OrderEvent.decode(record).map { .order(clOrdId: $0.clOrdId, $0.event) }
        case .rulesLoaded:
            return .rulesLoaded
        }
    }

    /// The signal the event names itself (signals, decisions, intents).
    public var signalId: String? {
        switch self {
        case .signal(let key): key.signalId
        case .decision(let decision): decision.signalId
        case .intent(let intent): intent.signalId
        case .rejected, .order, .rulesLoaded: nil
        }
    }

    /// The `clOrdId`s the event names.
    public var clOrdIds: [String] {
        switch self {
        case .decision(let decision): decision.clOrdIds
        case .intent(let intent): [intent.clOrdId]
        case .order(let clOrdId, _): [clOrdId]
        case .signal, .rejected, .rulesLoaded: []
        }
    }
}
