import Foundation
import Logging
import Synchronization

/// The path of a webhook through the core (SPEC section 1): source, allowlist, authentication on the raw bytes,
/// parsing, signal id, staleness and duplicates, rules and risk, the write-ahead journal, then execution.
///
/// It is an actor so that duplicate detection and the risk ledger see every signal in turn; the journal's
/// group commit still lets many signals wait for the same fsync.
public actor SignalIntake {
    /// How long answered signal ids are remembered (and rebuilt from the journal on start).
    public static let duplicateRetention: TimeInterval = 48 * 3600

    private let configuration: BridgeConfiguration
    private let admission: WebhookAdmission
    private let journal: Journal
    private let market: MarketData
    private let dispatcher: any OrderDispatcher
    private let logger: Logger
    private let clock: @Sendable () -> Date

    /// The rule set in force, readable outside the actor so that rules are matched before the actor is entered.
    private let rules: Mutex<RuleSet>
    private var ledger: RiskLedger
    private var answers: [SignalKey: JSONValue] = [:]
    private var answerTimes: [(key: SignalKey, time: Date)] = []
    /// Entries of `answerTimes` before this have expired.
    private var answerHead = 0
    /// Ids of signals from sources whose signature covers no timestamp, for the whole replay window.
    private var memory: SignalMemory
    private var inFlight: [SignalKey: [CheckedContinuation<Result<WebhookAnswer, WebhookRejection>, Never>]] = [:]
    private var rejectionSampler = RejectionSampler(perMinute: 60)

    /// - Parameters:
    ///   - replay: what the journal held on start: answered signals and the risk ledger.
    public init(
        configuration: BridgeConfiguration,
        rules: RuleSet,
        replay: JournalReplay,
        journal: Journal,
        market: MarketData,
        dispatcher: any OrderDispatcher,
        logger: Logger,
        clock: @escaping @Sendable () -> Date = Date.init
    ) {
        self.configuration = configuration
        self.admission = WebhookAdmission(configuration: configuration)
        self.rules = Mutex(rules)
        self.journal = journal
        self.market = market
        self.dispatcher = dispatcher
        self.logger = logger
        self.clock = clock
        self.ledger = replay.ledger
        for signal in replay.answered {
            answers[signal.key] = signal.answer
            answerTimes.append((signal.key, signal.time))
        }
        memory = SignalMemory(window: configuration.replayWindow)
        for signal in replay.seen where configuration.source(named: signal.key.source)?.auth.isReplayable == true {
            memory.insert(signal.key, at: signal.time)
        }
    }

    /// The rule set in force.
    public nonisolated var ruleSet: RuleSet { rules.withLock { $0 } }

    /// Puts `newRules` in force after journaling `rules.loaded`.
    public func install(_ newRules: RuleSet) async throws(JournalError) {
        try await journal.append([.rulesLoaded(newRules)])
        rules.withLock { $0 = newRules }
        logger.info("rules loaded", metadata: ["ruleSetHash": "\(newRules.hash)", "rules": "\(newRules.rules.count)"])
    }

    /// The answer to one webhook. Source, allowlist, authentication, parsing, the signal id and the rules' conditions
    /// are checked outside the actor (``WebhookAdmission``, ``Decider/matching(_:source:payload:)``), so many webhooks
    /// pass them at once; duplicates, staleness, risk guards and the journal then see one signal at a time.
    ///
    /// A refusal is returned, not journaled: the server journals it with the status it answered
    /// (``recordRejection(_:status:request:)``), except `journalUnavailable`, which the journal cannot take.
    public nonisolated func handle(_ request: InboundRequest) async -> Result<WebhookAnswer, WebhookRejection> {
        do {
            let signal = try admission.admit(request)
            let rules = ruleSet
            let matched = signal.source.isOKXSignalBot ? nil : Decider.matching(rules, source: signal.key.source, payload: signal.payload)
            return .success(try await process(signal, request: request, rules: rules, matched: matched))
        } catch {
            return .failure(error)
        }
    }

    /// Journals and logs a refusal with the status it was answered with. At most 60 a minute are written; the rest
    /// are counted in one log line a minute.
    public func recordRejection(_ rejection: WebhookRejection, status: Int, request: InboundRequest) async {
        if rejection.kind == .journalUnavailable {
            logger.error("webhook refused", metadata: ["source": "\(request.sourceName)", "status": "\(status)", "reason": "\(rejection.message)"])
            return
        }
        let (admitted, suppressedLastMinute) = rejectionSampler.admit(now: clock())
        if suppressedLastMinute > 0 {
            logger.warning("refused webhooks not journaled last minute (over 60 a minute)", metadata: ["count": "\(suppressedLastMinute)"])
        }
        guard admitted else { return }
        logger.notice(
            "webhook refused",
            metadata: ["source": "\(request.sourceName)", "status": "\(status)", "reason": "\(rejection.message)"]
        )
        let entry = JournalEntry.rejected(
            source: request.sourceName,
            status: status,
            error: rejection.message,
            remoteAddr: request.remoteAddress,
            bodySha256: request.body.isEmpty ? nil : Hex.sha256(request.body)
        )
        do {
            try await journal.append([entry])
        } catch {
            logger.error("journal: cannot record a refused webhook", metadata: ["error": "\(error)"])
        }
    }

    /// - Parameters:
    ///   - rules: the rule set in force when the signal came in (its hash goes into each decision).
    ///   - matched: the rules of that set whose conditions the signal meets.
    private func process(
        _ signal: AdmittedSignal,
        request: InboundRequest,
        rules: RuleSet,
        matched: [Rule]?
    ) async throws(WebhookRejection) -> WebhookAnswer {
        let key = signal.key
        // A resend of an acknowledged signal is a duplicate, never an error, however late it comes.
        if let answer = answers[key] { return WebhookAnswer(body: answer, isDuplicate: true) }
        if memory.contains(key) {
            let note = "answered more than \(Int64(Self.duplicateRetention / 3600)) h ago; nothing new is ordered (its decisions are in the journal)"
            let body = Self.answerBody(signalId: key.signalId, decisions: [], message: note)
            return WebhookAnswer(body: body, isDuplicate: true)
        }
        try admission.checkLag(signal, now: request.receivedAt)
        if inFlight[key] != nil {
            let first = await withCheckedContinuation { inFlight[key, default: []].append($0) }
            var answer = try first.get()
            answer.isDuplicate = true
            return answer
        }
        inFlight[key] = []
        // Decided at the time the journal keeps (`receivedAt`, to the millisecond), so that a replay, and a restart's
        // risk ledger, count cooldowns and days from the very same time.
        let decidedAt = Timestamp.journalTime(Timestamp.format(request.receivedAt).utf8) ?? request.receivedAt
        let result = await decideAndJournal(signal, request: request, rules: rules, matched: matched, now: decidedAt)
        for waiter in inFlight.removeValue(forKey: key) ?? [] { waiter.resume(returning: result) }
        return try result.get()
    }

    private func decideAndJournal(
        _ signal: AdmittedSignal,
        request: InboundRequest,
        rules: RuleSet,
        matched: [Rule]?,
        now: Date
    ) async -> Result<WebhookAnswer, WebhookRejection> {
        let key = signal.key
        let killSwitch = KillSwitch(file: configuration.risk.killSwitchFile).isEngaged
        let decider = Decider(
            rules: rules,
            guards: GlobalGuards(
                risk: configuration.risk,
                killSwitchEngaged: killSwitch,
                queueHasRoom: { [dispatcher] in dispatcher.hasRoom(for: $0) },
                orderIsOpen: { [dispatcher] in dispatcher.isOpen(clOrdId: $0) }
            ),
            builder: OrderBuilder(market: market.snapshot, now: now, maxPriceAgeSeconds: configuration.risk.maxPriceAgeSeconds)
        )
        let batch = SignalBatch(signal, request: request, decider: decider, ledger: ledger, ruleSetHash: rules.hash, matched: matched)
        batch.usages.forEach { ledger.record($0) }
        do {
            try await journal.append(batch.entries)
        } catch {
            batch.usages.forEach { ledger.remove($0) }
            logger.error("journal: cannot record a signal; answering 503", metadata: ["error": "\(error)"])
            return .failure(WebhookRejection(.journalUnavailable, "the journal cannot be written; the signal was not accepted, send it again later"))
        }
        let body = batch.answerBody
        remember(key, answer: body, at: now)
        if signal.source.auth.isReplayable { memory.insert(key, at: now) }
        dispatcher.submit(batch.intents)
        // Every signal and its decisions are in the journal; the log line is for debugging.
        logger.debug(
            "signal accepted",
            metadata: ["source": "\(key.source)", "signalId": "\(key.signalId)", "orders": "\(batch.intents.count)"]
        )
        return .success(WebhookAnswer(body: body, isDuplicate: false))
    }

    private func remember(_ key: SignalKey, answer: JSONValue, at time: Date) {
        answers[key] = answer
        answerTimes.append((key, time))
        let horizon = time.addingTimeInterval(-Self.duplicateRetention)
        while answerHead < answerTimes.count, answerTimes[answerHead].time < horizon {
            answers[answerTimes[answerHead].key] = nil
            answerHead += 1
        }
        // Drop the expired prefix once it is most of the array: amortized constant time per signal.
        if answerHead > 1024, answerHead * 2 > answerTimes.count {
            answerTimes.removeFirst(answerHead)
            answerHead = 0
        }
    }

    /// `{"signalId": ..., "decisions": [...]}`, the body of a 202 and of its duplicates, with a `message` when given.
    public static func answerBody(signalId: String, decisions: [JSONValue], message: String? = nil) -> JSONValue {
        var members: [(String, JSONValue)] = [("signalId", .string(signalId)), ("decisions", .array(decisions))]
        if let message { members.append(("message", .string(message))) }
        return .object(JSONObject(members))
    }
}

/// Lets at most `perMinute` refused webhooks into the journal each minute, so a flood of unauthenticated
/// requests cannot grow it without bound; the rest are counted in the log.
struct RejectionSampler: Sendable {
    let perMinute: Int
    private var minute = -1
    private var count = 0

    init(perMinute: Int) { self.perMinute = perMinute }

    /// Whether this refusal may be journaled, and how many were turned away in the minute that just ended
    /// (reported once, with the first refusal of a new minute).
    mutating func admit(now: Date) -> (admitted: Bool, suppressedLastMinute: Int) {
        let current = Int(now.timeIntervalSince1970 / 60)
        var suppressed = 0
        if current != minute {
            suppressed = max(0, count - perMinute)
            minute = current
            count = 0
        }
        count += 1
        return (count <= perMinute, suppressed)
    }
}
