import Foundation
import Testing

@testable import OKXSimulator
@testable import SignalBridgeCore

/// Attached take-profit and stop-loss at the simulator, as OKX runs them on spot: checked when the order is placed,
/// created once the order is fully filled, and placing their order when the price crosses a trigger (one cancels the
/// other).
@Suite struct SimulatorAttachedExitTests {
    static func limitBuy(px: Decimal, clOrdId: String, algo: AttachedAlgo) -> OrderRequest {
        OrderRequest(instId: "BTC-USDT", clOrdId: clOrdId, side: .buy, ordType: .limit, sz: Decimal(string: "0.01")!, px: px, attached: algo)
    }

    @Test func aFilledBuysTakeProfitSellsWhenThePriceRisesAndItsStopLossGoes() throws {
        let account = SimulatedAccount()
        let algo = AttachedAlgo(attachAlgoClOrdId: "sa1", tpTriggerPx: 61000, tpOrdPx: AttachedAlgo.market, slTriggerPx: 58000, slOrdPx: 57900)
        let parent = try account.place(Self.limitBuy(px: 59000, clOrdId: "p1", algo: algo))
        #expect(parent.state == "live")
        // Not filled yet: a price through the take-profit does nothing.
        account.setPrice("BTC-USDT", last: 61500)
        #expect(account.allOrders().count == 1)
        account.setPrice("BTC-USDT", last: 58900)
        #expect(account.allOrders().map(\.state) == ["filled"])
        account.setPrice("BTC-USDT", last: 60000)
        #expect(account.allOrders().count == 1)
        account.setPrice("BTC-USDT", last: 61000)
        let orders = account.allOrders()
        #expect(orders.count == 2)
        let exit = try #require(orders.last)
        #expect(exit.algoClOrdId == "sa1")
        #expect(exit.request.side == .sell && exit.request.ordType == .market && exit.state == "filled")
        // What the buy received, less its fee in BTC, on the lot grid.
        #expect(
            exit.request.sz
                == (parent.request.sz - parent.request.sz * Decimal(string: "0.0008")!).rounded(toMultipleOf: Instrument.okxBTCUSDT.lotSz, .down)
        )
        // The stop-loss went with it.
        account.setPrice("BTC-USDT", last: 57000)
        #expect(account.allOrders().count == 2)
    }

    @Test func aStopLossPlacesItsLimitOrder() throws {
        let account = SimulatedAccount()
        let algo = AttachedAlgo(attachAlgoClOrdId: "sa2", slTriggerPx: 59000, slOrdPx: Decimal(string: "58990.5")!)
        let parent = try account.place(
            OrderRequest(instId: "BTC-USDT", clOrdId: "p2", side: .buy, ordType: .market, sz: 100, tgtCcy: "quote_ccy", attached: algo)
        )
        #expect(parent.state == "filled")
        account.setPrice("BTC-USDT", last: 59000)
        let exit = try #require(account.allOrders().last)
        #expect(exit.algoClOrdId == "sa2" && exit.request.ordType == .limit && exit.request.px == Decimal(string: "58990.5"))
    }

    @Test func whatOKXRefusesIsRefused() {
        let account = SimulatedAccount()
        let algo = AttachedAlgo(attachAlgoClOrdId: "sa3", tpTriggerPx: 70000, tpOrdPx: AttachedAlgo.market)
        #expect(throws: SimulatedRejection.self) {
            try account.place(
                OrderRequest(
                    instId: "BTC-USDT",
                    clOrdId: "p3",
                    side: .buy,
                    ordType: .market,
                    sz: Decimal(string: "0.01")!,
                    tgtCcy: "base_ccy",
                    attached: algo
                )
            )
        }
        #expect(throws: SimulatedRejection.self) {
            try account.place(
                Self.limitBuy(
                    px: 59000,
                    clOrdId: "p4",
                    algo: AttachedAlgo(attachAlgoClOrdId: "sa4", tpTriggerPx: Decimal(string: "70000.05")!, tpOrdPx: -1)
                )
            )
        }
        #expect(account.allOrders().isEmpty)
    }
}
