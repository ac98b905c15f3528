import Foundation
import Testing

@testable import OKXSimulator
@testable import SignalBridgeCore

/// Partial fills against a book with depth (`POST /sim/depth`): a market order takes the levels one by one at several
/// prices, a resting limit order fills a level's worth each time the price moves through it; `accFillSz` and `fee` add
/// up, `avgPx` is weighted, the state is `partially_filled` until the last part, and an attached take-profit is armed
/// only once the order is fully filled.
@Suite struct SimulatorPartialFillTests {
    static func d(_ text: String) -> Decimal { Decimal(string: text)! }

    static func account(levelSz: String) -> SimulatedAccount {
        let account = SimulatedAccount()
        account.setLevelSize("BTC-USDT", d(levelSz))
        return account
    }

    @Test func aMarketOrderWalksTheBookAtSeveralPrices() throws {
        let account = Self.account(levelSz: "0.02")
        let order = try account.place(
            OrderRequest(instId: "BTC-USDT", clOrdId: "m1", side: .buy, ordType: .market, sz: Self.d("0.05"), tgtCcy: "base_ccy")
        )
        #expect(order.state == "filled" && order.accFillSz == Self.d("0.05"))
        let fills = account.fills(instId: "BTC-USDT", ordId: order.ordId).reversed()
        #expect(fills.map(\.fillPx) == [Self.d("60000.1"), Self.d("60000.2"), Self.d("60000.3")])
        #expect(fills.map(\.fillSz) == [Self.d("0.02"), Self.d("0.02"), Self.d("0.01")])
        // Weighted by size: (0.02 × 60000.1 + 0.02 × 60000.2 + 0.01 × 60000.3) / 0.05.
        #expect(order.avgPx == Self.d("60000.18"))
        #expect(order.fee == -Self.d("0.00005") && fills.map(\.fee).reduce(0, +) == order.fee)
    }

    @Test func aMarketOrderLargerThanTheBookIsCanceledWithWhatItGot() throws {
        let account = Self.account(levelSz: "0.02")
        let order = try account.place(
            OrderRequest(instId: "BTC-USDT", clOrdId: "m2", side: .sell, ordType: .market, sz: Self.d("0.2"), tgtCcy: "base_ccy")
        )
        #expect(order.state == "canceled" && order.accFillSz == Self.d("0.1"))
        #expect(account.fills(instId: "BTC-USDT", ordId: order.ordId).map(\.fillPx).min() == Self.d("59999.5"))
    }

    @Test func fillOrKillFillsWhollyOrNotAtAllAndImmediateOrCancelKeepsWhatItGot() throws {
        let account = Self.account(levelSz: "0.02")
        // Within 60000.2 the book holds two levels, 0.04: a fok of 0.05 is killed with nothing filled.
        let killed = try account.place(
            OrderRequest(instId: "BTC-USDT", clOrdId: "f1", side: .buy, ordType: .fok, sz: Self.d("0.05"), px: Self.d("60000.2"))
        )
        #expect(killed.state == "canceled" && killed.accFillSz == 0 && account.fills(instId: "BTC-USDT", ordId: killed.ordId).isEmpty)
        let filled = try account.place(
            OrderRequest(instId: "BTC-USDT", clOrdId: "f2", side: .buy, ordType: .fok, sz: Self.d("0.04"), px: Self.d("60000.2"))
        )
        #expect(filled.state == "filled" && filled.accFillSz == Self.d("0.04"))
        let partial = try account.place(
            OrderRequest(instId: "BTC-USDT", clOrdId: "i1", side: .buy, ordType: .ioc, sz: Self.d("0.05"), px: Self.d("60000.2"))
        )
        #expect(partial.state == "canceled" && partial.accFillSz == Self.d("0.04"))
    }

    @Test func aBuyNeedsItsWorstPriceAvailableAndNoLevelIsFree() throws {
        let account = Self.account(levelSz: "0.02")
        // 1.66 × 62000 = 102920 USDT: more than the 100000 there, though the touch would cost less.
        #expect(throws: SimulatedRejection.self) {
            try account.place(OrderRequest(instId: "BTC-USDT", clOrdId: "b1", side: .buy, ordType: .limit, sz: Self.d("1.66"), px: 62000))
        }
        account.setLevelSize("SOL-USDT", 1)
        account.setPrice("SOL-USDT", last: Self.d("0.03"))
        let sold = try account.place(OrderRequest(instId: "SOL-USDT", clOrdId: "s1", side: .sell, ordType: .market, sz: 5, tgtCcy: "base_ccy"))
        let prices = account.fills(instId: "SOL-USDT", ordId: sold.ordId).map(\.fillPx)
        #expect(prices.allSatisfy { $0 > 0 } && prices.count == 2 && sold.state == "canceled")
    }

    @Test func aMarketBuyInQuoteSpendsItsAmountAcrossLevels() throws {
        let account = Self.account(levelSz: "0.02")
        let before = account.balances().first { $0.ccy == "USDT" }?.available ?? 0
        let order = try account.place(OrderRequest(instId: "BTC-USDT", clOrdId: "m3", side: .buy, ordType: .market, sz: 3000, tgtCcy: "quote_ccy"))
        let after = account.balances().first { $0.ccy == "USDT" }?.available ?? 0
        #expect(order.state == "filled" && account.fills(instId: "BTC-USDT", ordId: order.ordId).count == 3)
        #expect(before - after <= 3000 && before - after > 2999)
    }

    @Test func aRestingOrderFillsInPartsAndItsTakeProfitWaitsForTheLast() throws {
        let account = Self.account(levelSz: "0.02")
        let algo = AttachedAlgo(attachAlgoClOrdId: "sa9", tpTriggerPx: 61000, tpOrdPx: AttachedAlgo.market)
        let order = try account.place(
            OrderRequest(instId: "BTC-USDT", clOrdId: "l1", side: .buy, ordType: .limit, sz: Self.d("0.05"), px: 59000, attached: algo)
        )
        #expect(order.state == "live")
        account.setPrice("BTC-USDT", last: 58900)
        var now = try #require(account.order(instId: "BTC-USDT", ordId: order.ordId, clOrdId: nil))
        #expect(now.state == "partially_filled" && now.accFillSz == Self.d("0.02"))
        // Not fully filled: its take-profit is not armed, so a price through the trigger places nothing.
        account.setPrice("BTC-USDT", last: 61500)
        #expect(account.allOrders().count == 1)
        account.setPrice("BTC-USDT", last: 58800)
        account.setPrice("BTC-USDT", last: 58700)
        now = try #require(account.order(instId: "BTC-USDT", ordId: order.ordId, clOrdId: nil))
        #expect(now.state == "filled" && now.accFillSz == Self.d("0.05") && now.avgPx == 59000)
        #expect(now.fee == -Self.d("0.00004") && account.fills(instId: "BTC-USDT", ordId: order.ordId).count == 3)
        account.setPrice("BTC-USDT", last: 61000)
        #expect(account.allOrders().last?.algoClOrdId == "sa9")
    }

    @Test func cancelingAPartlyFilledOrderFreesOnlyWhatIsLeft() throws {
        let account = Self.account(levelSz: "0.02")
        let usdt = { account.balances().first { $0.ccy == "USDT" }?.available ?? 0 }
        let start = usdt()
        let order = try account.place(OrderRequest(instId: "BTC-USDT", clOrdId: "l2", side: .buy, ordType: .limit, sz: Self.d("0.05"), px: 59000))
        account.setPrice("BTC-USDT", last: 58900)
        let canceled = try account.cancel(instId: "BTC-USDT", ordId: order.ordId, clOrdId: nil)
        #expect(canceled.state == "canceled" && canceled.accFillSz == Self.d("0.02"))
        #expect(start - usdt() == Self.d("1180") && account.frozen("USDT") == 0)
    }
}
