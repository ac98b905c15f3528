import Foundation
import Logging
import Synchronization

/// Sends journaled order intents to the exchange, journals each outcome, and resolves every outcome it does not
/// know before anything else is sent for that instrument.
///
/// Orders of one instrument go out one after another in journal order (a close followed by a reverse cannot
/// overtake it); different instruments proceed in parallel. Requests keep to OKX's 60 per 2 s per instrument and
/// carry `expTime`. A request without a clear answer is journaled `order.unknown`; once its `expTime` has passed the
/// order is looked up by `clOrdId`, and only if the exchange has none and the intent is still fresh is it sent again
/// with the same `clOrdId`. Otherwise it ends with `order.abandoned`: nothing is ever re-posted blindly.
public final class OrderExecutor: OrderDispatcher, Sendable {
    /// How long the exchange may hold a request before discarding it (`expTime`).
    public let requestLifetime: TimeInterval
    /// How old an intent may be and still be sent again when the exchange never got it.
    public let resubmitWindow: TimeInterval
    /// How many rate-limited tries before an order is abandoned.
    public let throttleRetries: Int
    /// The pause between rate-limited tries, and between failed lookups.
    public let backoff: Duration
    /// How many orders may wait per instrument; beyond that decisions are blocked.
    public let maxQueuedPerInstrument: Int
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
        case resolve(JournalReplay.OpenOrder, notBefore: Date)
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

    public init(
        exchange: any Exchange,
        journal: Journal,
        logger: Logger,
        book: OpenOrderBook = OpenOrderBook(),
        requestLifetime: TimeInterval = 10,
        resubmitWindow: TimeInterval = 60,
        throttleRetries: Int = 5,
        backoff: Duration = .seconds(2),
        maxQueuedPerInstrument: Int = 200,
        clock: @escaping @Sendable () -> Date = Date.init
    ) {
        self.exchange = exchange
        self.journal = journal
        self.logger = logger
        self.book = book
        self.requestLifetime = requestLifetime
        self.resubmitWindow = resubmitWindow
        self.throttleRetries = throttleRetries
        self.backoff = backoff
        self.maxQueuedPerInstrument = maxQueuedPerInstrument
        self.clock = clock
    }

    // MARK: - Queueing

    /// Queues `intents` (already journaled) for sending, each in its instrument's lane.
    public func submit(_ intents: [OrderIntent]) {
        let now = clock()
        for intent in intents {
            book.track(intent, at: now)
            enqueue(.place(intent, intentTime: now), instId: intent.request.instId)
        }
    }

    /// Whether another order for `instId` may be queued.
    public func hasRoom(for instId: String) -> Bool {
        queued.withLock { ($0[instId] ?? 0) < maxQueuedPerInstrument }
    }

    /// Resolves orders a previous run left without a final record, then returns what was done. Requests of a
    /// previous process cannot outlive `startedAt + requestLifetime`, so orders it left with no answer are looked
    /// up only after that.
    public func reconcile(_ orders: [JournalReplay.OpenOrder], startedAt: Date) async -> Report {
        let before = report.withLock { $0 }
        for order in orders {
            book.track(order.intent, at: order.intentTime, ordId: order.ordId)
            let deadline = order.ordId != nil ? .distantPast : (order.unknownExpiry ?? startedAt.addingTimeInterval(requestLifetime))
            enqueue(.resolve(order, notBefore: deadline.addingTimeInterval(1)), instId: order.intent.request.instId)
        }
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
    func place(_ intent: OrderIntent, intentTime: Date) async {
        var metadata: Logger.Metadata = ["clOrdId": "\(intent.clOrdId)", "instId": "\(intent.request.instId)"]
        for attempt in 0...throttleRetries {
            await waitForRateRoom(intent.request.instId)
            let expiresAt = clock().addingTimeInterval(requestLifetime)
            switch await exchange.place(intent.request, expiresAt: expiresAt) {
            case .accepted(let ordId):
                metadata["ordId"] = "\(ordId)"
                logger.info("order accepted", metadata: metadata)
                book.accepted(intent.clOrdId, ordId: ordId)
                await record([.ack(clOrdId: intent.clOrdId, ordId: ordId)], intent)
                await follow(intent)
                return
            case .rejected(let sCode, let sMsg):
                logger.warning("order rejected", metadata: metadata.merging(["sCode": "\(sCode)", "sMsg": "\(sMsg)"]) { $1 })
                await settle(intent, with: .reject(clOrdId: intent.clOrdId, sCode: sCode, sMsg: sMsg))
                return
            case .unknown(let reason):
                logger.error(
                    "order outcome unknown; it will be looked up after its expTime",
                    metadata: metadata.merging(["error": "\(reason)"]) { $1 }
                )
                await record([.unknown(clOrdId: intent.clOrdId, error: reason, expTime: expiresAt)], intent)
                let order = JournalReplay.OpenOrder(intent: intent, intentTime: intentTime, lastType: .orderUnknown, unknownExpiry: expiresAt)
                await resolve(order, notBefore: expiresAt.addingTimeInterval(1))
                return
            case .notPlaced(let reason):
                logger.warning(
                    "order not placed (rate limit or load); trying again",
                    metadata: metadata.merging(["attempt": "\(attempt + 1)", "reason": "\(reason)"]) { $1 }
                )
                if attempt < throttleRetries { try? await Task.sleep(for: backoff) }
            }
        }
        report.withLock { $0.abandoned += 1 }
        await settle(
            intent,
            with: .abandoned(clOrdId: intent.clOrdId, reason: "OKX refused the request as rate-limited \(throttleRetries + 1) times")
        )
    }

    /// Looks an order up by `clOrdId` (not before `notBefore`) and journals what the exchange knows; sends it again
    /// only when the exchange has none and the intent is still fresh.
    func resolve(_ order: JournalReplay.OpenOrder, notBefore: Date) async {
        let intent = order.intent
        let metadata: Logger.Metadata = ["clOrdId": "\(intent.clOrdId)", "instId": "\(intent.request.instId)"]
        let wait = notBefore.timeIntervalSince(clock())
        await pause(seconds: wait)
        var status: OrderStatus?
        var asked = false
        for attempt in 0..<5 where !asked {
            do {
                status = try await exchange.order(instId: intent.request.instId, clOrdId: intent.clOrdId)
                asked = true
            } catch {
                logger.warning("cannot look the order up yet", metadata: metadata.merging(["attempt": "\(attempt + 1)", "error": "\(error)"]) { $1 })
                try? await Task.sleep(for: backoff)
            }
        }
        guard asked else {
            logger.error("order still unresolved; `signalbridge reconcile` or the next start resolves it", metadata: metadata)
            report.withLock { $0.unresolved.append(intent.clOrdId) }
            return
        }
        if let status {
            logger.info("order found by clOrdId", metadata: metadata.merging(["state": "\(status.state)"]) { $1 })
            var entries: [JournalEntry] = []
            if order.ordId == nil {
                book.accepted(intent.clOrdId, ordId: status.ordId)
                entries.append(.ack(clOrdId: intent.clOrdId, ordId: status.ordId))
            }
            if book.record(status) || status.isFinal { entries.append(.update(status)) }
            if !entries.isEmpty { await record(entries, intent) }
            return
        }
        if order.ordId != nil {
            report.withLock { $0.abandoned += 1 }
            await settle(
                intent,
                with: .abandoned(
                    clOrdId: intent.clOrdId,
                    reason: "OKX no longer knows this accepted order (canceled unfilled orders are kept 2 hours)"
                )
            )
            return
        }
        let age = clock().timeIntervalSince(order.intentTime)
        if age <= resubmitWindow {
            logger.notice("the exchange never got the order; sending it again with the same clOrdId", metadata: metadata)
            report.withLock { $0.resubmitted += 1 }
            await place(intent, intentTime: order.intentTime)
        } else {
            report.withLock { $0.abandoned += 1 }
            let reason =
                "OKX has no order with this clOrdId and the intent is \(age.wholeSeconds) s old (resubmit window \(resubmitWindow.wholeSeconds) s)"
            logger.warning("order abandoned", metadata: metadata.merging(["reason": "\(reason)"]) { $1 })
            await settle(intent, with: .abandoned(clOrdId: intent.clOrdId, reason: reason))
        }
    }

    /// Reads the order once after it was accepted and journals its state when something happened to it.
    func follow(_ intent: OrderIntent) async {
        guard let status = try? await exchange.order(instId: intent.request.instId, clOrdId: intent.clOrdId), book.record(status) else {
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

    private func settle(_ intent: OrderIntent, with entry: JournalEntry) async {
        book.settle(intent.clOrdId)
        await record([entry], intent)
    }

    private func record(_ entries: [JournalEntry], _ intent: OrderIntent) async {
        do {
            try await journal.append(entries)
        } catch {
            logger.critical(
                "journal: cannot record an order outcome; `signalbridge reconcile` will resolve it",
                metadata: ["clOrdId": "\(intent.clOrdId)", "error": "\(error)"]
            )
        }
    }
}
