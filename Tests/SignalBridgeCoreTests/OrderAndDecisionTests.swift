import Foundation
import Testing

@testable import SignalBridgeCore

@Suite struct OrderBuilderTests {
    let builder = OrderBuilder(market: Fixture.market(), now: Fixture.now, maxPriceAgeSeconds: 60)

    func template(_ order: String) throws -> OrderTemplate {
        try Fixture.rules(#"{"rules":[{"id":"r","source":"s","when":{"pointer":"/x","exists":false},"orders":[\#(order)]}]}"#).rules[0].orders[0]
    }

    @Test func marketBaseRoundsDownToLotAndSaysBaseCcy() throws {
        let order = try builder.build(
            try template(#"{"instId":"BTC-USDT","side":"sell","ordType":"market","size":{"base":"0.123456789"}}"#),
            payload: .object(JSONObject()),
            clOrdId: "c1"
        )
        #expect(order.request.sz == Decimal(string: "0.12345678"))
        #expect(order.request.tgtCcy == "base_ccy")
        #expect(order.request.px == nil)
        #expect(order.notional == Decimal(string: "0.12345678")! * 60000)
        #expect(
            order.request.json.jsonText
                == #"{"instId":"BTC-USDT","tdMode":"cash","clOrdId":"c1","side":"sell","ordType":"market","sz":"0.12345678","tgtCcy":"base_ccy"}"#
        )
    }

    @Test func marketQuoteSaysQuoteCcy() throws {
        let order = try builder.build(
            try template(#"{"instId":"BTC-USDT","side":"buy","ordType":"market","size":{"quote":"100.05"}}"#),
            payload: .object(JSONObject()),
            clOrdId: "c"
        )
        #expect(order.request.sz == Decimal(string: "100"))
        #expect(order.request.tgtCcy == "quote_ccy")
        #expect(order.notional == 100)
    }

    @Test func limitPricesRoundTowardThePassiveSide() throws {
        let payload = try JSONParser.parse(#"{"px":"60000.07","qty":"5"}"#)
        let buy = try builder.build(
            try template(#"{"instId":"BTC-USDT","side":"buy","ordType":"limit","size":{"quote":"600"},"price":{"pointer":"/px"}}"#),
            payload: payload,
            clOrdId: "c"
        )
        #expect(buy.request.px == 60000)
        #expect(buy.request.sz == Decimal(string: "0.01"))
        #expect(buy.request.tgtCcy == nil)
        let sell = try builder.build(
            try template(
                #"{"instId":"BTC-USDT","side":"sell","ordType":"limit","size":{"pointer":"/qty","unit":"base","max":"0.5"},"price":{"pointer":"/px"}}"#
            ),
            payload: payload,
            clOrdId: "c"
        )
        #expect(sell.request.px == Decimal(string: "60000.1"))
        #expect(sell.request.sz == Decimal(string: "0.5"))
        let fromBid = try builder.build(
            try template(#"{"instId":"BTC-USDT","side":"buy","ordType":"limit","size":{"base":"0.001"},"price":{"from":"bid","offsetBps":-10}}"#),
            payload: payload,
            clOrdId: "c"
        )
        #expect(fromBid.request.px == Decimal(string: "59939.9"))
    }

    @Test func belowMinimumIsBlockedWithTheReason() throws {
        #expect(throws: DecisionBlock.self) {
            try builder.build(
                try template(#"{"instId":"BTC-USDT","side":"buy","ordType":"market","size":{"base":"0.000009"}}"#),
                payload: .object(JSONObject()),
                clOrdId: "c"
            )
        }
        do {
            _ = try builder.build(
                try template(#"{"instId":"BTC-USDT","side":"buy","ordType":"market","size":{"quote":"0.5"}}"#),
                payload: .object(JSONObject()),
                clOrdId: "c"
            )
            Issue.record("expected a block")
        } catch let error as DecisionBlock {
            #expect(error.reason.contains("below the minimum 0.00001 BTC of BTC-USDT"))
        }
    }

    @Test func unknownInstrumentsAndSidesAreBlocked() throws {
        let payload = try JSONParser.parse(#"{"asset":"DOGE","side":"hold"}"#)
        #expect(throws: DecisionBlock.self) {
            try builder.build(
                try template(#"{"instId":"${/asset}-USDT","side":"buy","ordType":"market","size":{"base":"1"}}"#),
                payload: payload,
                clOrdId: "c"
            )
        }
        #expect(throws: DecisionBlock.self) {
            try builder.build(
                try template(#"{"instId":"BTC-USDT","side":"${/side}","ordType":"market","size":{"base":"1"}}"#),
                payload: payload,
                clOrdId: "c"
            )
        }
    }
}

@Suite struct DeciderTests {
    static let ruleJSON = #"""
        {"rules": [
          {"id": "buy", "source": "tv", "when": {"pointer": "/action", "eq": "buy"}, "cooldownSeconds": 60, "maxOrdersPerDay": 2,
           "orders": [{"instId": "${/inst}", "side": "buy", "ordType": "market", "size": {"quote": "100"}}]},
          {"id": "paper", "source": "tv", "when": {"pointer": "/action", "eq": "buy"}, "dryRun": true,
           "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"quote": "10"}}]}
        ]}
        """#

    func decider(risk: RiskSettings = RiskSettings(), kill: Bool = false, at now: Date = Fixture.now) throws -> Decider {
        Decider(
            rules: try Fixture.rules(Self.ruleJSON),
            guards: GlobalGuards(risk: risk, killSwitchEngaged: kill),
            builder: OrderBuilder(market: Fixture.market(), now: now, maxPriceAgeSeconds: 600)
        )
    }

    let buy = try! JSONParser.parse(#"{"action":"buy","inst":"BTC-USDT"}"#)

    @Test func noMatchIsASingleSkip() throws {
        let decisions = try decider().decide(signalId: "1", source: "tv", payload: try JSONParser.parse(#"{"action":"sell"}"#), ledger: RiskLedger())
        #expect(decisions == [.noRuleMatched])
        #expect(decisions[0].answerJSON.jsonText == #"{"ruleId":null,"outcome":"skip","reason":"no rule matched"}"#)
    }

    @Test func ordersAndDryRunsForEachMatchingRule() throws {
        let decisions = try decider().decide(signalId: "1", source: "tv", payload: buy, ledger: RiskLedger())
        #expect(decisions.map(\.outcome) == [.order, .dryRun])
        #expect(decisions[0].clOrdId == ClOrdId.make(source: "tv", signalId: "1", ruleId: "buy", orderIndex: 0))
        #expect(decisions[1].clOrdId == nil)
        #expect(decisions[1].reason.hasPrefix("dry run (rule): would buy 10 BTC-USDT"))
    }

    @Test func globalGuardsBlockAndSayWhy() throws {
        var risk = RiskSettings()
        risk.allowedInstruments = ["ETH-USDT"]
        var decisions = try decider(risk: risk).decide(signalId: "1", source: "tv", payload: buy, ledger: RiskLedger())
        #expect(decisions[0].outcome == .blocked && decisions[0].reason == "allowedInstruments: BTC-USDT is not allowed")
        risk = RiskSettings()
        risk.maxOrderNotional = 99
        decisions = try decider(risk: risk).decide(signalId: "1", source: "tv", payload: buy, ledger: RiskLedger())
        #expect(decisions[0].outcome == .blocked && decisions[0].reason.hasPrefix("maxOrderNotional"))
        risk.killSwitchFile = "/var/KILL"
        risk.maxOrderNotional = nil
        decisions = try decider(risk: risk, kill: true).decide(signalId: "1", source: "tv", payload: buy, ledger: RiskLedger())
        #expect(decisions.allSatisfy { $0.outcome == .blocked && $0.reason.contains("kill switch") })
        risk = RiskSettings()
        risk.dryRun = true
        decisions = try decider(risk: risk).decide(signalId: "1", source: "tv", payload: buy, ledger: RiskLedger())
        #expect(decisions[0].outcome == .dryRun && decisions[0].reason.hasPrefix("dry run (global)"))
    }

    @Test func cooldownAndOrdersPerDayUseTheLedger() throws {
        var ledger = RiskLedger()
        let first = try decider().decide(signalId: "1", source: "tv", payload: buy, ledger: ledger)
        ledger.record(try #require(first[0].usage(at: Fixture.now)))
        let soon = try decider(at: Fixture.now.addingTimeInterval(30)).decide(signalId: "2", source: "tv", payload: buy, ledger: ledger)
        #expect(soon[0].outcome == .blocked && soon[0].reason.hasPrefix("cooldownSeconds"))
        let later = try decider(at: Fixture.now.addingTimeInterval(61)).decide(signalId: "3", source: "tv", payload: buy, ledger: ledger)
        #expect(later[0].outcome == .order)
        ledger.record(try #require(later[0].usage(at: Fixture.now.addingTimeInterval(61))))
        let third = try decider(at: Fixture.now.addingTimeInterval(200)).decide(signalId: "4", source: "tv", payload: buy, ledger: ledger)
        #expect(third[0].outcome == .blocked && third[0].reason.hasPrefix("maxOrdersPerDay"))
        ledger.remove(try #require(later[0].usage(at: Fixture.now.addingTimeInterval(61))))
        #expect(ledger.ordersToday(ruleId: "buy", now: Fixture.now) == 1)
    }
}
