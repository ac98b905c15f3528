import Foundation
import Logging
import Synchronization
import Testing

@testable import SignalBridgeCore

@Suite struct RuleLanguageTests {
    @Test func matchesUsesRegularExpressionsAndRefusesBadOnes() throws {
        let rules = try Fixture.rules(
            #"""
            {"rules": [{"id": "r", "source": "s", "when": {"pointer": "/to", "matches": "(?i)^0xabc"},
              "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"base": "1"}}]}]}
            """#
        )
        #expect(rules.rules[0].when.matches(try JSONParser.parse(#"{"to":"0xABCdef"}"#)))
        #expect(!rules.rules[0].when.matches(try JSONParser.parse(#"{"to":"0x1abc"}"#)))
        #expect(!rules.rules[0].when.matches(try JSONParser.parse(#"{}"#)))
        let errors = try Fixture.ruleErrors(
            #"""
            {"rules": [{"id": "r", "source": "s", "when": {"pointer": "/to", "matches": "(unclosed"},
              "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"base": "1"}}]}]}
            """#
        )
        #expect(errors.count == 1 && errors[0].pointer.description == "/rules/0/when/matches")
        #expect(errors[0].message.contains("not a valid regular expression"))
    }

    @Test func percentOfAvailableUsesTheCachedBalanceOfTheSpentCurrency() throws {
        var market = Fixture.market()
        market.balances = ["USDT": 1000, "BTC": Decimal(string: "0.5")!]
        market.balancesFetchedAt = Fixture.now
        let builder = OrderBuilder(market: market, now: Fixture.now, maxPriceAgeSeconds: 60)
        func order(_ side: String) throws -> OrderTemplate {
            try Fixture.rules(
                #"{"rules":[{"id":"r","source":"s","when":{"pointer":"/x","exists":false},"orders":[{"instId":"BTC-USDT","side":"\#(side)","ordType":"market","size":{"percentOfAvailable":"25"}}]}]}"#
            ).rules[0].orders[0]
        }
        let buy = try builder.build(try order("buy"), payload: .object(JSONObject()), clOrdId: "c").request
        #expect(buy.sz == 250 && buy.tgtCcy == "quote_ccy")
        let sell = try builder.build(try order("sell"), payload: .object(JSONObject()), clOrdId: "c").request
        #expect(sell.sz == Decimal(string: "0.125") && sell.tgtCcy == "base_ccy")
        let stale = OrderBuilder(market: market, now: Fixture.now.addingTimeInterval(120), maxPriceAgeSeconds: 60)
        #expect(throws: DecisionBlock("percentOfAvailable: no balance of USDT younger than 60 s")) {
            try stale.build(try order("buy"), payload: .object(JSONObject()), clOrdId: "c")
        }
        let tooMuch = try Fixture.ruleErrors(
            #"{"rules":[{"id":"r","source":"s","when":{"pointer":"/x","exists":false},"orders":[{"instId":"BTC-USDT","side":"buy","ordType":"market","size":{"percentOfAvailable":"101"}}]}]}"#
        )
        #expect(tooMuch.first?.message.contains("at most 100") == true)
    }

    @Test func impossibleSizesAreFoundAgainstRealInstruments() throws {
        let rules = try Fixture.rules(
            #"""
            {"rules": [{"id": "tiny", "source": "s", "when": {"pointer": "/x", "exists": true},
              "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"base": "0.000009"}},
                         {"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"pointer": "/q", "unit": "base", "max": "0.000001"}},
                         {"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"base": "0.001"}},
                         {"instId": "${/i}", "side": "buy", "ordType": "market", "size": {"base": "0.000001"}}]}]}
            """#
        )
        let errors = rules.impossibleSizes(against: [Fixture.btc])
        #expect(errors.map(\.pointer.description) == ["/rules/0/orders/0/size", "/rules/0/orders/1/size"])
        #expect(errors[0].message.contains("below the minimum 0.00001 BTC of BTC-USDT"))
    }
}

@Suite struct OKXSignalBotTests {
    let instruments = ["BTC-USDT": Fixture.btc, "ETH-USDT": Fixture.eth]

    func decide(_ payload: String, balances: [String: Decimal] = ["USDT": 1000, "BTC": Decimal(string: "0.2")!]) throws -> Decision {
        var market = Fixture.market()
        market.balances = balances
        market.balancesFetchedAt = Fixture.now
        let decider = Decider(
            rules: RuleSet(rules: [], files: []),
            guards: GlobalGuards(risk: RiskSettings(), killSwitchEngaged: false),
            builder: OrderBuilder(market: market, now: Fixture.now, maxPriceAgeSeconds: 60)
        )
        let decisions = decider.decide(signalId: "s", source: "bot", payload: try JSONParser.parse(payload), ledger: RiskLedger(), signalBot: true)
        #expect(decisions.count == 1 && decisions[0].ruleId == OKXSignalBot.ruleId)
        return decisions[0]
    }

    @Test func enterLongBuysWithEachInvestmentType() throws {
        let margin = try decide(#"{"action":"ENTER_LONG","instrument":"BTCUSDT","investmentType":"margin","amount":"200"}"#)
        #expect(margin.outcome == .order && margin.orders[0].request.sz == 200 && margin.orders[0].request.tgtCcy == "quote_ccy")
        let base = try decide(#"{"action":"ENTER_LONG","instrument":"BTC-USDT","investmentType":"base","amount":"0.01"}"#)
        #expect(base.orders[0].request.sz == Decimal(string: "0.01") && base.orders[0].request.tgtCcy == "base_ccy")
        let percent = try decide(#"{"action":"ENTER_LONG","instrument":"btc-usdt","investmentType":"percentage_balance","amount":"10"}"#)
        #expect(percent.orders[0].request.sz == 100 && percent.orders[0].request.side == .buy)
        let limit = try decide(
            #"{"action":"ENTER_LONG","instrument":"BTC-USDT","investmentType":"base","amount":"0.01","orderType":"limit","orderPriceOffset":"1"}"#
        )
        #expect(limit.orders[0].request.ordType == .limit && limit.orders[0].request.px == 59400)
    }

    /// A signal id used again after the duplicate window gives the same clOrdId: while the first order is open, the
    /// new decision is blocked, naming the clOrdId.
    @Test func anOrderWhoseClOrdIdIsStillOpenIsBlocked() throws {
        var market = Fixture.market()
        market.balances = ["USDT": 1000]
        market.balancesFetchedAt = Fixture.now
        let decider = Decider(
            rules: RuleSet(rules: [], files: []),
            guards: GlobalGuards(risk: RiskSettings(), killSwitchEngaged: false, orderIsOpen: { _ in true }),
            builder: OrderBuilder(market: market, now: Fixture.now, maxPriceAgeSeconds: 60)
        )
        let payload = try JSONParser.parse(#"{"action":"ENTER_LONG","instrument":"BTC-USDT","investmentType":"margin","amount":"200"}"#)
        let decision = decider.decide(signalId: "s", source: "bot", payload: payload, ledger: RiskLedger(), signalBot: true)[0]
        #expect(decision.outcome == .blocked && decision.reason.contains("is still open"), "\(decision.reason)")
    }

    @Test func exitLongSellsThePosition() throws {
        let all = try decide(#"{"action":"EXIT_LONG","instrument":"BTC-USDT"}"#)
        #expect(all.outcome == .order && all.orders[0].request.side == .sell && all.orders[0].request.sz == Decimal(string: "0.2"))
        let half = try decide(#"{"action":"EXIT_LONG","instrument":"BTC-USDT","investmentType":"percentage_position","amount":"50"}"#)
        #expect(half.orders[0].request.sz == Decimal(string: "0.1"))
    }

    @Test(arguments: [
        (#"{"action":"ENTER_SHORT","instrument":"BTC-USDT"}"#, "short position"),
        (#"{"action":"ENTER_LONG","instrument":"BTC-USDT"}"#, "never guesses"),
        (#"{"action":"ENTER_LONG","instrument":"DOGE-USDT","investmentType":"base","amount":"1"}"#, "not a known spot instrument"),
        (#"{"action":"ENTER_LONG","instrument":"BTC-USDT","investmentType":"contract","amount":"1"}"#, "not supported for spot"),
        (#"{"action":"ENTER_LONG","instrument":"BTC-USDT","investmentType":"percentage_position","amount":"10"}"#, "sizes an EXIT_LONG"),
        (#"{"instrument":"BTC-USDT"}"#, "no action"),
    ])
    func unusableMessagesAreBlockedWithTheReason(_ payload: String, _ reason: String) throws {
        let decision = try decide(payload)
        #expect(decision.outcome == .blocked && decision.reason.contains(reason), "\(decision.reason)")
    }
}

/// Records the order in which orders reach the exchange; the first order of BTC-USDT is slow.
final class SlowFirstExchange: Exchange {
    let placed = Mutex<[String]>([])
    let started = Mutex<[String]>([])

    func instruments() async throws(ExchangeError) -> [Instrument] { [Fixture.btc, Fixture.eth] }
    func ticker(instId: String) async throws(ExchangeError) -> Ticker { throw ExchangeError(message: "none", retryable: true) }
    func balances() async throws(ExchangeError) -> [Balance] { [] }
    func accountLevel() async throws(ExchangeError) -> Int { 1 }
    func order(instId: String, clOrdId: String) async throws(ExchangeError) -> OrderStatus? { nil }
    func serverTime() async throws(ExchangeError) -> Date { Date() }
    func cancel(instId: String, clOrdId: String) async throws(ExchangeError) {}
    func algoOrder(instId: String, algoClOrdId: String) async throws(ExchangeError) -> AlgoStatus? { nil }
    func order(instId: String, ordId: String) async throws(ExchangeError) -> OrderStatus? { nil }
    func cancelAlgo(instId: String, algoId: String) async throws(ExchangeError) {}
    func placeAlgo(_ order: AlgoOrderRequest, expiresAt: Date) async -> PlacementOutcome { await place(order.placedOrder, expiresAt: expiresAt) }
    func place(_ order: OrderRequest, expiresAt: Date) async -> PlacementOutcome {
        started.withLock { $0.append(order.clOrdId) }
        if order.clOrdId == "close" { try? await Task.sleep(for: .milliseconds(300)) }
        placed.withLock { $0.append(order.clOrdId) }
        return .accepted(ordId: order.clOrdId)
    }
}

@Suite struct ExecutionOrderTests {
    @Test func ordersOfOneInstrumentKeepArrivalOrderAndOthersDoNotWait() async throws {
        let directory = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (journal, _) = try Journal.open(directory: directory, logger: Logger(label: "test"))
        let exchange = SlowFirstExchange()
        let executor = OrderExecutor(exchange: exchange, journal: journal, logger: Logger(label: "test"))
        func intent(_ id: String, _ instId: String, _ side: OrderSide) -> OrderIntent {
            OrderIntent(
                signalId: id,
                ruleId: "r",
                request: OrderRequest(instId: instId, clOrdId: id, side: side, ordType: .market, sz: 1, tgtCcy: "base_ccy")
            )
        }
        // A close followed at once by a reverse: the reverse must not overtake the slow close.
        executor.submit([intent("close", "BTC-USDT", .sell)])
        executor.submit([intent("reverse", "BTC-USDT", .buy), intent("other", "ETH-USDT", .buy)])
        await executor.waitUntilIdle()
        let placed = exchange.placed.withLock { $0 }
        #expect(placed.firstIndex(of: "close")! < placed.firstIndex(of: "reverse")!)
        #expect(placed.firstIndex(of: "other")! < placed.firstIndex(of: "close")!)
    }
}

/// The rule index finds exactly the rules that evaluating every rule finds, in rule order: literal `eq` keys alone
/// and inside `all`, numbers and numeric strings (which compare as decimals, so are never keys), `any`, `not`, other
/// sources, and payloads that lack the field or hold it as another type.
@Suite struct RuleIndexTests {
    static let whens = [
        #"{"pointer": "/action", "eq": "buy"}"#,
        #"{"all": [{"pointer": "/px", "gte": "1"}, {"pointer": "/action", "eq": "sell"}]}"#,
        #"{"pointer": "/n", "eq": "1"}"#,
        #"{"pointer": "/n", "eq": 2}"#,
        #"{"any": [{"pointer": "/action", "eq": "buy"}, {"pointer": "/flag", "eq": true}]}"#,
        #"{"not": {"pointer": "/action", "eq": "buy"}}"#,
        #"{"pointer": "/flag", "eq": true}"#,
        #"{"pointer": "/action", "in": ["buy", "hold"]}"#,
        #"{"pointer": "/nested/kind", "eq": "alert"}"#,
        #"{"pointer": "/action", "eq": "buy"}"#,
    ]

    @Test func theIndexFindsWhatEvaluatingEveryRuleFinds() throws {
        let rules = Self.whens.enumerated().map { index, when in
            #"{"id": "r\#(index)", "source": "\#(index == 9 ? "other" : "s")", "when": \#(when), "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"base": "1"}}]}"#
        }
        let set = try Fixture.rules(#"{"rules": ["# + rules.joined(separator: ",") + "]}")
        let payloads = [
            #"{"action": "buy"}"#, #"{"action": "sell", "px": "5"}"#, #"{"action": "sell", "px": "0"}"#, #"{"n": 1}"#, #"{"n": "1.0"}"#,
            #"{"n": 2.0}"#, #"{"n": "2"}"#, #"{"flag": true}"#, #"{"flag": "true"}"#, #"{"action": 7}"#, #"{}"#, #"[]"#,
            #"{"nested": {"kind": "alert"}}"#, #"{"nested": "alert"}"#, #"{"action": "hold"}"#,
        ]
        for text in payloads {
            let payload = try JSONParser.parse(text)
            for source in ["s", "other", "none"] {
                let everyRule = set.rules.filter { $0.source == source && $0.when.matches(payload) }.map(\.id)
                #expect(Decider.matching(set, source: source, payload: payload).map(\.id) == everyRule, "\(source) \(text)")
            }
        }
    }
}
