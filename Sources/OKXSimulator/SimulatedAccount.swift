import Foundation
import SignalBridgeCore
import Synchronization

/// One order in the simulator's book.
public struct SimulatedOrder: Sendable, Equatable {
    public var ordId: String
    public var clOrdId: String
    public var request: OrderRequest
    public var state: String
    public var accFillSz: Decimal = 0
    public var avgPx: Decimal?
    public var fee: Decimal = 0
    public var feeCcy: String
    public var createdAt: Date
    public var updatedAt: Date

    /// The order as OKX reports it (`GET /api/v5/trade/order`).
    public var status: OrderStatus {
        OrderStatus(
            ordId: ordId, clOrdId: clOrdId, instId: request.instId, state: state, accFillSz: accFillSz, avgPx: avgPx, fee: fee,
            feeCcy: feeCcy)
    }
}

/// An order refused by the simulator, with OKX's own code.
public struct SimulatedRejection: Error, Sendable, Equatable {
    public var sCode: String
    public var sMsg: String
    public init(_ sCode: String, _ sMsg: String) {
        self.sCode = sCode
        self.sMsg = sMsg
    }
}

/// The simulator's exchange state: instruments, a ticker per instrument, balances and orders.
/// Market orders fill at the ticker (buys at the ask, sells at the bid); limit orders that cross fill at the
/// touch, others rest on the book. Fees are the taker rate, charged in the currency received, as OKX does.
public final class SimulatedAccount: Sendable {
    /// The taker fee rate.
    public static let takerFeeRate: Decimal = Decimal(string: "0.001")!

    struct State: Sendable {
        var instruments: [String: Instrument]
        var tickers: [String: Ticker]
        var balances: [String: Decimal]
        var orders: [String: SimulatedOrder] = [:]
        var orderSequence: [String] = []
        var nextOrdId = 700_000_000_000_000_000
    }

    private let state: Mutex<State>
    private let clock: @Sendable () -> Date

    /// A funded account with BTC-USDT and ETH-USDT at OKX's real lot, tick and minimum sizes.
    public init(clock: @escaping @Sendable () -> Date = Date.init) {
        self.clock = clock
        let now = clock()
        let instruments = [
            Instrument(instId: "BTC-USDT", baseCcy: "BTC", quoteCcy: "USDT", tickSz: Decimal(string: "0.1")!, lotSz: Decimal(string: "0.00000001")!, minSz: Decimal(string: "0.00001")!),
            Instrument(instId: "ETH-USDT", baseCcy: "ETH", quoteCcy: "USDT", tickSz: Decimal(string: "0.01")!, lotSz: Decimal(string: "0.000001")!, minSz: Decimal(string: "0.0001")!),
        ]
        let tickers = [
            Ticker(instId: "BTC-USDT", last: 60000, bid: Decimal(string: "59999.9")!, ask: Decimal(string: "60000.1")!, time: now),
            Ticker(instId: "ETH-USDT", last: 3000, bid: Decimal(string: "2999.99")!, ask: Decimal(string: "3000.01")!, time: now),
        ]
        state = Mutex(
            State(
                instruments: Dictionary(uniqueKeysWithValues: instruments.map { ($0.instId, $0) }),
                tickers: Dictionary(uniqueKeysWithValues: tickers.map { ($0.instId, $0) }),
                balances: ["USDT": 100_000, "BTC": 1, "ETH": 10]
            ))
    }

    /// Spot instruments, sorted by id.
    public func instruments() -> [Instrument] {
        state.withLock { $0.instruments.values.sorted { $0.instId < $1.instId } }
    }

    /// The ticker of `instId`, stamped now.
    public func ticker(_ instId: String) -> Ticker? {
        let now = clock()
        return state.withLock { $0.tickers[instId].map { var t = $0; t.time = now; return t } }
    }

    /// Moves the book of `instId` to `last`, with a one-tick spread; resting orders that now cross fill.
    public func setPrice(_ instId: String, last: Decimal) {
        let now = clock()
        state.withLock { state in
            guard let instrument = state.instruments[instId] else { return }
            state.tickers[instId] = Ticker(instId: instId, last: last, bid: last - instrument.tickSz, ask: last + instrument.tickSz, time: now)
            for ordId in state.orderSequence {
                guard var order = state.orders[ordId], order.request.instId == instId, order.state == "live",
                    let px = order.request.px, let ticker = state.tickers[instId]
                else { continue }
                let crosses = order.request.side == .buy ? px >= ticker.ask : px <= ticker.bid
                if crosses {
                    Self.fill(&order, size: order.request.sz, price: px, instrument: instrument, balances: &state.balances, reserved: true, now: now)
                    state.orders[ordId] = order
                }
            }
        }
    }

    /// Available balance per currency (non-zero only, as OKX lists them).
    public func balances() -> [Balance] {
        state.withLock { $0.balances.filter { $0.value != 0 }.map { Balance(ccy: $0.key, available: $0.value) }.sorted { $0.ccy < $1.ccy } }
    }

    /// The latest order with `clOrdId`, or the order `ordId`.
    public func order(instId: String, ordId: String?, clOrdId: String?) -> SimulatedOrder? {
        state.withLock { state in
            if let ordId, !ordId.isEmpty {
                return state.orders[ordId].flatMap { $0.request.instId == instId ? $0 : nil }
            }
            guard let clOrdId, !clOrdId.isEmpty else { return nil }
            for ordId in state.orderSequence.reversed() {
                if let order = state.orders[ordId], order.clOrdId == clOrdId, order.request.instId == instId { return order }
            }
            return nil
        }
    }

    /// Every order, oldest first.
    public func allOrders() -> [SimulatedOrder] {
        state.withLock { state in state.orderSequence.compactMap { state.orders[$0] } }
    }

    /// Places an order as OKX would, checking it the way OKX does.
    /// - Returns: the new order.
    /// - Throws: ``SimulatedRejection`` with OKX's `sCode`.
    public func place(_ request: OrderRequest) throws(SimulatedRejection) -> SimulatedOrder {
        let now = clock()
        return try state.withLock { (state: inout State) throws(SimulatedRejection) -> SimulatedOrder in
            guard let instrument = state.instruments[request.instId] else {
                throw SimulatedRejection("51001", "Instrument ID does not exist.")
            }
            guard instrument.state == "live" else { throw SimulatedRejection("51001", "Instrument ID does not exist.") }
            guard request.tdMode == "cash" else { throw SimulatedRejection("51000", "Parameter tdMode error") }
            if !request.clOrdId.isEmpty {
                guard request.clOrdId.count <= 32, request.clOrdId.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
                    throw SimulatedRejection("51000", "Parameter clOrdId error")
                }
                let pending = state.orders.values.contains {
                    $0.clOrdId == request.clOrdId && ($0.state == "live" || $0.state == "partially_filled")
                }
                if pending { throw SimulatedRejection("51016", "Duplicated clOrdId") }
            }
            guard request.sz > 0 else { throw SimulatedRejection("51000", "Parameter sz error") }
            guard let ticker = state.tickers[request.instId] else { throw SimulatedRejection("51001", "Instrument ID does not exist.") }
            let quoteSized = request.ordType == .market && (request.tgtCcy ?? (request.side == .buy ? "quote_ccy" : "base_ccy")) == "quote_ccy"
            let fillPrice: Decimal?
            if request.ordType == .market {
                fillPrice = request.side == .buy ? ticker.ask : ticker.bid
            } else {
                guard let px = request.px, px > 0 else { throw SimulatedRejection("51000", "Parameter px error") }
                guard px.isMultiple(of: instrument.tickSz) else { throw SimulatedRejection("51000", "Parameter px error") }
                let crosses = request.side == .buy ? px >= ticker.ask : px <= ticker.bid
                fillPrice = crosses ? (request.side == .buy ? ticker.ask : ticker.bid) : nil
                if request.ordType == .postOnly, crosses {
                    // OKX accepts the order and cancels it at once; the simulator refuses it plainly.
                    throw SimulatedRejection("51019", "Post-only order would take liquidity")
                }
            }
            let baseSize = quoteSized ? (request.sz / (fillPrice ?? 1)).rounded(toMultipleOf: instrument.lotSz, .down) : request.sz
            if !quoteSized {
                guard request.sz.isMultiple(of: instrument.lotSz) else {
                    throw SimulatedRejection("51121", "Order quantity must be a multiple of the lot size.")
                }
            }
            guard baseSize >= instrument.minSz else {
                throw SimulatedRejection("51020", "Your order should meet or exceed the minimum order amount.")
            }
            let price = request.px ?? fillPrice ?? 0
            let (spendCcy, spend) =
                request.side == .buy
                ? (instrument.quoteCcy, quoteSized ? request.sz : baseSize * (fillPrice ?? price))
                : (instrument.baseCcy, baseSize)
            guard (state.balances[spendCcy] ?? 0) >= spend else {
                throw SimulatedRejection("51008", "Order failed. Insufficient \(spendCcy) balance in account.")
            }
            state.nextOrdId += 1
            var order = SimulatedOrder(
                ordId: String(state.nextOrdId), clOrdId: request.clOrdId, request: request, state: "live",
                feeCcy: request.side == .buy ? instrument.baseCcy : instrument.quoteCcy, createdAt: now, updatedAt: now)
            if let fillPrice, request.ordType != .postOnly {
                Self.fill(&order, size: baseSize, price: fillPrice, instrument: instrument, balances: &state.balances, reserved: false, now: now)
            } else if request.ordType == .ioc || request.ordType == .fok {
                order.state = "canceled"
            } else {
                state.balances[spendCcy, default: 0] -= spend
            }
            state.orders[order.ordId] = order
            state.orderSequence.append(order.ordId)
            return order
        }
    }

    /// Cancels a live order.
    public func cancel(instId: String, ordId: String?, clOrdId: String?) throws(SimulatedRejection) -> SimulatedOrder {
        let now = clock()
        guard let found = order(instId: instId, ordId: ordId, clOrdId: clOrdId) else {
            throw SimulatedRejection("51400", "Order cancellation failed as the order has been filled, canceled or does not exist.")
        }
        return try state.withLock { (state: inout State) throws(SimulatedRejection) -> SimulatedOrder in
            guard var order = state.orders[found.ordId], order.state == "live", let instrument = state.instruments[instId] else {
                throw SimulatedRejection("51400", "Order cancellation failed as the order has been filled, canceled or does not exist.")
            }
            let px = order.request.px ?? 0
            if order.request.side == .buy {
                state.balances[instrument.quoteCcy, default: 0] += order.request.sz * px
            } else {
                state.balances[instrument.baseCcy, default: 0] += order.request.sz
            }
            order.state = "canceled"
            order.updatedAt = now
            state.orders[order.ordId] = order
            return order
        }
    }

    private static func fill(
        _ order: inout SimulatedOrder,
        size: Decimal,
        price: Decimal,
        instrument: Instrument,
        balances: inout [String: Decimal],
        reserved: Bool,
        now: Date
    ) {
        let quote = size * price
        if order.request.side == .buy {
            if reserved {
                balances[instrument.quoteCcy, default: 0] += order.request.sz * (order.request.px ?? price) - quote
            } else {
                balances[instrument.quoteCcy, default: 0] -= quote
            }
            let fee = size * takerFeeRate
            balances[instrument.baseCcy, default: 0] += size - fee
            order.fee = -fee
        } else {
            if !reserved { balances[instrument.baseCcy, default: 0] -= size }
            let fee = quote * takerFeeRate
            balances[instrument.quoteCcy, default: 0] += quote - fee
            order.fee = -fee
        }
        order.accFillSz = size
        order.avgPx = price
        order.state = "filled"
        order.updatedAt = now
    }
}
