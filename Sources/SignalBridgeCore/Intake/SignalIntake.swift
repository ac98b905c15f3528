import Foundation
import Logging

/// The path of a webhook through the core (SPEC section 1): source, allowlist, authentication on the raw bytes,
/// parsing, signal id, staleness and duplicates, rules and risk, the write-ahead journal, then execution.
///
/// It is an actor so that duplicate detection and the risk ledger see every signal in turn; the journal's
/// group commit still lets many signals wait for the same fsync.
public actor SignalIntake {
    /// How long answered signal ids are remembered (and rebuilt from the journal on start).
    public static let duplicateRetention: TimeInterval = 48 * 3600

    private let configuration: BridgeConfiguration
    private let journal: Journal
    private let market: MarketData
    private let dispatcher: any OrderDispatcher
    private let logger: Logger
    private let clock: @Sendable () -> Date

    private var rules: RuleSet
    private var ledger: RiskLedger
    private var answers: [SignalKey: JSONValue] = [:]
    private var answerTimes: [(key: SignalKey, time: Date)] = []
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
        self.rules = rules
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
    }

    /// The rule set in force.
    public var ruleSet: RuleSet { rules }

    /// Puts `newRules` in force after journaling `rules.loaded`.
    public func install(_ newRules: RuleSet) async throws(JournalError) {
        try await journal.append([.rulesLoaded(newRules)])
        rules = newRules
        logger.info("rules loaded", metadata: ["ruleSetHash": "\(newRules.hash)", "rules": "\(newRules.rules.count)"])
    }

    /// The answer to one webhook.
    public func handle(_ request: InboundRequest) async -> Result<WebhookAnswer, WebhookRejection> {
        do {
            return .success(try await accept(request))
        } catch {
            if error.kind == .journalUnavailable {
                logger.error("webhook refused", metadata: ["source": "\(request.sourceName)", "status": "503", "reason": "\(error.message)"])
            } else {
                await recordRejection(error, request: request)
            }
            return .failure(error)
        }
    }

    /// Journals and logs a refusal, including those made before the core saw the request (such as a body over the
    /// limit). At most 60 a minute are written; the rest are counted in one log line a minute.
    public func recordRejection(_ rejection: WebhookRejection, request: InboundRequest) async {
        let (admitted, suppressedLastMinute) = rejectionSampler.admit(now: clock())
        if suppressedLastMinute > 0 {
            logger.warning("refused webhooks not journaled last minute (over 60 a minute)", metadata: ["count": "\(suppressedLastMinute)"])
        }
        guard admitted else { return }
        logger.notice(
            "webhook refused",
            metadata: ["source": "\(request.sourceName)", "status": "\(rejection.kind.status)", "reason": "\(rejection.message)"]
        )
        let entry = JournalEntry.rejected(
            source: request.sourceName,
            status: rejection.kind.status,
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

    private func accept(_ request: InboundRequest) async throws(WebhookRejection) -> WebhookAnswer {
        let now = request.receivedAt
        guard let source = configuration.source(named: request.sourceName) else {
            throw WebhookRejection(.unknownSource, "no source named \"\(request.sourceName)\" is configured")
        }
        if !source.allowFrom.isEmpty {
            guard let address = request.remoteAddress, source.allowFrom.contains(where: { $0.contains(address) }) else {
                throw WebhookRejection(.forbidden, "\(request.remoteAddress ?? "this address") may not post to \"\(source.name)\"")
            }
        }
        let parsed = Result { () throws(JSONParseError) -> JSONValue in try JSONParser.parse(request.body) }
        let authenticated: Authenticated
        do {
            authenticated = try source.auth.verify(request, parsedBody: { try? parsed.get() })
        } catch {
            throw WebhookRejection(.unauthorized, error.message)
        }
        var payload: JSONValue
        switch parsed {
        case .success(let value): payload = value
        case .failure(let error): throw WebhookRejection(.badRequest, "the body is not JSON: \(error.description)")
        }
        if let redact = authenticated.redactPointer { payload = redact.removing(from: payload) }
        let signalId = try signalId(for: request, source: source, authenticated: authenticated, payload: payload)

        // A resend of an acknowledged signal is a duplicate, never an error, however late it comes.
        let key = SignalKey(source: source.name, signalId: signalId)
        if let answer = answers[key] { return WebhookAnswer(status: 200, body: answer, isDuplicate: true) }
        try checkLag(source: source, payload: payload, now: now)
        if inFlight[key] != nil {
            let first = await withCheckedContinuation { inFlight[key]!.append($0) }
            var answer = try first.get()
            answer.status = 200
            answer.isDuplicate = true
            return answer
        }
        inFlight[key] = []
        let result = await decideAndJournal(key: key, source: source, request: request, payload: payload, now: now)
        for waiter in inFlight.removeValue(forKey: key) ?? [] { waiter.resume(returning: result) }
        return try result.get()
    }

    private func signalId(
        for request: InboundRequest,
        source: SourceSettings,
        authenticated: Authenticated,
        payload: JSONValue
    ) throws(WebhookRejection) -> String {
        if let id = authenticated.schemeSignalId { return id }
        if let pointer = source.idPointer {
            guard let id = pointer.resolve(in: payload)?.scalarText, !id.isEmpty, id.utf8.count <= 256 else {
                throw WebhookRejection(.badRequest, "the payload has no id at \(pointer) (idPointer of \"\(source.name)\")")
            }
            return id
        }
        return Hex.sha256(Array(source.name.utf8) + [0] + request.body)
    }

    private func checkLag(source: SourceSettings, payload: JSONValue, now: Date) throws(WebhookRejection) {
        let signalBotLag = source.isOKXSignalBot ? (source.maxLagSeconds ?? OKXSignalBot.maxLag(payload)) : nil
        guard let pointer = source.timestampPointer ?? (source.isOKXSignalBot ? OKXSignalBot.timestampPointer : nil) else { return }
        guard let value = pointer.resolve(in: payload) else {
            throw WebhookRejection(.badRequest, "the payload has no time at \(pointer) (timestampPointer of \"\(source.name)\")")
        }
        guard let time = SignalTime.parse(value) else {
            throw WebhookRejection(.badRequest, "the value at \(pointer) is not an ISO 8601 time or a Unix time")
        }
        if let maxLag = signalBotLag ?? source.maxLagSeconds, now.timeIntervalSince(time) > TimeInterval(maxLag) {
            throw WebhookRejection(
                .staleSignal,
                "the signal is \(Int(now.timeIntervalSince(time))) s old; \"\(source.name)\" accepts at most \(maxLag) s"
            )
        }
    }

    private func decideAndJournal(
        key: SignalKey,
        source: SourceSettings,
        request: InboundRequest,
        payload: JSONValue,
        now: Date
    ) async -> Result<WebhookAnswer, WebhookRejection> {
        let killSwitch = configuration.risk.killSwitchFile.map { FileManager.default.fileExists(atPath: $0) } ?? false
        let decider = Decider(
            rules: rules,
            guards: GlobalGuards(
                risk: configuration.risk,
                killSwitchEngaged: killSwitch,
                queueHasRoom: { [dispatcher] in dispatcher.hasRoom(for: $0) }
            ),
            builder: OrderBuilder(market: market.snapshot, now: now, maxPriceAgeSeconds: configuration.risk.maxPriceAgeSeconds)
        )
        let decisions = decider.decide(
            signalId: key.signalId,
            source: key.source,
            payload: payload,
            ledger: ledger,
            signalBot: source.isOKXSignalBot
        )
        let usages = decisions.compactMap { $0.usage(at: now) }
        usages.forEach { ledger.record($0) }
        let intents = decisions.filter { $0.outcome == .order }.flatMap { decision in
            decision.orders.map { OrderIntent(signalId: key.signalId, ruleId: decision.ruleId ?? "", request: $0.request) }
        }
        let entries: [JournalEntry] =
            [
                .signal(
                    signalId: key.signalId,
                    source: key.source,
                    remoteAddr: request.remoteAddress,
                    bodySha256: Hex.sha256(request.body),
                    payload: payload
                )
            ]
            + decisions.map { .decision(signalId: key.signalId, $0, ruleSetHash: rules.hash) }
            + intents.map(JournalEntry.intent)
        do {
            try await journal.append(entries)
        } catch {
            usages.forEach { ledger.remove($0) }
            logger.error("journal: cannot record a signal; answering 503", metadata: ["error": "\(error)"])
            return .failure(WebhookRejection(.journalUnavailable, "the journal cannot be written; the signal was not accepted, send it again later"))
        }
        let body = Self.answerBody(signalId: key.signalId, decisions: decisions.map(\.answerJSON))
        remember(key, answer: body, at: now)
        dispatcher.submit(intents)
        logger.info(
            "signal accepted",
            metadata: ["source": "\(key.source)", "signalId": "\(key.signalId)", "orders": "\(intents.count)"]
        )
        return .success(WebhookAnswer(status: 202, body: body, isDuplicate: false))
    }

    private func remember(_ key: SignalKey, answer: JSONValue, at time: Date) {
        answers[key] = answer
        answerTimes.append((key, time))
        let horizon = time.addingTimeInterval(-Self.duplicateRetention)
        var expired = 0
        while expired < answerTimes.count, answerTimes[expired].time < horizon {
            answers[answerTimes[expired].key] = nil
            expired += 1
        }
        if expired > 0 { answerTimes.removeFirst(expired) }
    }

    /// `{"signalId": ..., "decisions": [...]}`, the body of a 202 and of its duplicates.
    public static func answerBody(signalId: String, decisions: [JSONValue]) -> JSONValue {
        .object(JSONObject([("signalId", .string(signalId)), ("decisions", .array(decisions))]))
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
