import Foundation
import Logging
import Synchronization

/// Sends journaled order intents to the exchange, journals each outcome, and resolves every outcome it does not
/// know before anything else is sent for that instrument.
///
/// Orders of one instrument go out one after another in journal order (a close followed by a reverse cannot
/// overtake it); different instruments proceed in parallel. Requests keep to OKX's 60 per 2 s per instrument and
/// carry `expTime`, in the exchange's clock. A request without a clear answer is journaled `order.unknown`; once its
/// `expTime` has passed the order is looked up by `clOrdId`, with backoff for as long as the exchange does not
/// answer (later orders of the instrument wait), and only if the exchange has none and the intent is still fresh is
/// it sent again with the same `clOrdId`, journaled `order.retry` with its new `expTime` first. Otherwise it ends with
/// `order.abandoned`: nothing is ever re-posted blindly. While the kill switch is engaged nothing is sent: queued
/// orders and retries end `order.abandoned`; lookups go on.
public final class OrderExecutor: OrderDispatcher, Sendable {
    /// How long the exchange may hold a request before discarding it (`expTime`).
    public let requestLifetime: TimeInterval
    /// How old an intent may be and still be sent again when the exchange never got it.
    public let resubmitWindow: TimeInterval
    /// How long an intent may wait for its first send (behind an outage or a queue) before it is abandoned unsent.
    public let maxQueueAge: TimeInterval
    /// How many rate-limited tries before an order is abandoned.
    public let throttleRetries: Int
    /// The pause between rate-limited tries, and between failed lookups.
    public let backoff: Duration
    /// How many orders may wait per instrument; beyond that decisions are blocked.
    public let maxQueuedPerInstrument: Int
    /// How many lookups of an unknown outcome before giving up (`signalbridge reconcile`); nil: until the exchange
    /// answers (`serve`), `maxLookupBackoff` apart at most.
    public let lookupAttempts: Int?
    /// The longest pause between lookups of an unknown outcome.
    public let maxLookupBackoff: TimeInterval
    /// Whether the kill switch is engaged, asked before every request that could place an order.
    public let killSwitch: KillSwitch
    /// The orders without a final record.
    public let book: OpenOrderBook

    /// What reconciling a set of orders did.
    public struct Report: Sendable, Equatable {
        public var checked = 0
        public var resubmitted = 0
        public var abandoned = 0
        /// Orders the exchange could not be asked about; they stay open for the next run.
        public var unresolved: [String] = []

        public init() {}
    }

    private enum Work: Sendable {
        case place(OrderIntent, intentTime: Date)
        /// Look it up once the exchange can no longer take a request sent for it (a previous run's order: that
        /// run may have sent it until `restartedAt`).
        case resolve(OpenOrder, restartedAt: Date)
    }

    /// What this process knows of an order's way to the exchange, for the kill switch: one queued (never sent, or
    /// only refused with nothing processed) may be abandoned at once; one being sent may not.
    private enum SendState: Sendable {
        case queued
        case sending
        case abandoned
    }

    private let exchange: any Exchange
    private let journal: Journal
    private let logger: Logger
    private let clock: @Sendable () -> Date
    private let metrics: BridgeMetrics
    private let lanes = Mutex<[String: AsyncStream<Work>.Continuation]>([:])
    /// Each lane's task, for ``shutdown(grace:)`` to wait for.
    private let laneTasks = Mutex<[Task<Void, Never>]>([])
    /// Set by ``shutdown(grace:)``: nothing more is sent; what is queued stays journaled for the next start.
    private let stopping = Mutex(false)
    private let queued = Mutex<[String: Int]>([:])
    private let idleWaiters = Mutex<[CheckedContinuation<Void, Never>]>([])
    private let rate = Mutex(RateWindow(limit: 60, window: 2))
    private let report = Mutex(Report())
    /// The exchange's clock minus ours, measured from its time at start and every minute.
    private let clockOffset = Mutex<TimeInterval>(0)
    /// Orders whose outcome is unknown (queued for a lookup, being looked up, or waiting for a record to be
    /// journaled), each with how many reasons it has to be counted.
    private let unresolved = Mutex<[String: Int]>([:])
    private let sendStates = Mutex<[String: SendState]>([:])
    /// Whether the exchange's clock has been measured (until then a lookup that finds nothing waits the largest
    /// offset believed before the order is sent again).
    private let clockMeasured = Mutex(false)
    /// Instruments whose lane gave up on an order (`lookupAttempts`): nothing more of them is done in this run, so
    /// that no later order overtakes it.
    private let givenUpLanes = Mutex<Set<String>>([])
    /// Orders the kill switch has had canceled.
    private let cancelsSent = Mutex<Set<String>>([])

    public init(
        exchange: any Exchange,
        journal: Journal,
        logger: Logger,
        book: OpenOrderBook = OpenOrderBook(),
        requestLifetime: TimeInterval = 10,
        resubmitWindow: TimeInterval = 60,
        maxQueueAge: TimeInterval = 60,
        throttleRetries: Int = 5,
        backoff: Duration = .seconds(2),
        maxQueuedPerInstrument: Int = 200,
        lookupAttempts: Int? = nil,
        maxLookupBackoff: TimeInterval = 30,
        killSwitch: KillSwitch = KillSwitch(file: nil),
        metrics: BridgeMetrics = BridgeMetrics(),
        clock: @escaping @Sendable () -> Date = Date.init
    ) {
        self.exchange = exchange
        self.journal = journal
        self.logger = logger
        self.book = book
        self.requestLifetime = requestLifetime
        self.resubmitWindow = resubmitWindow
        self.maxQueueAge = maxQueueAge
        self.throttleRetries = throttleRetries
        self.backoff = backoff
        self.maxQueuedPerInstrument = maxQueuedPerInstrument
        self.lookupAttempts = lookupAttempts
        self.maxLookupBackoff = maxLookupBackoff
        self.killSwitch = killSwitch
        self.metrics = metrics
        self.clock = clock
        metrics.unknownOrders(0)
    }

    // MARK: - The exchange's clock

    /// The exchange's clock minus ours, as last measured.
    public var exchangeClockOffset: TimeInterval { clockOffset.withLock { $0 } }

    /// Now, in the exchange's clock.
    func exchangeNow() -> Date { clock().addingTimeInterval(exchangeClockOffset) }

    /// Our clock's time when the exchange's shows `date`.
    func localTime(ofExchangeTime date: Date) -> Date { date.addingTimeInterval(-exchangeClockOffset) }

    /// Measures the exchange's clock against ours (`GET /api/v5/public/time`, at the request's midpoint) and uses
    /// it for `expTime` and lookup deadlines from then on; warns when they differ by more than a second.
    /// - Returns: the offset, or nil when the exchange could not be asked (the last one stays in force).
    @discardableResult
    public func measureClockOffset() async -> TimeInterval? {
        // The fastest of three answers: a slow one measures its own delay, not the clocks.
        var best: (offset: TimeInterval, roundTrip: TimeInterval)?
        for _ in 0..<3 {
            let sent = clock()
            guard let server = try? await exchange.serverTime() else { continue }
            let roundTrip = clock().timeIntervalSince(sent)
            let offset = server.timeIntervalSince(sent.addingTimeInterval(roundTrip / 2))
            if offset.isFinite, roundTrip.isFinite, roundTrip < (best?.roundTrip ?? .infinity) { best = (offset, roundTrip) }
        }
        guard let best else { return nil }
        // OKX refuses requests whose own timestamp is 30 s off, so a larger offset is a broken answer, not a clock.
        guard best.roundTrip <= 1, abs(best.offset) <= Self.maxClockOffset else {
            logger.error(
                "the exchange's time answer is not usable; the last measured clock offset stays in force",
                metadata: [
                    "offsetMs": "\((best.offset * 1000).rounded().wholeSeconds)", "roundTripMs": "\((best.roundTrip * 1000).rounded().wholeSeconds)",
                ]
            )
            return nil
        }
        let offset = best.offset
        clockOffset.withLock { $0 = offset }
        clockMeasured.withLock { $0 = true }
        if abs(offset) > 1 {
            logger.warning(
                "the exchange's clock differs from ours; expTime and lookups follow the exchange's",
                metadata: ["offsetMs": "\((offset * 1000).rounded().wholeSeconds)"]
            )
        }
        return offset
    }

    /// The least time a request may have left before its `expTime` when it is sent.
    static let minimumRequestLifetime: TimeInterval = 0.1

    /// The largest clock offset believed: OKX itself refuses requests 30 s off.
    static let maxClockOffset: TimeInterval = 30

    // MARK: - Unresolved orders

    /// How many orders have an unknown outcome and are being looked up now (later orders of their instruments wait).
    public var unresolvedOrders: Int { unresolved.withLock { $0.count } }

    /// How many journaled orders wait for their turn to be sent.
    public var queuedOrders: Int { sendStates.withLock { $0.values.count { $0 == .queued } } }

    // The gauges are set under the lock, so that they never show an older count after a newer one.
    /// Per instrument with any, how many orders (and lookups of orders a previous run left) its lane has waiting or
    /// in hand.
    public var queueDepths: [String: Int] { queued.withLock { $0.filter { $0.value > 0 } } }

    private func markUnresolved(_ clOrdId: String) {
        unresolved.withLock { counts in
            counts[clOrdId, default: 0] += 1
            metrics.unknownOrders(counts.count)
        }
    }

    private func clearUnresolved(_ clOrdId: String) {
        unresolved.withLock { counts in
            let left = (counts[clOrdId] ?? 1) - 1
            counts[clOrdId] = left > 0 ? left : nil
            metrics.unknownOrders(counts.count)
        }
    }

    /// Whether an order with `clOrdId` is still open (tracked without a final record).
    public func isOpen(clOrdId: String) -> Bool { book.order(clOrdId) != nil || sendStates.withLock { $0[clOrdId] != nil } }

    // MARK: - Queueing

    /// Queues `intents` (already journaled) for sending, each in its instrument's lane.
    public func submit(_ intents: [OrderIntent]) {
        // Shutting down: journaled, they are sent after the next start.
        guard !isStopping else { return }
        let now = clock()
        for intent in intents {
            book.track(OpenOrder(intent: intent, intentTime: now))
            sendStates.withLock { $0[intent.clOrdId] = $0[intent.clOrdId] ?? .queued }
            enqueue(.place(intent, intentTime: now), instId: intent.request.instId)
        }
    }

    /// Whether another order for `instId` may be queued.
    public func hasRoom(for instId: String) -> Bool {
        queued.withLock { ($0[instId] ?? 0) < maxQueuedPerInstrument }
    }

    /// Queues the orders a previous run left without a final record to be resolved before anything else of their
    /// instruments. An order the previous process may have sent is looked up only once no request it could have
    /// sent can still be accepted: after the later of its latest journaled `expTime` and `startedAt` +
    /// `requestLifetime`, in the exchange's clock (measure it first with ``measureClockOffset()``).
    public func enqueueReconciliation(_ orders: [OpenOrder], startedAt: Date) {
        for order in orders {
            book.track(order)
            if order.ordId == nil { markUnresolved(order.clOrdId) }
            if !enqueue(.resolve(order, restartedAt: startedAt), instId: order.instId), order.ordId == nil {
                clearUnresolved(order.clOrdId)
            }
        }
    }

    /// Our clock's time after which no request sent for `order` can still be taken, with the clock offset known now:
    /// its latest journaled `expTime` (in the exchange's clock); for an order a previous run left, also `restartedAt`
    /// plus the request lifetime (a first send's `expTime` is not journaled), later by as much as the exchange's clock
    /// is behind ours (that run may have stamped it with ours); and, when `unmeasured` applies, the largest offset
    /// believed.
    private func lookupDeadline(_ order: OpenOrder, restartedAt: Date?, marginIfUnmeasured: Bool) -> Date {
        let offset = exchangeClockOffset
        var deadline = order.lifecycle.latestExpTime.map { localTime(ofExchangeTime: $0) } ?? .distantPast
        if let restartedAt { deadline = max(deadline, restartedAt.addingTimeInterval(requestLifetime + max(0, -offset))) }
        let margin = marginIfUnmeasured && !clockMeasured.withLock({ $0 }) ? Self.maxClockOffset : 0
        return deadline.addingTimeInterval(1 + margin)
    }

    /// Resolves orders a previous run left without a final record (``enqueueReconciliation(_:startedAt:)``), waits
    /// until nothing is left to do, and returns what was done.
    public func reconcile(_ orders: [OpenOrder], startedAt: Date) async -> Report {
        let before = report.withLock { $0 }
        enqueueReconciliation(orders, startedAt: startedAt)
        await waitUntilIdle()
        return report.withLock { after in
            var delta = Report()
            delta.checked = orders.count
            delta.resubmitted = after.resubmitted - before.resubmitted
            delta.abandoned = after.abandoned - before.abandoned
            delta.unresolved = Array(after.unresolved.dropFirst(before.unresolved.count))
            return delta
        }
    }

    /// Returns once nothing is waiting or being sent.
    public func waitUntilIdle() async {
        await withCheckedContinuation { continuation in
            let idle = queued.withLock { counts in
                if counts.values.allSatisfy({ $0 == 0 }) { return true }
                idleWaiters.withLock { $0.append(continuation) }
                return false
            }
            if idle { continuation.resume() }
        }
    }

    /// Queues `work` in its instrument's lane, starting the lane when it has none. Once shutdown began nothing is
    /// queued: the work is journaled, and the next start does it. Both under the lanes' lock, so that work is either
    /// in a lane before it is closed (and counted out by it) or not counted at all.
    /// - Returns: whether it was queued.
    @discardableResult
    private func enqueue(_ work: Work, instId: String) -> Bool {
        lanes.withLock { lanes in
            guard !isStopping else { return false }
            queued.withLock { counts in
                counts[instId, default: 0] += 1
                metrics.queueDepth(instrument: instId, counts[instId, default: 0])
            }
            if let lane = lanes[instId] {
                lane.yield(work)
                return true
            }
            let (stream, continuation) = AsyncStream<Work>.makeStream()
            lanes[instId] = continuation
            continuation.yield(work)
            let task = Task {
                for await work in stream {
                    switch work {
                    // Shutting down: left to the next start, as journaled.
                    case _ where self.isStopping: break
                    case .place(let intent, let time): await self.place(intent, intentTime: time)
                    case .resolve(let order, let restartedAt): await self.resolve(order, restartedAt: restartedAt)
                    }
                    if case .resolve(let order, _) = work, order.ordId == nil { self.clearUnresolved(order.clOrdId) }
                    self.finished(instId)
                }
            }
            laneTasks.withLock { $0.append(task) }
            return true
        }
    }

    // MARK: - Shutdown

    /// Whether ``shutdown(grace:)`` has begun.
    public var isStopping: Bool { stopping.withLock { $0 } }

    /// Stops sending: each lane finishes the order it has in hand (its request answered and journaled, a lookup
    /// answered), for at most `grace` (none when the calling task is cancelled); then the lanes are cancelled, and
    /// whatever they were doing stays in the journal as it stands (an intent without an outcome, an `order.unknown`),
    /// to be resolved after the next start as after a crash. Orders still queued are not sent; the next start finds
    /// them journaled without an outcome, looks each up once no request of this run can still reach the exchange, and
    /// sends it then, with the same `clOrdId`. Nothing submitted afterwards is queued.
    /// - Returns: how many orders were still queued.
    @discardableResult
    public func shutdown(grace: Duration) async -> Int {
        let left = queuedOrders
        lanes.withLock { lanes in
            stopping.withLock { $0 = true }
            lanes.values.forEach { $0.finish() }
        }
        let tasks = laneTasks.withLock { $0 }
        // The lanes are unstructured tasks: cancelled here by hand, when the grace is over or at once when this task
        // is (a service of the group failed: nothing waits for the grace then).
        let ended: Void? = await withDeadline(grace) {
            await withTaskCancellationHandler {
                for task in tasks { await task.value }
            } onCancel: {
                tasks.forEach { $0.cancel() }
            }
        }
        if ended == nil, !Task.isCancelled {
            logger.warning(
                "shutdown: orders still in hand after \(grace) were cut off, left to the next start",
                metadata: ["lanes": "\(tasks.count)"]
            )
        }
        return left
    }

    private func finished(_ instId: String) {
        let waiters = queued.withLock { counts -> [CheckedContinuation<Void, Never>] in
            counts[instId, default: 1] -= 1
            metrics.queueDepth(instrument: instId, counts[instId, default: 0])
            guard counts.values.allSatisfy({ $0 == 0 }) else { return [] }
            return idleWaiters.withLock { waiters in
                defer { waiters = [] }
                return waiters
            }
        }
        waiters.forEach { $0.resume() }
    }

    // MARK: - Sending

    /// Places one intent and journals what happened; resolves an unknown outcome before returning.
    /// - Parameter resend: why the intent is sent again (a lookup found nothing), nil for its first send.
    func place(_ intent: OrderIntent, intentTime: Date, resend: String? = nil) async {
        var metadata: Logger.Metadata = ["clOrdId": "\(intent.clOrdId)", "instId": "\(intent.request.instId)"]
        if laneGaveUp(intent) || wasAbandoned(intent.clOrdId) { return }
        var retryReason = resend
        let age = clock().timeIntervalSince(intentTime)
        if resend == nil, age > maxQueueAge {
            // It waited too long behind an outage or a queue: a signal this old is no longer one to trade on.
            guard takeOver(intent.clOrdId) else { return }
            let reason = "the intent waited \(age.wholeSeconds) s to be sent (at most \(maxQueueAge.wholeSeconds) s); not sent"
            await abandon(intent, reason: reason, metadata: metadata)
            return
        }
        // Found missing after its expTime: nothing of it can reach the exchange now, so the kill switch may end it.
        if resend != nil { sendStates.withLock { $0[intent.clOrdId] = $0[intent.clOrdId] ?? .queued } }
        for attempt in 0...throttleRetries {
            if isStopping || Task.isCancelled { return }
            // Asked before and after the wait for rate room, so that queued orders end at once when it is engaged.
            if !killSwitch.isEngaged { await waitForRateRoom(intent.request.instId) }
            if await abandonedByKillSwitch(intent, metadata: metadata) { return }
            var expiresAt = exchangeNow().addingTimeInterval(requestLifetime)
            if let reason = retryReason {
                // Journaled before it is sent, so that after a crash the deadline of this request is known: the
                // journaled deadline allows a second for the fsync, and the request never carries a later one.
                let journaled = expiresAt.addingTimeInterval(1)
                await record([.retry(clOrdId: intent.clOrdId, attempt: attempt + 1, expTime: journaled, reason: reason, algo: intent.isAlgo)], intent)
                expiresAt = min(journaled, exchangeNow().addingTimeInterval(requestLifetime))
                // The fsync may have taken a while: the kill switch is asked again right before the request, and
                // a request that would reach the exchange expired is not sent but journaled again, with a new expTime.
                if await abandonedByKillSwitch(intent, metadata: metadata) { return }
                guard expiresAt.timeIntervalSince(exchangeNow()) >= Self.minimumRequestLifetime else {
                    logger.warning("the journal took too long to record the retry; it is journaled again", metadata: metadata)
                    retryReason = "the journal took longer than the request's lifetime to record the previous retry"
                    continue
                }
            }
            // Shutting down: it stays journaled as it is, and the next start sends it (after a lookup).
            if isStopping || Task.isCancelled { return }
            // From here the request may reach the exchange: the kill switch can no longer end it unsent.
            guard claimSend(intent.clOrdId) else { return }
            let outcome = await exchange.place(intent, expiresAt: expiresAt)
            sendStates.withLock { states in
                if case .notPlaced = outcome { states[intent.clOrdId] = .queued } else { states[intent.clOrdId] = nil }
            }
            switch outcome {
            case .accepted(let ordId):
                metadata["ordId"] = "\(ordId)"
                logger.info("order accepted", metadata: metadata)
                await record([.ack(clOrdId: intent.clOrdId, ordId: ordId, algo: intent.isAlgo)], intent)
                await follow(intent)
                return
            case .rejected(let sCode, let sMsg):
                logger.warning("order rejected", metadata: metadata.merging(["sCode": "\(sCode)", "sMsg": "\(sMsg)"]) { $1 })
                await record([.reject(clOrdId: intent.clOrdId, sCode: sCode, sMsg: sMsg, algo: intent.isAlgo)], intent)
                return
            case .unknown(let reason):
                logger.error(
                    "order outcome unknown; it will be looked up after its expTime",
                    metadata: metadata.merging(["error": "\(reason)"]) { $1 }
                )
                markUnresolved(intent.clOrdId)
                // The lifecycle says when: once no request sent for it can still be taken.
                if case .lookUp = await record([.unknown(clOrdId: intent.clOrdId, error: reason, expTime: expiresAt, algo: intent.isAlgo)], intent) {
                } else {
                    logger.critical("an order of unknown outcome was acknowledged before; looking it up", metadata: metadata)
                }
                if let order = book.order(intent.clOrdId) { await resolve(order, restartedAt: nil) }
                clearUnresolved(intent.clOrdId)
                return
            case .notPlaced(let reason):
                logger.warning(
                    "order not placed (rate limit or load); trying again",
                    metadata: metadata.merging(["attempt": "\(attempt + 1)", "reason": "\(reason)"]) { $1 }
                )
                retryReason = "not placed: \(reason)"
                if attempt < throttleRetries { try? await Task.sleep(for: backoff) }
            }
        }
        guard takeOver(intent.clOrdId) else { return }
        await abandon(intent, reason: "not sent after \(throttleRetries + 1) attempts (last: \(retryReason ?? "refused"))", metadata: metadata)
    }

    /// Whether `intent`'s lane gave up on an earlier order in this run (`lookupAttempts`): then it is left open for
    /// the next run, unresolved.
    private func laneGaveUp(_ intent: OrderIntent) -> Bool {
        guard givenUpLanes.withLock({ $0.contains(intent.request.instId) }) else { return false }
        report.withLock { $0.unresolved.append(intent.clOrdId) }
        return true
    }

    /// Whether the kill switch abandoned the order while it waited (then its lane has nothing more to do with it).
    private func wasAbandoned(_ clOrdId: String) -> Bool {
        sendStates.withLock { states in
            guard case .abandoned = states[clOrdId] else { return false }
            states[clOrdId] = nil
            return true
        }
    }

    /// Marks a queued order as being sent; false when the kill switch abandoned it meanwhile.
    private func claimSend(_ clOrdId: String) -> Bool {
        sendStates.withLock { states in
            if case .abandoned = states[clOrdId] {
                states[clOrdId] = nil
                return false
            }
            states[clOrdId] = .sending
            return true
        }
    }

    /// Takes an order out of the kill switch's reach before its lane ends it; false when the kill switch already did.
    private func takeOver(_ clOrdId: String) -> Bool {
        sendStates.withLock { states in
            defer { states[clOrdId] = nil }
            if case .abandoned = states[clOrdId] { return false }
            return true
        }
    }

    /// Ends `intent` with `order.abandoned`.
    private func abandon(_ intent: OrderIntent, reason: String, metadata: Logger.Metadata) async {
        report.withLock { $0.abandoned += 1 }
        logger.warning("order abandoned", metadata: metadata.merging(["reason": "\(reason)"]) { $1 })
        await record([.abandoned(clOrdId: intent.clOrdId, reason: reason, algo: intent.isAlgo)], intent)
    }

    /// Ends `intent` with `order.abandoned` when the kill switch is engaged now; whether it did (or already had).
    private func abandonedByKillSwitch(_ intent: OrderIntent, metadata: Logger.Metadata) async -> Bool {
        guard let file = killSwitch.engagedFile() else { return false }
        guard takeOver(intent.clOrdId) else { return true }
        await abandon(intent, reason: Self.killSwitchReason(file), metadata: metadata)
        return true
    }

    static func killSwitchReason(_ file: String) -> String { "kill switch engaged (\(file) exists); not sent" }

    /// While the kill switch is engaged, ends at once with `order.abandoned` every order this process queued and has
    /// not sent (or sent and had refused with nothing processed): one waiting behind a busy lane (an unresolved
    /// order, an outage) must not go out once the switch is released. One being sent right now is left to its
    /// request; one whose outcome is unknown is looked up as always.
    public func abandonQueuedOrders() async {
        guard let file = killSwitch.engagedFile() else { return }
        let taken = sendStates.withLock { states -> [String] in
            let queued = states.compactMap { entry -> String? in
                if case .queued = entry.value { return entry.key }
                return nil
            }
            for clOrdId in queued { states[clOrdId] = .abandoned }
            return queued
        }
        let orders = taken.compactMap { book.order($0) }
        guard let first = orders.first else { return }
        report.withLock { $0.abandoned += orders.count }
        logger.warning("kill switch engaged; queued orders abandoned", metadata: ["orders": "\(orders.count)"])
        // One write for all of them: the watcher is back to its poll after a single fsync.
        await record(orders.map { .abandoned(clOrdId: $0.clOrdId, reason: Self.killSwitchReason(file), algo: $0.intent.isAlgo) }, first.intent)
    }

    /// Looks an order up by `clOrdId` once the exchange can no longer take a request sent for it
    /// (``lookupDeadline(_:restartedAt:marginIfUnmeasured:)``, with the offset known at that moment) and journals what
    /// the exchange knows; sends it again only when the exchange has none and the intent is still fresh. While the
    /// exchange does not answer, it asks again with backoff (doubling up to ``maxLookupBackoff``) for as long as it
    /// takes, or ``lookupAttempts`` times. Until the exchange's clock has been measured, "none" is believed only once
    /// the largest offset believed (30 s) has passed too.
    /// - Parameter restartedAt: for an order a previous run left, when this run took the journal over.
    func resolve(_ order: OpenOrder, restartedAt: Date?) async {
        let intent = order.intent
        let metadata: Logger.Metadata = ["clOrdId": "\(intent.clOrdId)", "instId": "\(intent.request.instId)"]
        if laneGaveUp(intent) { return }
        var notBefore = order.ordId == nil ? lookupDeadline(order, restartedAt: restartedAt, marginIfUnmeasured: false) : .distantPast
        var status: OrderStatus?
        while true {
            await pause(seconds: notBefore.timeIntervalSince(clock()))
            guard let answer = await lookUp(intent, metadata: metadata) else { return }
            status = answer.status
            guard status == nil, order.ordId == nil else { break }
            if !clockMeasured.withLock({ $0 }) { await measureClockOffset() }
            let safe = lookupDeadline(order, restartedAt: restartedAt, marginIfUnmeasured: true)
            if clock() >= safe { break }
            logger.notice(
                "not found before its deadline in the exchange's clock (or the clock is not measured); looking it up again then",
                metadata: metadata
            )
            notBefore = safe
        }
        if let status {
            logger.info("order found by clOrdId", metadata: metadata.merging(["state": "\(status.state)"]) { $1 })
            var entries: [JournalEntry] = []
            if order.ordId == nil {
                book.apply(.ack(ordId: status.ordId), to: intent.clOrdId)
                entries.append(.ack(clOrdId: intent.clOrdId, ordId: status.ordId, algo: intent.isAlgo))
            }
            if book.claim(status) { entries.append(.update(status)) }
            if !entries.isEmpty { await record(entries, intent) }
            return
        }
        if order.ordId != nil {
            await abandon(intent, reason: "OKX no longer knows this accepted order (canceled unfilled orders are kept 2 hours)", metadata: metadata)
            return
        }
        let age = clock().timeIntervalSince(order.intentTime)
        if age <= resubmitWindow {
            logger.notice("the exchange never got the order; sending it again with the same clOrdId", metadata: metadata)
            report.withLock { $0.resubmitted += 1 }
            await place(intent, intentTime: order.intentTime, resend: "OKX has no order with this clOrdId after its expTime")
        } else {
            let reason =
                "OKX has no order with this clOrdId and the intent is \(age.wholeSeconds) s old (resubmit window \(resubmitWindow.wholeSeconds) s)"
            await abandon(intent, reason: reason, metadata: metadata)
        }
    }

    /// What a lookup by `clOrdId` found: the order, or nil when the exchange has none.
    private struct LookupAnswer {
        var status: OrderStatus?
    }

    /// Asks the exchange about `intent` until it answers, or ``lookupAttempts`` times: then the lane gives up for
    /// this run, and nil is returned.
    private func lookUp(_ intent: OrderIntent, metadata: Logger.Metadata) async -> LookupAnswer? {
        var attempt = 0
        var delay = Self.seconds(backoff)
        while true {
            // Shutting down (the grace is over): the order stays as the journal has it, for the next start.
            if Task.isCancelled { return nil }
            do {
                return LookupAnswer(status: try await exchange.status(of: intent))
            } catch {
                if Task.isCancelled { return nil }
                attempt += 1
                if let lookupAttempts, attempt >= lookupAttempts {
                    logger.error(
                        "order still unresolved; nothing more of this instrument is done in this run; `signalbridge reconcile` or the next start resolves it",
                        metadata: metadata
                    )
                    givenUpLanes.withLock { _ = $0.insert(intent.request.instId) }
                    report.withLock { $0.unresolved.append(intent.clOrdId) }
                    return nil
                }
                logger.warning(
                    "cannot look the order up yet; later orders of this instrument wait until its outcome is known",
                    metadata: metadata.merging(["attempt": "\(attempt)", "retryInSeconds": "\(delay)", "error": "\(error)"]) { $1 }
                )
                await pause(seconds: delay)
                delay = min(delay * 2, maxLookupBackoff)
            }
        }
    }

    /// `duration` in seconds.
    static func seconds(_ duration: Duration) -> TimeInterval {
        TimeInterval(duration.components.seconds) + TimeInterval(duration.components.attoseconds) / 1e18
    }

    // MARK: - Kill switch

    /// Cancels every resting order of the bridge not canceled yet (`risk.killSwitchCancelsOpenOrders`: called on
    /// every poll while the kill switch is engaged, so an order that comes to rest later, say one found by a lookup,
    /// is canceled too, and a cancel that failed is tried again). The cancellations reach the journal as
    /// `order.update` records, read right after the cancel or through the order feed.
    public func cancelRestingOrders() async {
        let asked = cancelsSent.withLock { $0 }
        for order in book.open where order.isResting && !asked.contains(order.clOrdId) {
            let metadata: Logger.Metadata = ["clOrdId": "\(order.clOrdId)", "instId": "\(order.instId)"]
            do {
                if let algoId = order.ordId, order.intent.isAlgo {
                    // Once triggered it has placed its order: that order is the exchange's, not one the bridge sent.
                    guard order.lifecycle.algo?.state != "effective" else { continue }
                    try await exchange.cancelAlgo(instId: order.instId, algoId: algoId)
                } else {
                    try await exchange.cancel(instId: order.instId, clOrdId: order.clOrdId)
                }
                cancelsSent.withLock { _ = $0.insert(order.clOrdId) }
                logger.notice("kill switch: resting order canceled", metadata: metadata)
                if let status = try? await exchange.status(of: order.intent), book.claim(status) {
                    await record([.update(status)], order.intent)
                }
            } catch {
                logger.error("kill switch: cannot cancel a resting order", metadata: metadata.merging(["error": "\(error)"]) { $1 })
            }
        }
    }

    /// Reads the order once after it was accepted and journals its state when something happened to it.
    func follow(_ intent: OrderIntent) async {
        guard let status = try? await exchange.status(of: intent), book.claim(status) else {
            return
        }
        await record([.update(status)], intent)
    }

    private func waitForRateRoom(_ instId: String) async {
        while !isStopping, !Task.isCancelled {
            let now = clock()
            let wait = rate.withLock { window -> TimeInterval in window.admit(instId, now: now) ? 0 : max(0.01, window.wait(instId, now: now)) }
            if wait == 0 { return }
            await pause(seconds: wait)
        }
    }

    /// Feeds `entries` to the order's lifecycle in the book and journals them, trying again with backoff until they
    /// are durable: what must be on disk before a request is sent, and every outcome, is never skipped (meanwhile the
    /// order counts as unresolved and its lane waits; a journal that cannot write refuses new signals too).
    /// - Returns: what the lifecycle says to do next, after the last entry.
    /// A journal that has failed for good (a failed fsync) is not tried again: the bridge refuses new signals, and
    /// the next start rebuilds the orders from what is on disk; nor, in `signalbridge reconcile`, more than
    /// ``lookupAttempts`` times.
    @discardableResult
    private func record(_ entries: [JournalEntry], _ intent: OrderIntent) async -> OrderLifecycle.Action {
        let action = book.apply(entries)
        guard await !journaled(entries, intent) else { return action }
        markUnresolved(intent.clOrdId)
        defer { clearUnresolved(intent.clOrdId) }
        var delay = Self.seconds(backoff)
        var attempts = 1
        while await journal.isWritable, !Task.isCancelled, attempts < (lookupAttempts ?? .max) {
            await pause(seconds: delay)
            delay = min(delay * 2, maxLookupBackoff)
            if await journaled(entries, intent) { return action }
            attempts += 1
        }
        logger.critical(
            "journal: order records not written; the next start resolves the order from what is on disk",
            metadata: ["clOrdId": "\(intent.clOrdId)"]
        )
        report.withLock { $0.unresolved.append(intent.clOrdId) }
        return action
    }

    /// Journals `entries`; false (and a critical log line) when they could not be made durable.
    @discardableResult
    private func journaled(_ entries: [JournalEntry], _ intent: OrderIntent) async -> Bool {
        do {
            try await journal.append(entries)
            return true
        } catch {
            logger.critical(
                "journal: cannot record an order outcome; `signalbridge reconcile` will resolve it",
                metadata: ["clOrdId": "\(intent.clOrdId)", "error": "\(error)"]
            )
            return false
        }
    }
}
