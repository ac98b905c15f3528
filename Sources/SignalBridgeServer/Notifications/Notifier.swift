import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import SignalBridgeCore
import Synchronization

/// Sends notices to the configured targets (`notifications[]`) without ever holding up execution: ``notify(_:)`` only
/// queues, and each target has a queue and a sender of its own, so a slow or dead target delays nobody else. A
/// delivery is tried again with backoff (1, 2, 4, 8, 16 s) on no answer within ``requestTimeout`` (the whole answer,
/// body included), a 5xx or a 429, then given up; every outcome is counted (`signalbridge_notifications_total`), and
/// one given up or left unsent at the end is logged, as is the first of every hundred dropped (its target's queue
/// holding ``queueLimit`` notices).
/// Logs name a target by ``NotificationTarget/displayName`` only: chat services' URLs hold their token.
///
/// It runs as a service of `serve` (graceful shutdown stops it), or by hand, as `reconcile` does: ``run()``, then
/// ``stop()`` once nothing more is journaled. Either way, once stopped, what is still queued gets one try each, all
/// within ``shutdownGrace``; whatever is left then is counted as failed and logged.
public final class Notifier: Service, Sendable {
    private final class Lane: Sendable {
        let target: NotificationTarget
        let notices: AsyncStream<Notice>
        let continuation: AsyncStream<Notice>.Continuation
        /// Notices queued and not yet tried, by event.
        let waiting = Mutex<[NotificationEvent: Int]>([:])
        /// Notices not queued: the queue full, or the notifier stopped.
        let refused = Atomic<Int>(0)

        init(target: NotificationTarget) {
            self.target = target
            (notices, continuation) = AsyncStream<Notice>.makeStream(bufferingPolicy: .bufferingOldest(Notifier.queueLimit))
        }

        /// A notice of `event` was taken from the queue and tried.
        func tried(_ event: NotificationEvent) {
            waiting.withLock { $0[event, default: 0] -= 1 }
        }

        /// Queues `notice`, counting it as waiting in the same step (so that the count at the end is exact).
        func queue(_ notice: Notice) -> AsyncStream<Notice>.Continuation.YieldResult {
            waiting.withLock { waiting in
                let result = continuation.yield(notice)
                if case .enqueued = result { waiting[notice.event, default: 0] += 1 }
                return result
            }
        }

        /// Takes what is still counted as waiting (once: at the end).
        func takeWaiting() -> [NotificationEvent: Int] {
            waiting.withLock { waiting in
                defer { waiting = [:] }
                return waiting.filter { $0.value > 0 }
            }
        }
    }

    /// How many notices may wait for one target.
    public static let queueLimit = 1000
    /// How long notices still queued at ``stop()`` may take, in all.
    public static let shutdownGrace: Duration = .seconds(5)

    private let lanes: [Lane]
    private let orders: Mutex<OrderNotices>
    private let logger: Logger
    private let metrics: BridgeMetrics
    private let httpClient: HTTPClient
    private let backoff: [Duration]
    /// How long one try may take, from connecting to the end of the answer's body.
    public let requestTimeout: Duration
    private let shutdownGrace: Duration
    /// Opened by ``stop()``: ends the pauses between tries, and starts the grace.
    private let stopped = Latch()
    private let running = Atomic<Bool>(false)
    /// Most a try reads of an answer's body.
    static let answerLimit = 64 << 10

    /// The process's client for notices: it follows no redirect.
    public static let sharedHTTPClient = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup,
        configuration: HTTPClient.Configuration(redirectConfiguration: .disallow)
    )

    /// - Parameters:
    ///   - backoff: the pauses before each further try.
    ///   - shutdownGrace: how long what is queued at ``stop()`` may take (tests shorten it).
    public init(
        targets: [NotificationTarget],
        logger: Logger,
        metrics: BridgeMetrics,
        httpClient: HTTPClient = Notifier.sharedHTTPClient,
        backoff: [Duration] = [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16)],
        requestTimeout: Duration = .seconds(10),
        shutdownGrace: Duration = Notifier.shutdownGrace
    ) {
        lanes = targets.map(Lane.init(target:))
        orders = Mutex(OrderNotices())
        self.logger = logger
        self.metrics = metrics
        self.httpClient = httpClient
        self.backoff = backoff
        self.requestTimeout = requestTimeout
        self.shutdownGrace = shutdownGrace
    }

    /// Queues `notice` for every target that wants its event; returns at once.
    public func notify(_ notice: Notice) {
        for lane in lanes where lane.target.events.contains(notice.event) {
            let reason: String
            switch lane.queue(notice) {
            case .enqueued: continue
            case .dropped: reason = "notification dropped: its target's queue is full"
            case .terminated: reason = "notification not sent: the bridge is shutting down"
            @unknown default: reason = "notification not queued"
            }
            metrics.notification(event: notice.event, outcome: "failed")
            // This runs as records are journaled: a flood is logged once in a hundred, with the count so far (and
            // the total when the notifier stops).
            let refused = lane.refused.add(1, ordering: .relaxed).newValue
            guard refused % 100 == 1 else { continue }
            logger.error(
                "\(reason)",
                metadata: [
                    "target": "\(lane.target.displayName)", "event": "\(notice.event.rawValue)", "notice": "\(notice.id)",
                    "notQueuedSoFar": "\(refused)",
                ]
            )
        }
    }

    /// Remembers the orders a previous run left open, so that their notices name the instrument and side.
    public func remember(open intents: [OrderIntent]) {
        orders.withLock { $0.remember(intents) }
    }

    /// The notices of records just made durable (the journal calls this).
    public func journaled(_ entries: [JournalEntry]) {
        guard !lanes.isEmpty else { return }
        let now = Date()
        for notice in orders.withLock({ $0.notices(for: entries, at: now) }) { notify(notice) }
    }

    /// Delivers each target's notices in order until ``stop()`` (or graceful shutdown), then what is still queued,
    /// within ``shutdownGrace``: a sender still busy then is cut off. A service that returned early would end the
    /// group, so this returns only once stopped (or cancelled). In `serve` its shutdown comes after the executor's,
    /// so the notices of the orders the executor finished are queued by then.
    public func run() async {
        // One consumer per queue: a second call only waits for the stop (a service that returned would end the group).
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else {
            await withGracefulShutdownHandler {
                await stopped.wait()
            } onGracefulShutdown: {
                self.stop()
            }
            return
        }
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    await self.stopped.wait()
                    guard !self.lanes.isEmpty else { return }
                    try? await Task.sleep(for: self.shutdownGrace)
                }
                if !lanes.isEmpty {
                    group.addTask {
                        await withDiscardingTaskGroup { senders in
                            for lane in self.lanes { senders.addTask { await self.drain(lane) } }
                        }
                    }
                }
                // The senders ended (the grace is then cut short), or the grace is over and they are cut off.
                await group.next()
                group.cancelAll()
            }
            for lane in lanes { reportUnsent(lane) }
        } onGracefulShutdown: {
            self.stop()
        }
    }

    /// Ends the queues: what they hold is still tried once each, within ``shutdownGrace``; a pause before a retry
    /// ends at once (that notice is given up). ``run()`` returns then.
    public func stop() {
        guard !stopped.isOpen else { return }
        lanes.forEach { $0.continuation.finish() }
        stopped.open()
    }

    private func drain(_ lane: Lane) async {
        for await notice in lane.notices {
            if Task.isCancelled { break }
            await deliver(notice, to: lane.target, retrying: !stopped.isOpen)
            lane.tried(notice.event)
        }
    }

    /// Counts and logs what `lane` still held when its sender ended, and how many notices it could not queue.
    private func reportUnsent(_ lane: Lane) {
        let waiting = lane.takeWaiting()
        for (event, count) in waiting {
            for _ in 0..<count { metrics.notification(event: event, outcome: "failed") }
        }
        let refused = lane.refused.load(ordering: .relaxed)
        guard !waiting.isEmpty || refused > 0 else { return }
        logger.error(
            "notifications not sent in this run",
            metadata: [
                "target": "\(lane.target.displayName)", "leftQueuedAtStop": "\(waiting.values.reduce(0, +))", "notQueuedInThisRun": "\(refused)",
            ]
        )
    }

    /// Sends `notice` to `target`, trying again (when `retrying`) after each pause of ``backoff`` while it may still
    /// succeed and the notifier is not stopping.
    func deliver(_ notice: Notice, to target: NotificationTarget, retrying: Bool) async {
        let body = notice.body(for: target.format)
        var last = ""
        for attempt in 0...(retrying ? backoff.count : 0) {
            if attempt > 0 {
                // Stopping cuts the pause short, and ends the retries.
                _ = await withDeadline(backoff[attempt - 1]) { await self.stopped.wait() }
                if stopped.isOpen || Task.isCancelled { break }
            }
            var request = HTTPClientRequest(url: target.url.absoluteString)
            request.method = .POST
            for (name, value) in notice.headers(signingKey: target.signingKey, body: body, sentAt: Date()) {
                request.headers.add(name: name, value: value)
            }
            request.body = .bytes(ByteBuffer(bytes: body))
            // The client's timeout ends with the answer's head; a receiver that then stalls is cut off here.
            let status = await withDeadline(requestTimeout) { [httpClient, requestTimeout, request] () -> UInt? in
                do {
                    let response = try await httpClient.execute(request, timeout: TimeAmount(requestTimeout))
                    // Delivered only once the answer is in (up to its first 64 KiB): one cut off at the deadline is none.
                    var read = 0
                    for try await chunk in response.body {
                        read += chunk.readableBytes
                        if read > Self.answerLimit { break }
                    }
                    return response.status.code
                } catch {
                    return nil
                }
            }
            guard let status = status ?? nil else {
                last = Task.isCancelled ? "cut off: the bridge is shutting down" : "no answer within \(requestTimeout)"
                continue
            }
            if (200..<300).contains(status) {
                metrics.notification(event: notice.event, outcome: "sent")
                return
            }
            last = "HTTP \(status)"
            // A refusal other than 429 will not change by trying again.
            if status < 500, status != 429 { break }
        }
        metrics.notification(event: notice.event, outcome: "failed")
        logger.error(
            "notification not delivered",
            metadata: ["target": "\(target.displayName)", "event": "\(notice.event.rawValue)", "notice": "\(notice.id)", "last": "\(last)"]
        )
    }
}
