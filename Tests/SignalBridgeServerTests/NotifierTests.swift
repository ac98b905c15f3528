import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import TestSupport
import Testing

@testable import SignalBridgeCore
@testable import SignalBridgeServer

/// The notifier against a real receiver: signed json notices, retries after a 5xx, no retry after a 4xx, counts.
@Suite(.timeLimit(.minutes(1))) struct NotifierTests {
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    struct Received: Sendable {
        var path: String
        var headers: [(String, String)]
        var body: [UInt8]
    }

    final class Inbox: Sendable {
        let received = Mutex<[Received]>([])
        var all: [Received] { received.withLock { $0 } }
    }

    /// A receiver: `/ok` takes everything, `/flaky` answers 500 to its first request, `/gone` always 404, `/down`
    /// always 500.
    static func receiver(_ inbox: Inbox) -> some ApplicationProtocol {
        let router = Router()
        let flakyCalls = Mutex(0)
        for path in ["/ok", "/flaky", "/gone", "/down"] {
            router.post(RouterPath(path)) { request, _ -> Response in
                let body = Array(try await request.body.collect(upTo: 1 << 16).readableBytesView)
                inbox.received.withLock { $0.append(Received(path: path, headers: request.headers.map { ($0.name.rawName, $0.value) }, body: body)) }
                if path == "/gone" { return Response(status: .notFound) }
                if path == "/down" { return Response(status: .internalServerError) }
                if path == "/flaky",
                    flakyCalls.withLock({ calls in
                        calls += 1
                        return calls == 1
                    })
                {
                    return Response(status: .internalServerError)
                }
                return Response(status: .ok)
            }
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    static func target(_ port: Int, _ path: String, format: NotificationTarget.Format, key: Secret? = nil) -> NotificationTarget {
        NotificationTarget(
            url: URL(string: "http://127.0.0.1:\(port)\(path)")!,
            format: format,
            events: Set(NotificationEvent.allCases),
            signingKey: key,
            displayName: path
        )
    }

    @Test func noticesAreSignedRetriedAfterA5xxAndCountedWhenGivenUp() async throws {
        let inbox = Inbox()
        let metrics = PrometheusMetrics()
        let key = try #require(StandardWebhooksAuth.key(fromSecret: Secret(Self.secret)))
        try await Self.receiver(inbox).test(.live) { client in
            let port = try #require(client.port)
            let notifier = Notifier(
                targets: [
                    Self.target(port, "/ok", format: .json, key: key), Self.target(port, "/flaky", format: .slack),
                    Self.target(port, "/gone", format: .discord),
                ],
                logger: Logger(label: "test"),
                metrics: metrics.metrics,
                backoff: [.milliseconds(20), .milliseconds(20)]
            )
            let running = Task { await notifier.run() }
            let status = OrderStatus(
                ordId: "7",
                clOrdId: "sb1",
                instId: "BTC-USDT",
                state: "filled",
                accFillSz: Decimal(string: "0.001")!,
                avgPx: 60000,
                fee: 0,
                feeCcy: "BTC"
            )
            let intent = JournalEntry(
                .orderIntent,
                [("clOrdId", .string("sb1")), ("request", .object(JSONObject([("instId", .string("BTC-USDT")), ("side", .string("buy"))])))]
            )
            notifier.journaled([intent])
            notifier.journaled([.update(status)])
            let delivered = await ExactlyOnceOutageTests.eventually {
                let samples = MetricsTests.samples(metrics)
                return samples[#"signalbridge_notifications_total{event="order.filled",outcome="sent"}"#] == 2
                    && samples[#"signalbridge_notifications_total{event="order.filled",outcome="failed"}"#] == 1
            }
            #expect(delivered, "\(MetricsTests.samples(metrics))")
            running.cancel()
        }
        let all = inbox.all
        // /flaky answered 500 once and got it again; /gone answered 404 and was not asked again.
        #expect(all.map(\.path).sorted() == ["/flaky", "/flaky", "/gone", "/ok"])
        let signed = try #require(all.first { $0.path == "/ok" })
        var request = InboundRequest(
            sourceName: "n",
            headers: signed.headers.map { (name: $0.0, value: $0.1) },
            body: signed.body,
            remoteAddress: nil
        )
        request.receivedAt = Date()
        #expect(throws: Never.self) { try InboundAuth.standardWebhooks(StandardWebhooksAuth(key: key, toleranceSeconds: 60)).verify(request) { nil } }
        #expect(String(decoding: signed.body, as: UTF8.self).hasPrefix(#"{"type":"order.filled","#))
        #expect(String(decoding: all.first { $0.path == "/flaky" }!.body, as: UTF8.self).contains("BTC-USDT buy filled: 0.001 at 60000"))
    }

    final class Calls: Sendable {
        private let count = Atomic(0)
        @discardableResult func add() -> Int { count.add(1, ordering: .relaxed).newValue }
        var value: Int { count.load(ordering: .relaxed) }
    }

    /// A receiver whose first answer is `200` with the head of a body and then nothing more until `gate` opens;
    /// later answers are whole.
    static func stallingReceiver(_ gate: Latch, calls: Calls) -> some ApplicationProtocol {
        let router = Router()
        router.post("/stall") { _, _ -> Response in
            let first = calls.add() == 1
            return Response(
                status: .ok,
                body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: "{"))
                    if first { await gate.wait() }
                    try await writer.write(ByteBuffer(string: "}"))
                    try await writer.finish(nil)
                }
            )
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    static func fill(_ clOrdId: String) -> [JournalEntry] {
        [
            JournalEntry(
                .orderIntent,
                [("clOrdId", .string(clOrdId)), ("request", .object(JSONObject([("instId", .string("BTC-USDT")), ("side", .string("buy"))])))]
            ),
            .update(
                OrderStatus(ordId: "7", clOrdId: clOrdId, instId: "BTC-USDT", state: "filled", accFillSz: 1, avgPx: 60000, fee: -1, feeCcy: "USDT")
            ),
        ]
    }

    /// A receiver that sends the head of its answer and then stalls is cut off after the request timeout: its queue
    /// goes on to the next notice, which is sent.
    @Test func aReceiverThatStallsAfterItsHeadersIsCutOff() async throws {
        let gate = Latch()
        let calls = Calls()
        let metrics = PrometheusMetrics()
        try await Self.stallingReceiver(gate, calls: calls).test(.live) { client in
            let port = try #require(client.port)
            let key = try #require(StandardWebhooksAuth.key(fromSecret: Secret(Self.secret)))
            let notifier = Notifier(
                targets: [Self.target(port, "/stall", format: .json, key: key)],
                logger: Logger(label: "test"),
                metrics: metrics.metrics,
                backoff: [],
                requestTimeout: .seconds(1)
            )
            let running = Task { await notifier.run() }
            notifier.journaled(Self.fill("sb1"))
            notifier.journaled(Self.fill("sb2"))
            let cutOff = await ExactlyOnceOutageTests.eventually {
                let samples = MetricsTests.samples(metrics)
                return samples[#"signalbridge_notifications_total{event="order.filled",outcome="failed"}"#] == 1
                    && samples[#"signalbridge_notifications_total{event="order.filled",outcome="sent"}"#] == 1
            }
            #expect(cutOff, "\(MetricsTests.samples(metrics))")
            #expect(calls.value == 2)
            notifier.stop()
            await running.value
            gate.open()
        }
    }

    /// Stopping ends a pause before a retry at once: the notice paused is given up, the next one still gets its
    /// try.
    @Test func stoppingEndsAPauseAndTheQueueGetsItsTries() async throws {
        let inbox = Inbox()
        let metrics = PrometheusMetrics()
        try await Self.receiver(inbox).test(.live) { client in
            let port = try #require(client.port)
            let notifier = Notifier(
                targets: [Self.target(port, "/down", format: .slack)],
                logger: Logger(label: "test"),
                metrics: metrics.metrics,
                backoff: [.seconds(600)]
            )
            let running = Task { await notifier.run() }
            notifier.journaled(Self.fill("sb1"))
            notifier.journaled(Self.fill("sb2"))
            let paused = await ExactlyOnceOutageTests.eventually { inbox.all.count == 1 }
            #expect(paused)
            notifier.stop()
            // Without the pause cut short this waits the 600 s (the suite's time limit fails it).
            await running.value
            #expect(inbox.all.count == 2)
            #expect(MetricsTests.samples(metrics)[#"signalbridge_notifications_total{event="order.filled",outcome="failed"}"#] == 2)
        }
    }

    /// A full queue drops what comes next: each drop is counted, the first of every hundred logged with the count
    /// so far, and the total logged when the notifier stops.
    @Test func dropsAreCountedAndLoggedSparingly() async throws {
        let gate = Latch()
        let calls = Calls()
        let metrics = PrometheusMetrics()
        let recording = RecordingLogHandler.Recording()
        try await Self.stallingReceiver(gate, calls: calls).test(.live) { client in
            let port = try #require(client.port)
            let notifier = Notifier(
                targets: [Self.target(port, "/stall", format: .slack)],
                logger: recording.logger(),
                metrics: metrics.metrics,
                requestTimeout: .seconds(120),
                shutdownGrace: .milliseconds(100)
            )
            let running = Task { await notifier.run() }
            notifier.journaled(Self.fill("first"))
            let inFlight = await ExactlyOnceOutageTests.eventually { calls.value == 1 }
            #expect(inFlight)
            // The first is in flight; 1,000 wait; 150 are dropped.
            for n in 1...(Notifier.queueLimit + 150) { notifier.journaled(Self.fill("sb\(n)")) }
            #expect(MetricsTests.samples(metrics)[#"signalbridge_notifications_total{event="order.filled",outcome="failed"}"#] == 150)
            let drops = recording.entries.withLock { $0.filter { $0.message.contains("queue is full") } }
            #expect(drops.map { $0.metadata["notQueuedSoFar"]?.description } == ["1", "101"])
            notifier.stop()
            await running.value
            let summary = recording.entries.withLock { $0.first { $0.message == "notifications not sent in this run" } }
            #expect(summary?.metadata["notQueuedInThisRun"]?.description == "150")
            #expect(summary?.metadata["leftQueuedAtStop"]?.description == "\(Notifier.queueLimit)")
            gate.open()
        }
    }

    /// Stopping cuts off a delivery still waiting for its answer once the grace is over, and counts what was still
    /// queued as failed: `run()` returns within the grace whatever the receiver does.
    @Test func stoppingEndsWithinTheGraceAndCountsWhatWasNotSent() async throws {
        let gate = Latch()
        let calls = Calls()
        let metrics = PrometheusMetrics()
        try await Self.stallingReceiver(gate, calls: calls).test(.live) { client in
            let port = try #require(client.port)
            let notifier = Notifier(
                targets: [Self.target(port, "/stall", format: .slack)],
                logger: Logger(label: "test"),
                metrics: metrics.metrics,
                requestTimeout: .seconds(120),
                shutdownGrace: .milliseconds(300)
            )
            let running = Task { await notifier.run() }
            for n in 1...3 { notifier.journaled(Self.fill("sb\(n)")) }
            let inFlight = await ExactlyOnceOutageTests.eventually { calls.value == 1 }
            #expect(inFlight)
            notifier.stop()
            // Without the grace's cut-off this waits for the receiver (the suite's time limit fails it).
            await running.value
            let samples = MetricsTests.samples(metrics)
            #expect(samples[#"signalbridge_notifications_total{event="order.filled",outcome="failed"}"#] == 3, "\(samples)")
            #expect(calls.value == 1)
            // Nothing is queued once stopped.
            notifier.journaled(Self.fill("sb9"))
            #expect(MetricsTests.samples(metrics)[#"signalbridge_notifications_total{event="order.filled",outcome="failed"}"#] == 4)
            gate.open()
        }
    }
}
