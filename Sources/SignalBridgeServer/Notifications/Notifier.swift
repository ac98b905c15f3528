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
/// delivery is tried again with backoff (1, 2, 4, 8, 16 s) on no answer, a 5xx or a 429, then given up; every
/// outcome is counted (`signalbridge_notifications_total`), and one given up or dropped (its target's queue holding
/// ``queueLimit`` notices) is logged. Logs name a target by ``NotificationTarget/displayName`` only: chat services'
/// URLs hold their token.
public final class Notifier: Service, Sendable {
    private struct Lane: Sendable {
        let target: NotificationTarget
        let notices: AsyncStream<Notice>
        let continuation: AsyncStream<Notice>.Continuation
    }

    /// How many notices may wait for one target.
    public static let queueLimit = 1000

    private let lanes: [Lane]
    private let orders: Mutex<OrderNotices>
    private let logger: Logger
    private let metrics: BridgeMetrics
    private let httpClient: HTTPClient
    private let backoff: [Duration]
    private let requestTimeout: TimeAmount
    /// When graceful shutdown began.
    private let stoppedAt = Mutex<ContinuousClock.Instant?>(nil)

    /// The process's client for notices: it follows no redirect.
    public static let sharedHTTPClient = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup,
        configuration: HTTPClient.Configuration(redirectConfiguration: .disallow)
    )

    /// - Parameter backoff: the pauses before each further try.
    public init(
        targets: [NotificationTarget],
        logger: Logger,
        metrics: BridgeMetrics,
        httpClient: HTTPClient = Notifier.sharedHTTPClient,
        backoff: [Duration] = [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16)],
        requestTimeout: TimeAmount = .seconds(10)
    ) {
        lanes = targets.map { target in
            let (notices, continuation) = AsyncStream<Notice>.makeStream(bufferingPolicy: .bufferingOldest(Self.queueLimit))
            return Lane(target: target, notices: notices, continuation: continuation)
        }
        orders = Mutex(OrderNotices())
        self.logger = logger
        self.metrics = metrics
        self.httpClient = httpClient
        self.backoff = backoff
        self.requestTimeout = requestTimeout
    }

    /// Queues `notice` for every target that wants its event; returns at once.
    public func notify(_ notice: Notice) {
        for lane in lanes where lane.target.events.contains(notice.event) {
            if case .dropped = lane.continuation.yield(notice) {
                metrics.notification(event: notice.event, outcome: "failed")
                logger.error(
                    "notification dropped: its target's queue is full",
                    metadata: ["target": "\(lane.target.displayName)", "event": "\(notice.event.rawValue)", "notice": "\(notice.id)"]
                )
            }
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

    /// Delivers each target's notices in order until shutdown (a service that returned early would end the group).
    /// Shutdown comes after the executor's, so the notices of the orders it finished are queued by then: each still
    /// queued gets one try, for at most ``shutdownGrace`` in all; the rest are counted as failed and logged.
    public func run() async {
        guard !lanes.isEmpty else {
            try? await gracefulShutdown()
            return
        }
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for lane in lanes {
                    group.addTask { await self.drain(lane) }
                }
            }
        } onGracefulShutdown: {
            self.stoppedAt.withLock { $0 = $0 ?? .now }
            self.lanes.forEach { $0.continuation.finish() }
        }
    }

    /// How long notices still queued at shutdown may take.
    static let shutdownGrace: Duration = .seconds(5)

    private func drain(_ lane: Lane) async {
        var unsent = 0
        for await notice in lane.notices {
            guard let stoppedAt = stoppedAt.withLock({ $0 }) else {
                await deliver(notice, to: lane.target, retrying: true)
                continue
            }
            if ContinuousClock.now - stoppedAt < Self.shutdownGrace {
                await deliver(notice, to: lane.target, retrying: false)
            } else {
                metrics.notification(event: notice.event, outcome: "failed")
                unsent += 1
            }
        }
        if unsent > 0 {
            logger.error(
                "notifications not sent: the bridge is shutting down",
                metadata: ["target": "\(lane.target.displayName)", "count": "\(unsent)"]
            )
        }
    }

    /// Sends `notice` to `target`, trying again (when `retrying`) after each pause of ``backoff`` while it may still
    /// succeed.
    func deliver(_ notice: Notice, to target: NotificationTarget, retrying: Bool) async {
        let body = notice.body(for: target.format)
        var last = ""
        for attempt in 0...(retrying ? backoff.count : 0) {
            if attempt > 0 {
                // Shutdown cuts the pause short, and ends the retries.
                await cancelWhenGracefulShutdown { try? await Task.sleep(for: self.backoff[attempt - 1]) }
                if stoppedAt.withLock({ $0 }) != nil { break }
            }
            var request = HTTPClientRequest(url: target.url.absoluteString)
            request.method = .POST
            for (name, value) in notice.headers(signingKey: target.signingKey, body: body, sentAt: Date()) {
                request.headers.add(name: name, value: value)
            }
            request.body = .bytes(ByteBuffer(bytes: body))
            do {
                let response = try await httpClient.execute(request, timeout: requestTimeout)
                _ = try? await response.body.collect(upTo: 64 << 10)
                let status = response.status.code
                if (200..<300).contains(status) {
                    metrics.notification(event: notice.event, outcome: "sent")
                    return
                }
                last = "HTTP \(status)"
                // A refusal other than 429 will not change by trying again.
                if status < 500, status != 429 { break }
            } catch {
                last = "no answer"
            }
        }
        metrics.notification(event: notice.event, outcome: "failed")
        logger.error(
            "notification not delivered",
            metadata: ["target": "\(target.displayName)", "event": "\(notice.event.rawValue)", "notice": "\(notice.id)", "last": "\(last)"]
        )
    }
}
