import Foundation
import Testing

@testable import SignalBridgeCore

/// Attached take-profit and stop-loss (SPEC 5): OKX's `attachAlgoOrds` with a deterministic id, on the tick grid,
/// each on its side of the reference price, and the combinations OKX refuses refused before any signal.
@Suite struct AttachedExitTests {
    let builder = OrderBuilder(market: Fixture.market(), now: Fixture.now, maxPriceAgeSeconds: 60)

    func rule(_ order: String) -> String { Fixture.ruleFile(ordering: order) }

    func build(_ order: String, payload: String = "{}") throws -> PlannedOrder { try Fixture.build(order, with: builder, payload: payload) }

    @Test func aLimitBuyCarriesBothOnTheTickGrid() throws {
        let order = try build(
            #"{"instId":"BTC-USDT","side":"buy","ordType":"limit","size":{"base":"0.01"},"price":{"fixed":"60000"},"takeProfit":{"trigger":{"offsetPercent":5.00001},"order":"market"},"stopLoss":{"trigger":{"pointer":"/sl"},"order":{"offsetPercent":-3.5}}}"#,
            payload: #"{"sl":"58000.04"}"#
        )
        let attached = try #require(order.request.attached)
        #expect(attached.attachAlgoClOrdId == ClOrdId.attached(to: "sb1"))
        #expect(attached.attachAlgoClOrdId.count == 32 && attached.attachAlgoClOrdId.allSatisfy { $0.isLowercase || $0.isNumber })
        #expect(attached.tpTriggerPx == 63000)
        #expect(attached.tpOrdPx == -1)
        #expect(attached.slTriggerPx == 58000)
        #expect(attached.slOrdPx == 57900)
        #expect(
            order.request.json.jsonText
                == #"{"instId":"BTC-USDT","tdMode":"cash","clOrdId":"sb1","side":"buy","ordType":"limit","sz":"0.01","px":"60000","attachAlgoOrds":[{"attachAlgoClOrdId":"\#(attached.attachAlgoClOrdId)","tpTriggerPx":"63000","tpOrdPx":"-1","slTriggerPx":"58000","slOrdPx":"57900"}]}"#
        )
        // What is journaled reads back the same (restart, the simulator).
        #expect(OrderRequest(json: order.request.json) == order.request)
    }

    @Test func aMarketOrderPricesFromTheTickersLast() throws {
        let order = try build(
            #"{"instId":"BTC-USDT","side":"sell","ordType":"market","size":{"base":"0.01"},"stopLoss":{"trigger":{"offsetPercent":2},"order":"market"}}"#
        )
        #expect(order.request.attached?.slTriggerPx == 61200)
        #expect(order.request.attached?.tpTriggerPx == nil)
    }

    @Test func theWrongSideIsBlockedWithTheReason() throws {
        #expect(throws: DecisionBlock("take-profit trigger 59000 is not above the reference price 60000 of this buy")) {
            try build(
                #"{"instId":"BTC-USDT","side":"buy","ordType":"limit","size":{"base":"0.01"},"price":{"fixed":"60000"},"takeProfit":{"trigger":{"fixed":"59000"},"order":"market"}}"#
            )
        }
        #expect(throws: DecisionBlock("stop-loss trigger 59000 is not above the reference price 60000 of this sell")) {
            try build(
                #"{"instId":"BTC-USDT","side":"sell","ordType":"limit","size":{"base":"0.01"},"price":{"fixed":"60000"},"stopLoss":{"trigger":{"fixed":"59000"},"order":"market"}}"#
            )
        }
        // A side known only from the payload is checked then.
        #expect(
            throws: DecisionBlock(
                RuleParser.attachRefusal(
                    try Fixture.rules(rule(#"{"instId":"BTC-USDT","side":"buy","ordType":"market","size":{"base":"0.01"}}"#)).rules[0].orders[0],
                    side: .buy
                )!
            )
        ) {
            try build(
                #"{"instId":"BTC-USDT","side":"${/side}","ordType":"market","size":{"base":"0.01"},"stopLoss":{"trigger":{"offsetPercent":-2},"order":"market"}}"#,
                payload: #"{"side":"buy"}"#
            )
        }
        #expect(throws: DecisionBlock.self) {
            try build(
                #"{"instId":"BTC-USDT","side":"buy","ordType":"limit","size":{"base":"0.01"},"price":{"fixed":"60000"},"stopLoss":{"trigger":{"pointer":"/sl"},"order":"market"}}"#,
                payload: #"{"sl":"-5"}"#
            )
        }
    }

    @Test func rulesCheckRefusesWhatOKXRefusesNamingThePointer() throws {
        func refusal(_ order: String) throws -> String {
            try Fixture.ruleErrors(rule(order)).map { "\($0.pointer) \($0.message)" }.joined(separator: "; ")
        }
        let marketBuyInBase = try refusal(
            #"{"instId":"BTC-USDT","side":"buy","ordType":"market","size":{"base":"0.01"},"takeProfit":{"trigger":{"offsetPercent":5},"order":"market"}}"#
        )
        #expect(
            marketBuyInBase.hasPrefix(
                "/rules/0/orders/0/takeProfit rule \"r\": OKX attaches no take-profit or stop-loss to a market buy sized in base"
            )
        )
        let marketSellInQuote = try refusal(
            #"{"instId":"BTC-USDT","side":"sell","ordType":"market","size":{"quote":"100"},"stopLoss":{"trigger":{"offsetPercent":5},"order":"market"}}"#
        )
        #expect(
            marketSellInQuote.hasPrefix(
                "/rules/0/orders/0/stopLoss rule \"r\": OKX attaches no take-profit or stop-loss to a market sell sized in quote"
            )
        )
        // A take-profit limit order (no trigger) is what OKX refuses on spot.
        let limitTakeProfit = try refusal(
            #"{"instId":"BTC-USDT","side":"buy","ordType":"limit","size":{"base":"0.01"},"price":{"fixed":"60000"},"takeProfit":{"order":{"fixed":"65000"}}}"#
        )
        #expect(
            limitTakeProfit.hasPrefix(
                "/rules/0/orders/0/takeProfit/trigger rule \"r\": required: OKX refuses take-profit limit orders on spot (51094)"
            )
        )
        let buy = #"{"instId":"BTC-USDT","side":"buy","ordType":"market","size":{"quote":"10"},"#
        let refused: [(order: String, says: String)] = [
            (buy + #""stopLoss":{"trigger":{"offsetPercent":0},"order":"market"}}"#, "/rules/0/orders/0/stopLoss/trigger/offsetPercent"),
            (buy + #""stopLoss":{"trigger":{"fixed":"1"},"order":"limit"}}"#, "/rules/0/orders/0/stopLoss/order"),
            (buy + #""stopLoss":{"trigger":{"fixed":"1","pointer":"/p"},"order":"market"}}"#, "/rules/0/orders/0/stopLoss/trigger"),
            (buy + #""stopLoss":{"trigger":{"fixed":"1"},"order":"market","kind":"limit"}}"#, "/rules/0/orders/0/stopLoss"),
            (
                buy + #""stopLoss":{"trigger":{"offsetPercent":2},"order":"market"}}"#,
                "/rules/0/orders/0/stopLoss/trigger/offsetPercent rule \"r\": a buy's stop-loss triggers below the reference price: the percentage must be negative"
            ),
            (
                #"{"instId":"BTC-USDT","side":"sell","ordType":"market","size":{"base":"0.01"},"takeProfit":{"trigger":{"offsetPercent":2},"order":"market"}}"#,
                "a sell's take-profit triggers below the reference price"
            ),
        ]
        for (order, says) in refused {
            #expect(try refusal(order).contains(says), "\(order)")
        }
        // A market buy sized in quote and a sell sized in base take both.
        #expect(
            try refusal(
                #"{"instId":"BTC-USDT","side":"buy","ordType":"market","size":{"quote":"10"},"takeProfit":{"trigger":{"offsetPercent":5},"order":"market"},"stopLoss":{"trigger":{"offsetPercent":-5},"order":"market"}}"#
            ).isEmpty
        )
    }

    @Test func eachSideIsCheckedAndAStopMustFillWhenTriggered() throws {
        let limitBuy = #"{"instId":"BTC-USDT","side":"buy","ordType":"limit","size":{"base":"0.01"},"price":{"fixed":"60000"},"#
        let limitSell = #"{"instId":"BTC-USDT","side":"sell","ordType":"limit","size":{"base":"0.01"},"price":{"fixed":"60000"},"#
        #expect(throws: DecisionBlock("stop-loss trigger 61000 is not below the reference price 60000 of this buy")) {
            try build(limitBuy + #""stopLoss":{"trigger":{"fixed":"61000"},"order":"market"}}"#)
        }
        #expect(throws: DecisionBlock("take-profit trigger 61000 is not below the reference price 60000 of this sell")) {
            try build(limitSell + #""takeProfit":{"trigger":{"fixed":"61000"},"order":"market"}}"#)
        }
        // Rounded onto the reference price is not beyond it.
        #expect(throws: DecisionBlock.self) { try build(limitBuy + #""takeProfit":{"trigger":{"fixed":"60000.04"},"order":"market"}}"#) }
        #expect(throws: DecisionBlock("stop-loss order price 59200 is above its trigger 58800: it would not fill when triggered")) {
            try build(limitBuy + #""stopLoss":{"trigger":{"offsetPercent":-2},"order":{"offsetPercent":"-1.33333"}}}"#)
        }
        #expect(throws: DecisionBlock("stop-loss order price 60900 is below its trigger 61200: it would not fill when triggered")) {
            try build(limitSell + #""stopLoss":{"trigger":{"offsetPercent":2},"order":{"fixed":"60900"}}}"#)
        }
        let sellStop = try build(
            limitSell
                + #""takeProfit":{"trigger":{"offsetPercent":-3},"order":"market"},"stopLoss":{"trigger":{"offsetPercent":2},"order":{"offsetPercent":2.5}}}"#
        )
        #expect(sellStop.request.attached?.tpTriggerPx == 58200 && sellStop.request.attached?.slOrdPx == 61500)
        #expect(Decider.describe(sellStop) == "sell 0.01 BTC-USDT limit @ 60000, tp 58200 (market), sl 61200 @ 61500")
    }

    @Test func aBuyWhoseExitsWouldBeBelowTheMinimumIsBlocked() throws {
        #expect(
            throws: DecisionBlock(
                "the take-profit/stop-loss would sell 0.00000999 BTC (the size less the fee), below the minimum 0.00001 of BTC-USDT"
            )
        ) {
            try build(
                #"{"instId":"BTC-USDT","side":"buy","ordType":"limit","size":{"base":"0.00001"},"price":{"fixed":"60000"},"takeProfit":{"trigger":{"offsetPercent":3},"order":"market"}}"#
            )
        }
    }

    /// A body is read whole or not at all: an order is never taken without the take-profit or stop-loss it asked for.
    @Test func attachAlgoOrdsIsReadStrictly() throws {
        func request(_ attach: String) throws -> OrderRequest? {
            OrderRequest(
                json: try JSONParser.parse(
                    #"{"instId":"BTC-USDT","side":"buy","ordType":"limit","sz":"0.01","px":"60000","attachAlgoOrds":\#(attach)}"#
                )
            )
        }
        #expect(try request("null")?.attached == nil && request("null") != nil)
        #expect(try request("[]") != nil)
        #expect(
            try request(#"[{"attachAlgoClOrdId":"a","tpTriggerPx":"61000","tpOrdPx":"-1","slTriggerPx":"","slOrdPx":"","tpOrdKind":""}]"#)?.attached?
                .tpTriggerPx == 61000
        )
        #expect(try request(#"[{"tpTriggerPx":"61000","tpOrdPx":"-1"},{"slTriggerPx":"59000","slOrdPx":"-1"}]"#) == nil)
        #expect(try request(#"[{"tpTriggerPx":"abc","tpOrdPx":"-1"}]"#) == nil)
        #expect(try request(#"[{"tpOrdPx":"65000","tpOrdKind":"limit"}]"#) == nil)
        #expect(try request(#"[{"tpTriggerPx":"61000","tpOrdPx":"-1","tpOrdKind":"limit"}]"#) == nil)
        #expect(try request(#"{"tpTriggerPx":"61000"}"#) == nil)
    }
}
