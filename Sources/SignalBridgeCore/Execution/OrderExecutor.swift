import Foundation
import Logging
import Synchronization

/// Sends journaled order intents to the exchange and journals each outcome.
///
/// Orders of one instrument go out one after another in journal order (a close followed by a reverse cannot
/// overtake it); different instruments proceed in parallel. Every request carries `expTime`; a request without
/// a clear answer is journaled `order.unknown` and left to the ``Reconciler`` — it is never re-posted blindly.
public final class OrderExecutor: OrderDispatcher, Sendable {
    /// How long the exchange may hold a request before discarding it (`expTime`).
    public let requestLifetime: TimeInterval
    /// How often a rate-limited request is tried again before it is abandoned.
    public let throttleRetries: Int
    /// The pause between throttled tries (one OKX rate-limit window).
    public let throttleBackoff: Duration

    private let exchange: any Exchange
    private let journal: Journal
    private let logger: Logger
    private let clock: @Sendable () -> Date
    private let lanes = Mutex<[String: AsyncStream<OrderIntent>.Continuation]>([:])
    private let inFlight = Mutex(0)
    private let idleWaiters = Mutex<[CheckedContinuation<Void, Never>]>([])

    public init(
        exchange: any Exchange,
        journal: Journal,
        logger: Logger,
        requestLifetime: TimeInterval = 10,
        throttleRetries: Int = 5,
        throttleBackoff: Duration = .seconds(2),
        clock: @escaping @Sendable () -> Date = Date.init
    ) {
        self.exchange = exchange
        self.journal = journal
        self.logger = logger
        self.requestLifetime = requestLifetime
        self.throttleRetries = throttleRetries
        self.throttleBackoff = throttleBackoff
        self.clock = clock
    }

    public func submit(_ intents: [OrderIntent]) {
        guard !intents.isEmpty else { return }
        inFlight.withLock { $0 += intents.count }
        for intent in intents {
            lane(for: intent.request.instId).yield(intent)
        }
    }

    /// Returns once every submitted intent has its outcome journaled (for tests and `reconcile`).
    public func waitUntilIdle() async {
        await withCheckedContinuation { continuation in
            let idle = inFlight.withLock { count in
                if count == 0 { return true }
                idleWaiters.withLock { $0.append(continuation) }
                return false
            }
            if idle { continuation.resume() }
        }
    }

    private func lane(for instId: String) -> AsyncStream<OrderIntent>.Continuation {
        lanes.withLock { lanes in
            if let lane = lanes[instId] { return lane }
            let (stream, continuation) = AsyncStream<OrderIntent>.makeStream()
            lanes[instId] = continuation
            Task {
                for await intent in stream {
                    await self.execute(intent)
                    self.finished()
                }
            }
            return continuation
        }
    }

    private func finished() {
        let waiters = inFlight.withLock { count -> [CheckedContinuation<Void, Never>] in
            count -= 1
            guard count == 0 else { return [] }
            return idleWaiters.withLock { waiters in
                defer { waiters = [] }
                return waiters
            }
        }
        waiters.forEach { $0.resume() }
    }

    /// Places one intent and journals what happened.
    func execute(_ intent: OrderIntent) async {
        var metadata: Logger.Metadata = ["clOrdId": "\(intent.clOrdId)", "instId": "\(intent.request.instId)"]
        for attempt in 0...throttleRetries {
            let expiresAt = clock().addingTimeInterval(requestLifetime)
            let outcome = await exchange.place(intent.request, expiresAt: expiresAt)
            switch outcome {
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
                logger.error("order outcome unknown; the reconciler will query it", metadata: metadata.merging(["error": "\(reason)"]) { $1 })
                await record([.unknown(clOrdId: intent.clOrdId, error: reason, expTime: expiresAt)], intent)
                return
            case .notPlaced(let reason):
                logger.warning("order throttled; trying again", metadata: metadata.merging(["attempt": "\(attempt + 1)", "reason": "\(reason)"]) { $1 })
                if attempt < throttleRetries { try? await Task.sleep(for: throttleBackoff) }
            }
        }
        await record([.abandoned(clOrdId: intent.clOrdId, reason: "OKX refused the request as rate-limited or busy \(throttleRetries + 1) times")], intent)
    }

    /// Reads the order once after it was accepted and journals its state when something happened to it.
    func follow(_ intent: OrderIntent) async {
        guard let status = try? await exchange.order(instId: intent.request.instId, clOrdId: intent.clOrdId), status.state != "live" else {
            return
        }
        await record([.update(status)], intent)
    }

    private func record(_ entries: [JournalEntry], _ intent: OrderIntent) async {
        do {
            try await journal.append(entries)
        } catch {
            logger.critical(
                "journal: cannot record an order outcome; `signalbridge reconcile` will resolve it",
                metadata: ["clOrdId": "\(intent.clOrdId)", "error": "\(error)"])
        }
    }
}
