import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
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

    /// A receiver: `/ok` takes everything, `/flaky` answers 500 to its first request, `/gone` always 404.
    static func receiver(_ inbox: Inbox) -> some ApplicationProtocol {
        let router = Router()
        let flakyCalls = Mutex(0)
        for path in ["/ok", "/flaky", "/gone"] {
            router.post(RouterPath(path)) { request, _ -> Response in
                let body = Array(try await request.body.collect(upTo: 1 << 16).readableBytesView)
                inbox.received.withLock { $0.append(Received(path: path, headers: request.headers.map { ($0.name.rawName, $0.value) }, body: body)) }
                if path == "/gone" { return Response(status: .notFound) }
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
}
