import Foundation

/// What one admitted signal becomes (pure, no I/O): its decisions, the order intents that follow, what they
/// count against the risk guards, and the batch of journal entries that must be on disk before the answer.
public struct SignalBatch: Sendable {
    public var key: SignalKey
    public var decisions: [Decision]
    public var intents: [OrderIntent]
    /// What the sent orders count against cooldowns and daily limits.
    public var usages: [RiskLedger.Usage]
    /// `signal`, its `decision`s and `order.intent`s, in that order.
    public var entries: [JournalEntry]

    /// Decides `signal` with `decider` against `ledger`.
    /// - Parameters:
    ///   - request: the webhook as received, for the `signal` record's address and body digest.
    ///   - ruleSetHash: the hash of the rule set `decider` uses, for each `decision` record.
    ///   - matched: the rules of the decider's set that match, when already known (``Decider/matching(_:source:payload:)``).
    public init(
        _ signal: AdmittedSignal,
        request: InboundRequest,
        decider: Decider,
        ledger: RiskLedger,
        ruleSetHash: String,
        matched: [Rule]? = nil
    ) {
        let key = signal.key
        let decisions = decider.decide(
            signalId: key.signalId,
            source: key.source,
            payload: signal.payload,
            ledger: ledger,
            signalBot: signal.source.isOKXSignalBot,
            matched: matched
        )
        let intents = decisions.filter { $0.outcome == .order }.flatMap { decision in
            decision.orders.map { order in
                let ruleId = decision.ruleId ?? ""
                return order.algo.map { OrderIntent(signalId: key.signalId, ruleId: ruleId, algo: $0) }
                    ?? OrderIntent(signalId: key.signalId, ruleId: ruleId, request: order.request)
            }
        }
        let signalEntry = JournalEntry.signal(
            signalId: key.signalId,
            source: key.source,
            remoteAddr: request.remoteAddress,
            bodySha256: Hex.sha256(request.body),
            receivedAt: decider.builder.now,
            payload: signal.payload
        )
        self.key = key
        self.decisions = decisions
        self.intents = intents
        usages = decisions.compactMap { $0.usage(at: decider.builder.now) }
        entries =
            [signalEntry] + decisions.map { .decision(signalId: key.signalId, $0, ruleSetHash: ruleSetHash) }
            + intents.map(JournalEntry.intent)
    }

    /// The body of the 202 answer.
    public var answerBody: JSONValue {
        SignalIntake.answerBody(signalId: key.signalId, decisions: decisions.map(\.answerJSON))
    }
}
