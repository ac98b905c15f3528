import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import OKXClient
@testable import OKXSimulator
@testable import SignalBridgeCore
@testable import SignalBridgeServer

/// Each metric of README "Metrics", read back from the Prometheus text that `/metrics` serves.
@Suite struct MetricsTests {
    /// The samples of a Prometheus text: `name{labels}` (as written) to value.
    static func samples(_ text: String) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    static func samples(_ metrics: PrometheusMetrics) -> [String: Double] { samples(String(decoding: metrics.render(), as: UTF8.self)) }

    @Test func signalsDecisionsOrdersQueueAndJournalAreCountedAndServed() async throws {
        let test = try await TestBridge.make()
        defer { try? FileManager.default.removeItem(atPath: test.directory) }
        await test.bridge.marketData.refresh(instrumentsToo: true)
        let body = #"{"id":"metrics-1","event":{"amount":"2500"}}"#
        let signed: HTTPFields = [HTTPField.Name("X-Alchemy-Signature")!: TestBridge.signature(body)]
        try await Application(router: buildWebhookRouter(bridge: test.bridge)).test(.router) { client in
            let buffer = ByteBuffer(string: body)
            try await client.execute(uri: "/webhooks/alchemy", method: .post, headers: signed, body: buffer) { #expect($0.status == .accepted) }
            try await client.execute(uri: "/webhooks/alchemy", method: .post, headers: signed, body: buffer) { #expect($0.status == .ok) }
            try await client.execute(uri: "/webhooks/alchemy", method: .post, body: buffer) { #expect($0.status == .unauthorized) }
            // A made-up source name never becomes a label: it would let anyone grow the metrics without bound.
            try await client.execute(uri: "/webhooks/made-up-\(UUID())", method: .post, body: buffer) { #expect($0.status == .notFound) }
        }
        await test.bridge.executor.waitUntilIdle()
        let text = try await Application(router: buildAdminRouter(bridge: test.bridge)).test(.router) { client in
            let response = try await client.execute(uri: "/metrics", method: .get)
            #expect(response.status == .ok)
            return String(buffer: response.body)
        }
        let samples = Self.samples(text)
        #expect(samples[#"signalbridge_signals_total{source="alchemy",outcome="accepted"}"#] == 1)
        #expect(samples[#"signalbridge_signals_total{source="alchemy",outcome="duplicate"}"#] == 1)
        #expect(samples[#"signalbridge_signals_total{source="alchemy",outcome="unauthorized"}"#] == 1)
        #expect(samples[#"signalbridge_signals_total{source="(unknown)",outcome="unknown_source"}"#] == 1)
        #expect(!text.contains("made-up"))
        #expect(samples[#"signalbridge_decisions_total{rule="whale",outcome="order"}"#] == 1)
        #expect(samples[#"signalbridge_orders_total{state="intent"}"#] == 1)
        #expect(samples[#"signalbridge_orders_total{state="accepted"}"#] == 1)
        #expect(samples[#"signalbridge_orders_total{state="filled"}"#] == 1)
        // The order went through its lane and left it.
        #expect(samples[#"signalbridge_execution_queue_depth{instrument="BTC-USDT"}"#] == 0)
        #expect(samples["signalbridge_orders_unknown"] == 0)
        // 8 records made durable: rules.loaded, the signal's batch of 3 (signal, decision, intent), two refusals, the
        // ack and the fill.
        let syncs = try #require(samples["signalbridge_journal_fsync_duration_seconds_count"])
        #expect(syncs >= 1)
        #expect(samples["signalbridge_journal_fsync_batch_records_count"] == syncs)
        #expect(samples["signalbridge_journal_fsync_batch_records_sum"] == 8)
    }

    @Test func priceAgesAndTheMarketFeedAreGauges() async throws {
        let test = try await TestBridge.make()
        defer { try? FileManager.default.removeItem(atPath: test.directory) }
        let service = test.bridge.marketData
        await service.refresh(instrumentsToo: true)
        await service.reportAges()
        let age = #"signalbridge_price_age_seconds{instrument="BTC-USDT",source="#
        var samples = Self.samples(test.bridge.metrics)
        #expect((samples[age + #""poll"}"#] ?? -1) >= 0 && samples[age + #""push"}"#] == -1)
        #expect(samples["signalbridge_market_feed_connected"] == 0)
        let feed = try #require(test.bridge.exchange.tickerFeed())
        let following = Task { await service.follow(feed) }
        defer { following.cancel() }
        var spins = 0
        while spins < 1_000_000, !service.isFeedConnected || test.bridge.market.snapshot.tickerSource["BTC-USDT"] != .push {
            spins += 1
            await Task.yield()
        }
        await service.reportAges()
        samples = Self.samples(test.bridge.metrics)
        #expect((samples[age + #""push"}"#] ?? -1) >= 0 && samples[age + #""poll"}"#] == -1)
        #expect(samples["signalbridge_market_feed_connected"] == 1)
    }

    @Test func ordersOfUnknownOutcomeAndTheQueueAreGauges() async throws {
        let metrics = PrometheusMetrics()
        let s = try ExactlyOnceTests.Harness(maxLookupBackoff: 0.1, metrics: metrics.metrics)
        defer { try? FileManager.default.removeItem(atPath: s.directory) }
        let first = ExactlyOnceTests.intent("lost")
        let second = ExactlyOnceTests.intent("next")
        try await s.journal.append([.intent(first), .intent(second)])
        #expect(await s.strandFirst(of: [first, second], outage: 2))
        let instrument = #"signalbridge_execution_queue_depth{instrument="\#(first.request.instId)"}"#
        #expect(Self.samples(metrics)["signalbridge_orders_unknown"] == 1 && Self.samples(metrics)[instrument] == 2)
        await s.executor.waitUntilIdle()
        let samples = Self.samples(metrics)
        #expect(samples["signalbridge_orders_unknown"] == 0 && samples[instrument] == 0)
    }

    @Test func exchangeRequestsAreTimedByEndpoint() async throws {
        let metrics = PrometheusMetrics()
        let credentials = SimulatorCredentials.random()
        let simulator = Simulator(credentials: credentials)
        try await simulator.application(host: "127.0.0.1", port: 0, logger: Logger(label: "sim")).test(.live) { client in
            let okx = OKXRestClient(
                baseURL: "http://127.0.0.1:\(try #require(client.port))",
                credentials: OKXCredentials(apiKey: Secret(credentials.apiKey), secretKey: credentials.secretKey, passphrase: credentials.passphrase),
                demo: true,
                logger: Logger(label: "test"),
                metrics: metrics.metrics
            )
            _ = try await okx.serverTime()
            _ = try await okx.serverTime()
            _ = try await okx.instruments()
        }
        let samples = Self.samples(metrics)
        #expect(samples[#"signalbridge_exchange_request_duration_seconds_count{endpoint="/api/v5/public/time"}"#] == 2)
        #expect(samples[#"signalbridge_exchange_request_duration_seconds_count{endpoint="/api/v5/public/instruments"}"#] == 1)
    }
}
