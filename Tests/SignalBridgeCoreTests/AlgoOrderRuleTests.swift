import Foundation
import Testing

@testable import SignalBridgeCore

/// Standalone algo orders from rules (issue 13): a stop (`trigger`), a trailing stop (`move_order_stop`), an `oco`
/// and a `conditional`, built as the exact `trade/order-algo` body with the order they place sized as an order of
/// its own, prices on the tick grid, sides checked, and mistakes refused by `rules check` with their JSON Pointer.
@Suite struct AlgoOrderRuleTests {
    let builder = OrderBuilder(market: Fixture.market(), now: Fixture.now, maxPriceAgeSeconds: 60)

    func rule(_ order: String) -> String { Fixture.ruleFile(ordering: order) }

    func build(_ order: String, payload: String = "{}") throws -> PlannedOrder { try Fixture.build(order, with: builder, payload: payload) }

    func refusal(_ order: String) throws -> String {
        try Fixture.ruleErrors(rule(order)).map { "\($0.pointer) \($0.message)" }.joined(separator: "; ")
    }

    @Test func aStopSellsAtMarketWhenThePriceFalls() throws {
        let order = try build(
            #"{"instId":"BTC-USDT","side":"sell","ordType":"trigger","size":{"base":"0.01"},"trigger":{"offsetPercent":-3.00001},"order":"market"}"#
        )
        let algo = try #require(order.algo)
        #expect(
            algo.json.jsonText
                == #"{"instId":"BTC-USDT","tdMode":"cash","algoClOrdId":"sb1","side":"sell","ordType":"trigger","sz":"0.01","tgtCcy":"base_ccy","triggerPx":"58200","orderPx":"-1"}"#
        )
        // The order it places is what the guards count: a market sell of 0.01 BTC, worth 600 USDT at the last price.
        #expect(order.request == OrderRequest(instId: "BTC-USDT", clOrdId: "sb1", side: .sell, ordType: .market, sz: 0.01, tgtCcy: "base_ccy"))
        #expect(order.notional == 600)
        #expect(algo.placedOrder == order.request)
        #expect(AlgoOrderRequest(json: algo.json) == algo)
        #expect(Decider.describe(order) == "trigger: sell 0.01 BTC-USDT market (base_ccy) when the last price reaches 58200 (market)")
    }

    @Test func aStopWithALimitPlacesALimitOrderSizedAtThatPrice() throws {
        let order = try build(
            #"{"instId":"BTC-USDT","side":"buy","ordType":"trigger","size":{"quote":"620"},"trigger":{"fixed":"61999.96"},"order":{"fixed":"62000"}}"#
        )
        let algo = try #require(order.algo)
        #expect(algo.triggerPx == 62000 && algo.orderPx == 62000 && algo.sz == 0.01 && algo.tgtCcy == nil)
        #expect(order.request.ordType == .limit && order.request.px == 62000 && order.notional == 620)
    }

    @Test func aTrailingStopTakesARatioOrASpreadOnTheTickGrid() throws {
        let ratio = try #require(
            try build(
                #"{"instId":"BTC-USDT","side":"sell","ordType":"move_order_stop","size":{"base":"0.01"},"callbackRatio":"0.02","activePx":{"offsetPercent":5}}"#
            ).algo
        )
        #expect(ratio.callbackRatio == Decimal(string: "0.02") && ratio.callbackSpread == nil && ratio.activePx == 63000)
        let spread = try #require(
            try build(#"{"instId":"BTC-USDT","side":"sell","ordType":"move_order_stop","size":{"base":"0.01"},"callbackSpread":"150.04"}"#).algo
        )
        #expect(spread.callbackSpread == Decimal(string: "150")! && spread.activePx == nil)
        #expect(throws: DecisionBlock("the trailing stop's callbackSpread rounds to 0 on the tick grid of BTC-USDT")) {
            try build(#"{"instId":"BTC-USDT","side":"sell","ordType":"move_order_stop","size":{"base":"0.01"},"callbackSpread":"0.04"}"#)
        }
    }

    @Test func anOCOHasEachLegOnItsSideOfTheLastPrice() throws {
        let algo = try #require(
            try build(
                #"{"instId":"BTC-USDT","side":"sell","ordType":"oco","size":{"base":"0.01"},"takeProfit":{"trigger":{"offsetPercent":5},"order":"market"},"stopLoss":{"trigger":{"fixed":"57000"},"order":{"fixed":"56900"}}}"#
            ).algo
        )
        #expect(algo.ordType == .oco && algo.tpTriggerPx == 63000 && algo.tpOrdPx == -1 && algo.slTriggerPx == 57000 && algo.slOrdPx == 56900)
        #expect(throws: DecisionBlock("take-profit trigger 59000 is not above the reference price 60000 (the last price) of this sell oco")) {
            try build(
                #"{"instId":"BTC-USDT","side":"sell","ordType":"oco","size":{"base":"0.01"},"takeProfit":{"trigger":{"fixed":"59000"},"order":"market"},"stopLoss":{"trigger":{"fixed":"57000"},"order":"market"}}"#
            )
        }
        let conditional = try #require(
            try build(
                #"{"instId":"BTC-USDT","side":"buy","ordType":"conditional","size":{"quote":"100"},"stopLoss":{"trigger":{"fixed":"61000"},"order":"market"}}"#
            ).algo
        )
        #expect(conditional.ordType == .conditional && conditional.slTriggerPx == 61000 && conditional.tpTriggerPx == nil)
        #expect(conditional.tgtCcy == "quote_ccy" && conditional.sz == 100)
    }

    @Test func withoutAFreshTickerItIsBlocked() throws {
        let stale = OrderBuilder(market: Fixture.market(withTickers: false), now: Fixture.now, maxPriceAgeSeconds: 60)
        let template = try Fixture.rules(
            rule(#"{"instId":"BTC-USDT","side":"sell","ordType":"trigger","size":{"base":"0.01"},"trigger":{"fixed":"58000"},"order":"market"}"#)
        ).rules[0].orders[0]
        #expect(throws: DecisionBlock("trigger: no ticker of BTC-USDT younger than 60 s for the reference price")) {
            try stale.build(template, payload: .object(JSONObject([])), clOrdId: "sb1")
        }
    }

    @Test func rulesCheckRefusesWhatCannotBePlacedNamingThePointer() throws {
        let base = #""instId":"BTC-USDT","side":"sell","size":{"base":"0.01"}"#
        #expect(
            try refusal(#"{\#(base),"ordType":"trigger","trigger":{"fixed":"1"},"order":"market","price":{"fixed":"1"}}"#).hasPrefix(
                "/rules/0/orders/0/price rule \"r\": an algo order takes no price"
            )
        )
        #expect(try refusal(#"{\#(base),"ordType":"trigger","order":"market"}"#).hasPrefix("/rules/0/orders/0/trigger rule \"r\": required"))
        #expect(try refusal(#"{\#(base),"ordType":"trigger","trigger":{"fixed":"1"}}"#).hasPrefix("/rules/0/orders/0/order rule \"r\":"))
        #expect(
            try refusal(#"{\#(base),"ordType":"move_order_stop","callbackRatio":"0.01","callbackSpread":"5"}"#).contains(
                "exactly one of callbackRatio"
            )
        )
        #expect(
            try refusal(#"{\#(base),"ordType":"move_order_stop","callbackRatio":"1"}"#).hasPrefix(
                "/rules/0/orders/0/callbackRatio rule \"r\": a fraction of the best price"
            )
        )
        #expect(
            try refusal(#"{\#(base),"ordType":"oco","takeProfit":{"trigger":{"offsetPercent":5},"order":"market"}}"#).contains(
                "an oco takes both takeProfit and stopLoss"
            )
        )
        #expect(
            try refusal(
                #"{\#(base),"ordType":"conditional","takeProfit":{"trigger":{"offsetPercent":5},"order":"market"},"stopLoss":{"trigger":{"offsetPercent":-5},"order":"market"}}"#
            ).contains("a conditional takes exactly one")
        )
        // A sell oco's take-profit is above the price: a negative percentage would block every signal.
        #expect(
            try refusal(
                #"{\#(base),"ordType":"oco","takeProfit":{"trigger":{"offsetPercent":-5},"order":"market"},"stopLoss":{"trigger":{"offsetPercent":-5},"order":"market"}}"#
            )
                == "/rules/0/orders/0/takeProfit/trigger/offsetPercent rule \"r\": a sell oco's take-profit triggers above the reference price: the percentage must be positive"
        )
        // Fields of one kind of order on another.
        #expect(
            try refusal(#"{\#(base),"ordType":"market","callbackRatio":"0.01"}"#)
                == "/rules/0/orders/0/callbackRatio rule \"r\": a market order takes no callbackRatio (a move_order_stop order does)"
        )
        let stopWithExit =
            #"{\#(base),"ordType":"trigger","trigger":{"fixed":"1"},"order":"market","stopLoss":{"trigger":{"fixed":"1"},"order":"market"}}"#
        #expect(try refusal(stopWithExit).hasPrefix("/rules/0/orders/0/stopLoss rule \"r\": a trigger order takes no stopLoss"))
        #expect(try refusal(#"{\#(base),"ordType":"stop"}"#).contains("trigger, move_order_stop, conditional, oco"))
    }
}
