import Foundation
import Hummingbird
import HummingbirdTesting
import HummingbirdWebSocket
import Logging
import Synchronization
import Testing

@testable import OKXClient
@testable import OKXSimulator
@testable import SignalBridgeCore
@testable import SignalBridgeServer

/// Market data over the public WebSocket (`tickers`): a price change reaches a decision at once, a dropped feed falls
/// back to REST polling and recovers, and a price too old blocks.
@Suite(.timeLimit(.minutes(1)))
struct MarketFeedTests {
    /// Waits until `condition` holds, checking every 2 ms, for at most `timeout`; whether it came to hold.
    static func waitUntil(_ timeout: Duration, _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline, (try? await Task.sleep(for: .milliseconds(2))) != nil else { return condition() }
        }
        return true
    }

    /// The market data service of BTC-USDT against `exchange`.
    static func service(_ exchange: any Exchange, _ market: MarketData, tickerInterval: Duration) -> MarketDataService {
        MarketDataService(
            exchange: exchange,
            market: market,
            instruments: { ["BTC-USDT"] },
            logger: Logger(label: "market"),
            tickerInterval: tickerInterval,
            maxBackoff: .milliseconds(500)
        )
    }

    static func rules(_ json: String) throws -> RuleSet {
        guard case .success(let rules) = RuleParser.parse(try JSONParser.parse(json), file: "t.json") else {
            throw OKXOrderStream.StreamError(description: "bad test rules")
        }
        return RuleSet(rules: rules, files: [])
    }

    static let bidRule = """
        {"rules": [{"id": "bid", "source": "tv", "when": {"pointer": "/a", "exists": true},
          "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "limit", "size": {"base": "0.001"}, "price": {"from": "bid"}}]}]}
        """

    static func decide(_ market: MarketSnapshot, now: Date = Date()) throws -> Decision {
        let decider = Decider(
            rules: try rules(bidRule),
            guards: GlobalGuards(risk: RiskSettings(), killSwitchEngaged: false),
            builder: OrderBuilder(market: market, now: now, maxPriceAgeSeconds: 5)
        )
        return decider.decide(signalId: "s", source: "tv", payload: ["a": 1], ledger: RiskLedger())[0]
    }

    @Test func publicURLsFollowTheRESTHost() {
        #expect(OKXOrderStream.url(forREST: "https://www.okx.com", demo: false, path: "public") == "wss://ws.okx.com:8443/ws/v5/public")
        #expect(OKXOrderStream.url(forREST: "https://www.okx.com", demo: true, path: "public") == "wss://wspap.okx.com:8443/ws/v5/public")
        #expect(OKXOrderStream.url(forREST: "https://eea.okx.com", demo: false, path: "public") == "wss://wseea.okx.com:8443/ws/v5/public")
        #expect(OKXOrderStream.url(forREST: "http://127.0.0.1:8081", demo: true, path: "public") == "ws://127.0.0.1:8081/ws/v5/public")
    }

    @Test func aPriceChangeReachesADecisionWithin200Milliseconds() async throws {
        try await LiveSimulator.run { simulator, client, _ in
            let market = MarketData()
            // REST would poll again only after a minute: what arrives sooner was pushed.
            let service = Self.service(client, market, tickerInterval: .seconds(60))
            await service.refresh(instrumentsToo: true)
            #expect(market.snapshot.tickerSource["BTC-USDT"] == .poll)
            let feed = try #require(client.tickerFeed())
            let task = Task { await service.follow(feed) }
            defer { task.cancel() }
            #expect(await Self.waitUntil(.seconds(10)) { service.isFeedConnected })

            let started = ContinuousClock.now
            simulator.account.setPrice("BTC-USDT", last: 61000)
            let arrived = await Self.waitUntil(.milliseconds(200)) { market.snapshot.tickers["BTC-USDT"]?.last == 61000 }
            let elapsed = ContinuousClock.now - started
            #expect(arrived, "the pushed price took \(elapsed)")

            let decision = try Self.decide(market.snapshot)
            #expect(decision.outcome == .order && decision.orders.first?.request.px == Decimal(string: "60999.9"))
            guard case .some(.some(let quote)) = decision.inputs.markets["BTC-USDT"]?.quote else {
                Issue.record("the decision read no ticker")
                return
            }
            #expect(quote.source == .push && quote.bid == Decimal(string: "60999.9"))
        }
    }

    @Test func aDroppedFeedFallsBackToRESTAndRecovers() async throws {
        try await LiveSimulator.run { simulator, client, _ in
            let market = MarketData()
            let service = Self.service(client, market, tickerInterval: .milliseconds(100))
            await service.refresh(instrumentsToo: true)
            let task = Task { await service.run() }
            defer { task.cancel() }
            #expect(await Self.waitUntil(.seconds(10)) { service.isFeedConnected })

            simulator.faults.startPublicFeedOutage(seconds: 3)
            #expect(await Self.waitUntil(.seconds(5)) { !service.isFeedConnected })
            simulator.account.setPrice("BTC-USDT", last: 62000)
            let polled = await Self.waitUntil(.seconds(2)) {
                let snapshot = market.snapshot
                return snapshot.tickers["BTC-USDT"]?.last == 62000 && snapshot.tickerSource["BTC-USDT"] == .poll
            }
            #expect(polled, "while the feed is down, REST polling keeps the price")
            let fallback = try Self.decide(market.snapshot)
            #expect(fallback.outcome == .order)

            #expect(await Self.waitUntil(.seconds(15)) { service.isFeedConnected }, "the feed reconnects after the outage")
            simulator.account.setPrice("BTC-USDT", last: 63000)
            let pushed = await Self.waitUntil(.seconds(2)) {
                let snapshot = market.snapshot
                return snapshot.tickers["BTC-USDT"]?.last == 63000 && snapshot.tickerSource["BTC-USDT"] == .push
            }
            #expect(pushed, "once resubscribed, prices are pushed again")
        }
    }

    @Test func aRuleReloadThatWantsAnotherInstrumentResubscribes() async throws {
        let simulator = Simulator(credentials: .random())
        let exchange = SimulatorExchange(simulator: simulator)
        let market = MarketData()
        let wanted = Mutex<Set<String>>(["BTC-USDT"])
        let service = MarketDataService(
            exchange: exchange,
            market: market,
            instruments: { wanted.withLock { $0 } },
            logger: Logger(label: "market"),
            tickerInterval: .milliseconds(50)
        )
        market.update(instruments: simulator.account.instruments())
        let task = Task { await service.follow(try #require(exchange.tickerFeed())) }
        defer { task.cancel() }
        #expect(await Self.waitUntil(.seconds(5)) { market.snapshot.tickerSource["BTC-USDT"] == .push })
        #expect(market.snapshot.tickers["ETH-USDT"] == nil)
        _ = wanted.withLock { $0.insert("ETH-USDT") }
        #expect(await Self.waitUntil(.seconds(5)) { market.snapshot.tickerSource["ETH-USDT"] == .push })
    }

    @Test func aConnectionThatConfirmsNothingIsGivenUp() async throws {
        // A WebSocket server that takes the subscription and never answers.
        let router = Router(context: BasicWebSocketRequestContext.self)
        for path in ["/ws/v5/public", "/ws/v5/private"] {
            router.ws(RouterPath(path)) { inbound, _, _ in
                for try await _ in inbound.messages(maxSize: 1 << 16) {}
            }
        }
        let app = Application(router: Router(), server: .http1WebSocketUpgrade(webSocketRouter: router))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let stream = OKXTickerStream(
                url: "ws://127.0.0.1:\(port)/ws/v5/public",
                logger: Logger(label: "ws"),
                subscribeTimeout: .milliseconds(300)
            )
            await #expect(throws: OKXSilentConnection.self) {
                try await stream.follow(instruments: ["BTC-USDT"], connected: {}, ticker: { _ in })
            }
            // The private order feed's login goes unanswered the same way.
            let orders = OKXOrderStream(
                url: "ws://127.0.0.1:\(port)/ws/v5/private",
                credentials: OKXCredentials(apiKey: Secret("k"), secretKey: Secret("s"), passphrase: Secret("p")),
                logger: Logger(label: "ws"),
                confirmTimeout: .milliseconds(300)
            )
            await #expect(throws: OKXSilentConnection.self) { try await orders.follow(connected: {}, update: { _ in }) }
        }
    }

    @Test func theCacheNeverTakesAnOlderPriceAndDropsACrossedOne() throws {
        let market = MarketData()
        let now = Date()
        market.update(ticker: Ticker(instId: "BTC-USDT", last: 61000, bid: 60999, ask: 61001, time: now), fetchedAt: now, source: .push)
        // A poll asked a second earlier answers after the push: the push stays.
        market.update(ticker: Ticker(instId: "BTC-USDT", last: 60000, bid: 59999, ask: 60001, time: now), fetchedAt: now - 1, source: .poll)
        #expect(market.snapshot.tickers["BTC-USDT"]?.last == 61000 && market.snapshot.tickerSource["BTC-USDT"] == .push)
        let crossed = JSONObject([("instId", "BTC-USDT"), ("last", "60000"), ("bidPx", "60001"), ("askPx", "59999")])
        #expect(OKXRestClient.ticker(crossed, now: now) == nil)
        let zero = JSONObject([("instId", "BTC-USDT"), ("last", "60000"), ("bidPx", "0"), ("askPx", "60001")])
        #expect(OKXRestClient.ticker(zero, now: now) == nil)
    }

    @Test func thePublicFeedIsOKXsOwnOrNamed() throws {
        func client(_ baseURL: String, publicURL: String? = nil) -> OKXRestClient {
            OKXRestClient(
                baseURL: baseURL,
                credentials: OKXCredentials(apiKey: Secret("k"), secretKey: Secret("s"), passphrase: Secret("p")),
                demo: false,
                publicWebSocketURL: publicURL,
                logger: Logger(label: "t")
            )
        }
        #expect((client("https://www.okx.com").tickerFeed() as? OKXTickerStream)?.url == "wss://ws.okx.com:8443/ws/v5/public")
        #expect((client("http://127.0.0.1:9").tickerFeed() as? OKXTickerStream)?.url == "ws://127.0.0.1:9/ws/v5/public")
        // A proxy's prices are polled from it, never pushed from OKX's own host.
        #expect(client("https://okx-proxy.example.com").tickerFeed() == nil)
        #expect(
            (client("https://okx-proxy.example.com", publicURL: "wss://feed.example.com/ws").tickerFeed() as? OKXTickerStream)?.url
                == "wss://feed.example.com/ws"
        )
        let config = #"""
            {"exchange": {"kind": "okx", "publicWebSocketURL": "ws://feed.example.com/ws/v5/public",
                          "credentials": {"apiKeyEnv": "K", "secretKeyEnv": "S", "passphraseEnv": "P"}}}
            """#
        #expect(throws: DocumentError.self) {
            try BridgeConfiguration.parse(
                try JSONParser.parse(config),
                baseDirectory: URL(fileURLWithPath: "/tmp"),
                environment: ["K": "k", "S": "s", "P": "p"]
            )
        }
        #expect(OKXAccountCheck.ipFinding([], demo: true).text.contains("14 days") == false)
        #expect(OKXAccountCheck.ipFinding([], demo: false).text.contains("14 days"))
    }

    @Test func aStalePriceBlocks() throws {
        var market = MarketSnapshot()
        market.instruments = ["BTC-USDT": .okxBTCUSDT]
        let now = Date()
        market.update(
            Ticker(instId: "BTC-USDT", last: 60000, bid: 59999, ask: 60001, time: now),
            fetchedAt: now.addingTimeInterval(-6),
            source: .push
        )
        let decision = try Self.decide(market, now: now)
        #expect(decision.outcome == .blocked && decision.reason == "no ticker of BTC-USDT younger than 5 s")
        guard case .some(.some(let quote)) = decision.inputs.markets["BTC-USDT"]?.quote else {
            Issue.record("the decision journaled no ticker")
            return
        }
        #expect(quote.ageMs == 6000 && quote.source == .push)
    }
}

extension MarketSnapshot {
    fileprivate mutating func update(_ ticker: Ticker, fetchedAt: Date, source: PriceSource) {
        tickers[ticker.instId] = ticker
        tickerFetchedAt[ticker.instId] = fetchedAt
        tickerSource[ticker.instId] = source
    }
}
