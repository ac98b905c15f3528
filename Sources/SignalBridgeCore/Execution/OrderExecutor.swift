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
        case resolve(OpenOrder, notBefore: Date)
    }

    private let exchange: any Exchange
    private let journal: Journal
    private let logger: Logger
    private let clock: @Sendable () -> Date
    private let lanes = Mutex<[String: AsyncStream<Work>.Continuation]>([:])
    private let queued = Mutex<[String: Int]>([:])
    private let idleWaiters = Mutex<[CheckedContinuation<Void, Never>]>([])
    private let rate = Mutex(RateWindow(limit: 60, window: 2))
    private let report = Mutex(Report())
    /// The exchange's clock minus ours, measured from its time at start and every minute.
    private let clockOffset = Mutex<TimeInterval>(0)
    /// Orders whose outcome is unknown and that are being looked up now.
    private let unresolved = Mutex<Set<String>>([])
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
        self.clock = clock
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

    // MARK: - Queueing

    /// Queues `intents` (already journaled) for sending, each in its instrument's lane.
    public func submit(_ intents: [OrderIntent]) {
        let now = clock()
        for intent in intents {
            book.track(OpenOrder(intent: intent, intentTime: now))
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
        let startDeadline = startedAt.addingTimeInterval(exchangeClockOffset + requestLifetime)
        for order in orders {
            book.track(order)
            // An acknowledged order is followed at once; any other may still be taken until its deadline.
            let deadline = order.ordId != nil ? .distantPast : max(order.lifecycle.latestExpTime ?? .distantPast, startDeadline)
            enqueue(.resolve(order, notBefore: localTime(ofExchangeTime: deadline).addingTimeInterval(1)), instId: order.instId)
        }
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

    private func enqueue(_ work: Work, instId: String) {
        queued.withLock { $0[instId, default: 0] += 1 }
        lane(for: instId).yield(work)
    }

    private func lane(for instId: String) -> AsyncStream<Work>.Continuation {
        lanes.withLock { lanes in
            if let lane = lanes[instId] { return lane }
            let (stream, continuation) = AsyncStream<Work>.makeStream()
            lanes[instId] = continuation
            Task {
                for await work in stream {
                    switch work {
                    case .place(let intent, let time): await self.place(intent, intentTime: time)
                    case .resolve(let order, let notBefore): await self.resolve(order, notBefore: notBefore)
                    }
                    self.finished(instId)
                }
            }
            return continuation
        }
    }

    private func finished(_ instId: String) {
        let waiters = queued.withLock { counts -> [CheckedContinuation<Void, Never>] in
            counts[instId, default: 1] -= 1
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
        var retryReason = resend
        let age = clock().timeIntervalSince(intentTime)
        if resend == nil, age > maxQueueAge {
            // It waited too long behind an outage or a queue: a signal this old is no longer one to trade on.
            report.withLock { $0.abandoned += 1 }
            let reason = "the intent waited \(age.wholeSeconds) s to be sent (at most \(maxQueueAge.wholeSeconds) s); not sent"
            logger.warning("order abandoned", metadata: metadata.merging(["reason": "\(reason)"]) { $1 })
            await record([.abandoned(clOrdId: intent.clOrdId, reason: reason)], intent)
            return
        }
        for attempt in 0...throttleRetries {
            // Asked before and after the wait for rate room, so that queued orders end at once when it is engaged.
            if !killSwitch.isEngaged { await waitForRateRoom(intent.request.instId) }
            if await abandonedByKillSwitch(intent, metadata: metadata) { return }
            var expiresAt = exchangeNow().addingTimeInterval(requestLifetime)
            if let reason = retryReason {
                // Journaled before it is sent, so that after a crash the deadline of this request is known: the
                // journaled deadline allows a second for the fsync, and the request never carries a later one.
                let journaled = expiresAt.addingTimeInterval(1)
                await recordUntilDurable([.retry(clOrdId: intent.clOrdId, attempt: attempt + 1, expTime: journaled, reason: reason)], intent)
                expiresAt = min(journaled, exchangeNow().addingTimeInterval(requestLifetime))
                // The fsync may have taken a while: the kill switch is asked again right before the request, and
                // a request that would reach the exchange expired is not sent but journaled again, with a new expTime.
                if await abandonedByKillSwitch(intent, metadata: metadata) { return }
                guard expiresAt.timeIntervalSince(exchangeNow()) >= Self.minimumRequestLifetime else {
                    logger.warning("the journal took too long to record the retry; it is journaled again", metadata: metadata)
                    continue
                }
            }
            switch await exchange.place(intent.request, expiresAt: expiresAt) {
            case .accepted(let ordId):
                metadata["ordId"] = "\(ordId)"
                logger.info("order accepted", metadata: metadata)
                await record([.ack(clOrdId: intent.clOrdId, ordId: ordId)], intent)
                await follow(intent)
                return
            case .rejected(let sCode, let sMsg):
                logger.warning("order rejected", metadata: metadata.merging(["sCode": "\(sCode)", "sMsg": "\(sMsg)"]) { $1 })
                await record([.reject(clOrdId: intent.clOrdId, sCode: sCode, sMsg: sMsg)], intent)
                return
            case .unknown(let reason):
                logger.error(
                    "order outcome unknown; it will be looked up after its expTime",
                    metadata: metadata.merging(["error": "\(reason)"]) { $1 }
                )
                // The lifecycle says when: once no request sent for it can still be taken.
                guard case .lookUp(let notBefore) = await record([.unknown(clOrdId: intent.clOrdId, error: reason, expTime: expiresAt)], intent),
                    let order = book.order(intent.clOrdId)
                else { return }
                await resolve(order, notBefore: localTime(ofExchangeTime: notBefore ?? expiresAt).addingTimeInterval(1))
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
        report.withLock { $0.abandoned += 1 }
        let reason = "OKX refused the request as rate-limited \(throttleRetries + 1) times"
        await record([.abandoned(clOrdId: intent.clOrdId, reason: reason)], intent)
    }

    /// Ends `intent` with `order.abandoned` when the kill switch is engaged now; whether it did.
    private func abandonedByKillSwitch(_ intent: OrderIntent, metadata: Logger.Metadata) async -> Bool {
        guard let file = killSwitch.engagedFile() else { return false }
        report.withLock { $0.abandoned += 1 }
        logger.warning("kill switch engaged; order not sent", metadata: metadata)
        await record([.abandoned(clOrdId: intent.clOrdId, reason: "kill switch engaged (\(file) exists); not sent")], intent)
        return true
    }

    /// Looks an order up by `clOrdId` (not before `notBefore`) and journals what the exchange knows; sends it again
    /// only when the exchange has none and the intent is still fresh. While the exchange does not answer, it asks
    /// again with backoff (doubling up to ``maxLookupBackoff``) for as long as it takes, or ``lookupAttempts`` times.
    func resolve(_ order: OpenOrder, notBefore: Date) async {
        let intent = order.intent
        let metadata: Logger.Metadata = ["clOrdId": "\(intent.clOrdId)", "instId": "\(intent.request.instId)"]
        unresolved.withLock { _ = $0.insert(intent.clOrdId) }
        defer { unresolved.withLock { _ = $0.remove(intent.clOrdId) } }
        await pause(seconds: notBefore.timeIntervalSince(clock()))
        var status: OrderStatus?
        var attempt = 0
        var delay = Self.seconds(backoff)
        while true {
            do {
                status = try await exchange.order(instId: intent.request.instId, clOrdId: intent.clOrdId)
                break
            } catch {
                attempt += 1
                if let lookupAttempts, attempt >= lookupAttempts {
                    logger.error("order still unresolved; `signalbridge reconcile` or the next start resolves it", metadata: metadata)
                    report.withLock { $0.unresolved.append(intent.clOrdId) }
                    return
                }
                logger.warning(
                    "cannot look the order up yet; later orders of this instrument wait until its outcome is known",
                    metadata: metadata.merging(["attempt": "\(attempt)", "retryInSeconds": "\(delay)", "error": "\(error)"]) { $1 }
                )
                await pause(seconds: delay)
                delay = min(delay * 2, maxLookupBackoff)
            }
        }
        if let status {
            logger.info("order found by clOrdId", metadata: metadata.merging(["state": "\(status.state)"]) { $1 })
            var entries: [JournalEntry] = []
            if order.ordId == nil {
                book.apply(.ack(ordId: status.ordId), to: intent.clOrdId)
                entries.append(.ack(clOrdId: intent.clOrdId, ordId: status.ordId))
            }
            if book.claim(status) || status.isFinal { entries.append(.update(status)) }
            if !entries.isEmpty { await record(entries, intent) }
            return
        }
        if order.ordId != nil {
            report.withLock { $0.abandoned += 1 }
            let reason = "OKX no longer knows this accepted order (canceled unfilled orders are kept 2 hours)"
            await record([.abandoned(clOrdId: intent.clOrdId, reason: reason)], intent)
            return
        }
        let age = clock().timeIntervalSince(order.intentTime)
        if age <= resubmitWindow {
            logger.notice("the exchange never got the order; sending it again with the same clOrdId", metadata: metadata)
            report.withLock { $0.resubmitted += 1 }
            await place(intent, intentTime: order.intentTime, resend: "OKX has no order with this clOrdId after its expTime")
        } else {
            report.withLock { $0.abandoned += 1 }
            let reason =
                "OKX has no order with this clOrdId and the intent is \(age.wholeSeconds) s old (resubmit window \(resubmitWindow.wholeSeconds) s)"
            logger.warning("order abandoned", metadata: metadata.merging(["reason": "\(reason)"]) { $1 })
            await record([.abandoned(clOrdId: intent.clOrdId, reason: reason)], intent)
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
                try await exchange.cancel(instId: order.instId, clOrdId: order.clOrdId)
                cancelsSent.withLock { _ = $0.insert(order.clOrdId) }
                logger.notice("kill switch: resting order canceled", metadata: metadata)
                if let status = try? await exchange.order(instId: order.instId, clOrdId: order.clOrdId), book.claim(status) {
                    await record([.update(status)], order.intent)
                }
            } catch {
                logger.error("kill switch: cannot cancel a resting order", metadata: metadata.merging(["error": "\(error)"]) { $1 })
            }
        }
    }

    /// Reads the order once after it was accepted and journals its state when something happened to it.
    func follow(_ intent: OrderIntent) async {
        guard let status = try? await exchange.order(instId: intent.request.instId, clOrdId: intent.clOrdId), book.claim(status) else {
            return
        }
        await record([.update(status)], intent)
    }

    private func waitForRateRoom(_ instId: String) async {
        while true {
            let now = clock()
            let wait = rate.withLock { window -> TimeInterval in window.admit(instId, now: now) ? 0 : max(0.01, window.wait(instId, now: now)) }
            if wait == 0 { return }
            await pause(seconds: wait)
        }
    }

    /// Journals `entries`, trying again with backoff until they are durable: what must be on disk before a request
    /// is sent is never skipped. Meanwhile the order counts as unresolved (its lane waits).
    private func recordUntilDurable(_ entries: [JournalEntry], _ intent: OrderIntent) async {
        book.apply(entries)
        var delay = Self.seconds(backoff)
        while await !journaled(entries, intent) {
            unresolved.withLock { _ = $0.insert(intent.clOrdId) }
            await pause(seconds: delay)
            delay = min(delay * 2, maxLookupBackoff)
        }
        unresolved.withLock { _ = $0.remove(intent.clOrdId) }
    }

    /// Feeds `entries` to the order's lifecycle in the book and journals them (a critical log line when they could
    /// not be made durable: the book follows what this process knows, and reconciling repairs the journal).
    /// - Returns: what the lifecycle says to do next, after the last entry.
    @discardableResult
    private func record(_ entries: [JournalEntry], _ intent: OrderIntent) async -> OrderLifecycle.Action {
        let action = book.apply(entries)
        await journaled(entries, intent)
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
