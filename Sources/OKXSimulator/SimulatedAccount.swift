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
    /// The `attachAlgoClOrdId` of the take-profit or stop-loss that placed this order, when one did.
    public var algoClOrdId: String? = nil
    /// What fills it completely, in base currency (a market order sized in quote: what its quote buys at the touch).
    public var baseSz: Decimal = 0
    /// The quote value of its fills so far, exact (``avgPx`` is this over ``accFillSz``, rounded).
    public var filledNotional: Decimal = 0

    /// The order as OKX reports it (`GET /api/v5/trade/order`).
    public var status: OrderStatus {
        var status = OrderStatus(
            ordId: ordId,
            clOrdId: clOrdId,
            instId: request.instId,
            state: state,
            accFillSz: accFillSz,
            avgPx: avgPx,
            fee: fee,
            feeCcy: feeCcy
        )
        status.placedBy = algoClOrdId
        return status
    }

    /// Whether the order is still on the book.
    public var isPending: Bool { state == "live" || state == "partially_filled" }
}

/// One fill (`GET /api/v5/trade/fills`).
public struct SimulatedFill: Sendable, Equatable {
    public var tradeId: String
    public var billId: String
    public var ordId: String
    public var clOrdId: String
    public var instId: String
    public var side: OrderSide
    public var fillPx: Decimal
    public var fillSz: Decimal
    /// Negative: a charge.
    public var fee: Decimal
    public var feeCcy: String
    /// `T` taker, `M` maker.
    public var execType: String
    public var time: Date
}

/// A change of an order, as the private WebSocket `orders` channel pushes it.
public struct SimulatedOrderEvent: Sendable {
    public var order: SimulatedOrder
    /// The fill that caused the change, if any.
    public var fill: SimulatedFill?
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

/// The simulator's exchange state: instruments, a ticker per instrument, balances, orders and fills.
/// Market orders fill at the ticker (buys at the ask, sells at the bid); limit orders that cross fill at the
/// touch, others rest on the book and fill when the price crosses them. Fees are 0.1 % (taker) or 0.08 % (maker),
/// charged in the currency received, as OKX does.
public final class SimulatedAccount: Sendable {
    public static let takerFeeRate = Decimal(string: "0.001")!
    public static let makerFeeRate = Decimal(string: "0.0008")!

    struct State: Sendable {
        var instruments: [String: Instrument]
        var tickers: [String: Ticker]
        var balances: [String: Decimal]
        var frozen: [String: Decimal] = [:]
        var orders: [String: SimulatedOrder] = [:]
        /// Take-profits and stop-losses of fully filled orders, by the parent's `ordId`, waiting for their trigger.
        var exits: [String: ArmedExit] = [:]
        var orderSequence: [String] = []
        var fills: [SimulatedFill] = []
        var nextOrdId = 700_000_000_000_000_000
        var nextTradeId = 1
        /// OKX `acctLv`: 1 Spot, 2 Futures, 3 Multi-currency margin, 4 Portfolio margin.
        var accountLevel = 1
        /// The addresses the simulated API key is bound to (`ip` of `GET /api/v5/account/config`): none.
        var boundIPs = ""
        var observers: [UUID: AsyncStream<SimulatedOrderEvent>.Continuation] = [:]
        var tickerObservers: [UUID: AsyncStream<Ticker>.Continuation] = [:]
        /// The size of each level of an instrument's book, in base currency; none: every level is deep enough for any
        /// order (one fill at the touch).
        var levelSize: [String: Decimal] = [:]
        /// Algo orders (`order-algo`) by `algoId`, and their ids in the order they came.
        var algos: [String: SimulatedAlgoOrder] = [:]
        var algoSequence: [String] = []
        var nextAlgoId = 900_000_000_000_000_000
        /// Algo orders changed by the current step, for the `orders-algo` pushes.
        var algoChanges: [SimulatedAlgoOrder] = []
        var algoObservers: [UUID: AsyncStream<SimulatedAlgoOrder>.Continuation] = [:]
    }

    /// The precision of a weighted `avgPx`.
    static let avgPxStep = Decimal(string: "0.000000000001")!

    /// How many levels a side of the book has (as `books5` shows): a market order that has taken them all is done.
    static let bookLevels = 5

    let state: Mutex<State>
    let clock: @Sendable () -> Date

    /// OKX's SOL-USDT spot instrument: tick 0.01, lot 0.000001, minimum 0.01 SOL.
    static let solUSDT = Instrument(
        instId: "SOL-USDT",
        baseCcy: "SOL",
        quoteCcy: "USDT",
        tickSz: Decimal(string: "0.01")!,
        lotSz: Decimal(string: "0.000001")!,
        minSz: Decimal(string: "0.01")!
    )

    /// A funded account (100 000 USDT, 1 BTC, 10 ETH, 100 SOL) with BTC-USDT, ETH-USDT and SOL-USDT at OKX's real lot,
    /// tick and minimum sizes.
    public init(clock: @escaping @Sendable () -> Date = Date.init) {
        self.clock = clock
        let now = clock()
        let instruments = [Instrument.okxBTCUSDT, Instrument.okxETHUSDT, Self.solUSDT]
        let tickers = [
            Ticker(instId: "BTC-USDT", last: 60000, bid: Decimal(string: "59999.9")!, ask: Decimal(string: "60000.1")!, time: now),
            Ticker(instId: "ETH-USDT", last: 3000, bid: Decimal(string: "2999.99")!, ask: Decimal(string: "3000.01")!, time: now),
            Ticker(instId: "SOL-USDT", last: 150, bid: Decimal(string: "149.99")!, ask: Decimal(string: "150.01")!, time: now),
        ]
        state = Mutex(
            State(
                instruments: Dictionary(uniqueKeysWithValues: instruments.map { ($0.instId, $0) }),
                tickers: Dictionary(uniqueKeysWithValues: tickers.map { ($0.instId, $0) }),
                balances: ["USDT": 100_000, "BTC": 1, "ETH": 10, "SOL": 100]
            )
        )
    }

    // MARK: - Reading

    /// Spot instruments, sorted by id.
    public func instruments() -> [Instrument] {
        state.withLock { $0.instruments.values.sorted { $0.instId < $1.instId } }
    }

    /// The ticker of `instId`, stamped now.
    public func ticker(_ instId: String) -> Ticker? {
        let now = clock()
        return state.withLock {
            $0.tickers[instId].map {
                var t = $0
                t.time = now
                return t
            }
        }
    }

    /// Every ticker, sorted by instrument.
    public func tickers() -> [Ticker] {
        instruments().compactMap { ticker($0.instId) }
    }

    /// Available balance per currency (non-zero only, as OKX lists them), with the amount frozen in orders.
    public func balances() -> [Balance] {
        state.withLock { $0.balances.filter { $0.value != 0 }.map { Balance(ccy: $0.key, available: $0.value) }.sorted { $0.ccy < $1.ccy } }
    }

    /// The amount of `ccy` frozen in resting orders.
    public func frozen(_ ccy: String) -> Decimal { state.withLock { $0.frozen[ccy] ?? 0 } }

    /// OKX's `acctLv`.
    public var accountLevel: Int {
        get { state.withLock { $0.accountLevel } }
        set { state.withLock { $0.accountLevel = newValue } }
    }

    /// The addresses the API key is bound to, comma-separated as OKX writes them (`""`: none).
    public var boundIPs: String {
        get { state.withLock { $0.boundIPs } }
        set { state.withLock { $0.boundIPs = newValue } }
    }

    /// The latest order with `clOrdId`, or the order `ordId` (which wins when both are given, as on OKX).
    public func order(instId: String, ordId: String?, clOrdId: String?) -> SimulatedOrder? {
        state.withLock { state in Self.find(in: state, instId: instId, ordId: ordId, clOrdId: clOrdId) }
    }

    /// Every order, oldest first.
    public func allOrders() -> [SimulatedOrder] {
        state.withLock { state in state.orderSequence.compactMap { state.orders[$0] } }
    }

    /// Orders still on the book, newest first (as `orders-pending` lists them).
    public func pendingOrders(instId: String?) -> [SimulatedOrder] {
        allOrders().reversed().filter { $0.isPending && (instId == nil || $0.request.instId == instId) }
    }

    /// Fills, newest first, optionally of one instrument or order.
    public func fills(instId: String?, ordId: String?) -> [SimulatedFill] {
        state.withLock { $0.fills }.reversed().filter { (instId == nil || $0.instId == instId) && (ordId == nil || $0.ordId == ordId) }
    }

    /// How many streams from ``orderEvents()`` are open.
    var observerCount: Int { state.withLock { $0.observers.count } }

    /// A stream of every order change from now on (what the WebSocket `orders` channel pushes).
    public func orderEvents() -> AsyncStream<SimulatedOrderEvent> {
        let (stream, continuation) = AsyncStream<SimulatedOrderEvent>.makeStream()
        let id = UUID()
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.observers.removeValue(forKey: id) }
        }
        state.withLock { $0.observers[id] = continuation }
        return stream
    }

    /// Gives each of the five levels on each side of `instId`'s book `size` (base currency), so that orders fill in
    /// parts: a market order across levels at several prices, a resting order one level's worth each time the price
    /// moves through it. Nil: unlimited depth (one fill at the touch), the default.
    public func setLevelSize(_ instId: String, _ size: Decimal?) {
        state.withLock { $0.levelSize[instId] = size }
    }

    /// The size of each level of `instId`'s book, when it is limited.
    public func levelSize(_ instId: String) -> Decimal? { state.withLock { $0.levelSize[instId] } }

    /// A stream of every price change from now on (what the public WebSocket `tickers` and `books5` channels push).
    public func tickerEvents() -> AsyncStream<Ticker> {
        let (stream, continuation) = AsyncStream<Ticker>.makeStream(bufferingPolicy: .bufferingNewest(64))
        let id = UUID()
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.tickerObservers.removeValue(forKey: id) }
        }
        state.withLock { $0.tickerObservers[id] = continuation }
        return stream
    }

    // MARK: - Trading

    /// Moves the book of `instId` to `last`, with a one-tick spread; resting orders that now cross fill (as makers).
    public func setPrice(_ instId: String, last: Decimal) {
        let now = clock()
        mutate { state, events in
            guard let instrument = state.instruments[instId] else { return }
            state.tickers[instId] = Ticker(instId: instId, last: last, bid: last - instrument.tickSz, ask: last + instrument.tickSz, time: now)
            for ordId in state.orderSequence {
                guard var order = state.orders[ordId], order.request.instId == instId, order.isPending, let px = order.request.px
                else { continue }
                let crosses = order.request.side == .buy ? px >= last + instrument.tickSz : px <= last - instrument.tickSz
                guard crosses else { continue }
                // One level's worth each time the price moves through it.
                let remaining = order.baseSz - order.accFillSz
                let size = min(remaining, state.levelSize[instId] ?? remaining)
                let fill = Self.fill(&order, size: size, price: px, maker: true, instrument: instrument, state: &state, now: now)
                events.append(SimulatedOrderEvent(order: order, fill: fill))
                Self.arm(order, instrument: instrument, state: &state)
            }
            Self.trigger(instId, last: last, state: &state, events: &events, now: now)
            Self.runAlgos(instId, last: last, state: &state, events: &events, now: now)
        }
        let (ticker, observers) = state.withLock { ($0.tickers[instId], Array($0.tickerObservers.values)) }
        if let ticker { observers.forEach { $0.yield(ticker) } }
    }

    /// A take-profit or stop-loss of a filled order, waiting for its trigger (OKX creates it once the parent is fully
    /// filled). One triggered cancels the other, as OKX's attached pair does.
    struct ArmedExit: Sendable {
        var instId: String
        /// The parent's side: the exit trades the other way.
        var side: OrderSide
        /// What the exit sells (or buys back), in base currency.
        var size: Decimal
        var algo: AttachedAlgo
    }

    /// Arms the take-profit and stop-loss of `order` once it is fully filled.
    private static func arm(_ order: SimulatedOrder, instrument: Instrument, state: inout State) {
        guard order.state == "filled", let algo = order.request.attached else { return }
        // A buy received its size less the fee (charged in base); a sell buys back what it sold.
        let size = (order.request.side == .buy ? order.accFillSz + order.fee : order.accFillSz).rounded(toMultipleOf: instrument.lotSz, .down)
        state.exits[order.ordId] = ArmedExit(instId: order.request.instId, side: order.request.side, size: size, algo: algo)
    }

    /// Places the exits of `instId` that `last` triggers: a buy's take-profit at or above its trigger, its stop-loss
    /// at or below; a sell's the other way round. An exit OKX would refuse (the balance moved away) is dropped.
    private static func trigger(_ instId: String, last: Decimal, state: inout State, events: inout [SimulatedOrderEvent], now: Date) {
        for (parent, exit) in state.exits.sorted(by: { $0.key < $1.key }) where exit.instId == instId {
            let up = exit.side == .buy
            let takeProfit = exit.algo.tpTriggerPx.map { up ? last >= $0 : last <= $0 } ?? false
            let stopLoss = exit.algo.slTriggerPx.map { up ? last <= $0 : last >= $0 } ?? false
            guard takeProfit || stopLoss else { continue }
            state.exits[parent] = nil
            let orderPx = (takeProfit ? exit.algo.tpOrdPx : exit.algo.slOrdPx) ?? AttachedAlgo.market
            let market = orderPx == AttachedAlgo.market
            let request = OrderRequest(
                instId: instId,
                clOrdId: "",
                side: up ? .sell : .buy,
                ordType: market ? .market : .limit,
                sz: exit.size,
                px: market ? nil : orderPx,
                tgtCcy: market ? "base_ccy" : nil
            )
            _ = try? place(request, algoClOrdId: exit.algo.attachAlgoClOrdId, state: &state, events: &events, now: now)
        }
    }

    /// Places an order as OKX would, checking it the way OKX does.
    /// - Returns: the new order.
    /// - Throws: ``SimulatedRejection`` with OKX's `sCode`.
    public func place(_ request: OrderRequest) throws(SimulatedRejection) -> SimulatedOrder {
        let now = clock()
        return try mutate { (state: inout State, events: inout [SimulatedOrderEvent]) throws(SimulatedRejection) -> SimulatedOrder in
            try Self.place(request, algoClOrdId: nil, state: &state, events: &events, now: now)
        }
    }

    /// Places `request` under the lock (`algoClOrdId`: the exit that places it).
    static func place(
        _ request: OrderRequest,
        algoClOrdId: String?,
        state: inout State,
        events: inout [SimulatedOrderEvent],
        now: Date
    ) throws(SimulatedRejection) -> SimulatedOrder {
        let instrument = try Self.check(request, in: state)
        guard let ticker = state.tickers[request.instId] else { throw SimulatedRejection("51001", "Instrument ID does not exist.") }
        let takerPrice = request.side == .buy ? ticker.ask : ticker.bid
        let crosses = request.px.map { request.side == .buy ? $0 >= ticker.ask : $0 <= ticker.bid } ?? true
        if request.ordType == .postOnly, crosses {
            throw SimulatedRejection("51019", "Post only order can not be filled immediately")
        }
        let quoteSized = request.ordType == .market && (request.tgtCcy ?? (request.side == .buy ? "quote_ccy" : "base_ccy")) == "quote_ccy"
        let baseSize = quoteSized ? (request.sz / takerPrice).rounded(toMultipleOf: instrument.lotSz, .down) : request.sz
        guard baseSize >= instrument.minSz else {
            throw SimulatedRejection("51020", "Your order should meet or exceed the minimum order amount.")
        }
        let spendCcy = request.side == .buy ? instrument.quoteCcy : instrument.baseCcy
        // A buy pays at most its limit price; a market buy in base, what the book's levels can cost (the worst level
        // when the depth is limited).
        let worstLevel = takerPrice + (state.levelSize[request.instId] == nil ? 0 : Decimal(bookLevels - 1) * instrument.tickSz)
        let spend: Decimal =
            request.side == .sell ? baseSize : quoteSized ? request.sz : baseSize * (request.px ?? worstLevel)
        guard (state.balances[spendCcy] ?? 0) >= spend else {
            throw SimulatedRejection("51008", "Order failed. Insufficient \(spendCcy) balance in account.")
        }
        state.nextOrdId += 1
        var order = SimulatedOrder(
            ordId: String(state.nextOrdId),
            clOrdId: request.clOrdId,
            request: request,
            state: "live",
            feeCcy: request.side == .buy ? instrument.baseCcy : instrument.quoteCcy,
            createdAt: now,
            updatedAt: now,
            algoClOrdId: algoClOrdId,
            baseSz: baseSize
        )
        state.orders[order.ordId] = order
        state.orderSequence.append(order.ordId)
        if crosses {
            takeLiquidity(
                &order,
                quote: quoteSized ? request.sz : nil,
                touch: takerPrice,
                instrument: instrument,
                state: &state,
                events: &events,
                now: now
            )
        } else if request.ordType == .ioc || request.ordType == .fok {
            order.state = "canceled"
            state.orders[order.ordId] = order
            events.append(SimulatedOrderEvent(order: order, fill: nil))
        } else {
            state.balances[spendCcy, default: 0] -= spend
            state.frozen[spendCcy, default: 0] += spend
            events.append(SimulatedOrderEvent(order: order, fill: nil))
        }
        arm(order, instrument: instrument, state: &state)
        return order
    }

    /// Fills a crossing order against the book, level by level from the touch (a tick apart, `levelSize` each),
    /// one fill per level, as far as its limit price allows. What is left of a market (or `ioc`/`fok`) order once
    /// the levels are taken is canceled; of a limit order, it rests at its price (its spend frozen).
    /// - Parameter quote: the quote amount to spend, for a market order sized in quote.
    private static func takeLiquidity(
        _ order: inout SimulatedOrder,
        quote: Decimal?,
        touch: Decimal,
        instrument: Instrument,
        state: inout State,
        events: inout [SimulatedOrderEvent],
        now: Date
    ) {
        let request = order.request
        let step = request.side == .buy ? instrument.tickSz : -instrument.tickSz
        let depth = state.levelSize[request.instId]
        // Fill or kill: all of it within its price, or nothing at all.
        if request.ordType == .fok, let depth {
            let levels = (0..<bookLevels).filter { level in
                let price = touch + Decimal(level) * step
                return request.px.map { request.side == .buy ? price <= $0 : price >= $0 } ?? true
            }
            if Decimal(levels.count) * depth < order.baseSz {
                order.state = "canceled"
                order.updatedAt = now
                state.orders[order.ordId] = order
                events.append(SimulatedOrderEvent(order: order, fill: nil))
                return
            }
        }
        var quoteLeft = quote
        for level in 0..<bookLevels {
            let price = touch + Decimal(level) * step
            if price <= 0 { break }
            if let px = request.px, request.side == .buy ? price > px : price < px { break }
            var size = min(order.baseSz - order.accFillSz, depth ?? order.baseSz)
            if let left = quoteLeft {
                // A market buy in quote spends exactly its amount: the last level takes what the rest buys.
                size = min(size, (left / price).rounded(toMultipleOf: instrument.lotSz, .down))
                quoteLeft = left - size * price
            }
            guard size > 0 else { break }
            let fill = Self.fill(&order, size: size, price: price, maker: false, instrument: instrument, state: &state, now: now)
            events.append(SimulatedOrderEvent(order: order, fill: fill))
            if order.state == "filled" || depth == nil { break }
        }
        if quote != nil, order.accFillSz > 0, order.state != "filled" { order.baseSz = order.accFillSz }
        guard order.state != "filled" else { return }
        if order.accFillSz > 0, quote != nil, quoteLeft.map({ $0 < touch * instrument.lotSz }) ?? false {
            // What is left of the quote buys less than one lot: the order is done.
            order.state = "filled"
        } else if request.px == nil || request.ordType == .ioc || request.ordType == .fok {
            order.state = "canceled"
        } else {
            // The rest of a limit order rests at its price.
            let (ccy, amount) =
                request.side == .buy
                ? (instrument.quoteCcy, (order.baseSz - order.accFillSz) * (request.px ?? 0)) : (instrument.baseCcy, order.baseSz - order.accFillSz)
            state.balances[ccy, default: 0] -= amount
            state.frozen[ccy, default: 0] += amount
            if order.accFillSz == 0 { events.append(SimulatedOrderEvent(order: order, fill: nil)) }
        }
        order.updatedAt = now
        state.orders[order.ordId] = order
        if order.state != "live", order.state != "partially_filled" { events.append(SimulatedOrderEvent(order: order, fill: nil)) }
    }

    /// Cancels a resting order.
    public func cancel(instId: String, ordId: String?, clOrdId: String?) throws(SimulatedRejection) -> SimulatedOrder {
        let now = clock()
        return try mutate { (state: inout State, events: inout [SimulatedOrderEvent]) throws(SimulatedRejection) -> SimulatedOrder in
            guard var order = Self.find(in: state, instId: instId, ordId: ordId, clOrdId: clOrdId), order.isPending,
                let instrument = state.instruments[instId]
            else {
                throw SimulatedRejection("51400", "Order cancellation failed as the order has been filled, canceled or does not exist.")
            }
            let remaining = order.baseSz - order.accFillSz
            let (ccy, amount) =
                order.request.side == .buy ? (instrument.quoteCcy, remaining * (order.request.px ?? 0)) : (instrument.baseCcy, remaining)
            state.balances[ccy, default: 0] += amount
            state.frozen[ccy, default: 0] -= amount
            order.state = "canceled"
            order.updatedAt = now
            state.orders[order.ordId] = order
            events.append(SimulatedOrderEvent(order: order, fill: nil))
            return order
        }
    }

    // MARK: - Internals

    /// Runs `body` under the lock, then tells observers about the events it produced.
    func mutate<Value, Failure: Error>(
        _ body: (inout State, inout [SimulatedOrderEvent]) throws(Failure) -> Value
    ) throws(Failure) -> Value {
        let (value, events, observers, algos, algoObservers) = try state.withLock {
            (
                state: inout State
            ) throws(Failure) -> (
                Value, [SimulatedOrderEvent], [AsyncStream<SimulatedOrderEvent>.Continuation], [SimulatedAlgoOrder],
                [AsyncStream<SimulatedAlgoOrder>.Continuation]
            ) in
            var events: [SimulatedOrderEvent] = []
            state.algoChanges = []
            let value = try body(&state, &events)
            return (value, events, Array(state.observers.values), state.algoChanges, Array(state.algoObservers.values))
        }
        for event in events {
            for observer in observers { observer.yield(event) }
        }
        for algo in algos {
            for observer in algoObservers { observer.yield(algo) }
        }
        return value
    }

    private static func find(in state: State, instId: String, ordId: String?, clOrdId: String?) -> SimulatedOrder? {
        if let ordId, !ordId.isEmpty {
            return state.orders[ordId].flatMap { $0.request.instId == instId ? $0 : nil }
        }
        guard let clOrdId, !clOrdId.isEmpty else { return nil }
        for id in state.orderSequence.reversed() {
            if let order = state.orders[id], order.clOrdId == clOrdId, order.request.instId == instId { return order }
        }
        return nil
    }

    /// The checks OKX makes before it looks at prices and balances.
    private static func check(_ request: OrderRequest, in state: State) throws(SimulatedRejection) -> Instrument {
        guard let instrument = state.instruments[request.instId], instrument.state == "live" else {
            throw SimulatedRejection("51001", "Instrument ID does not exist.")
        }
        guard request.tdMode == "cash" || (request.tdMode == "cross" && state.accountLevel >= 3) else {
            throw SimulatedRejection("51000", "Parameter tdMode error")
        }
        if !request.clOrdId.isEmpty {
            guard request.clOrdId.count <= 32, request.clOrdId.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
                throw SimulatedRejection("51000", "Parameter clOrdId error")
            }
            if state.orders.values.contains(where: { $0.clOrdId == request.clOrdId && $0.isPending }) {
                throw SimulatedRejection("51016", "Duplicated clOrdId")
            }
        }
        guard request.sz > 0 else { throw SimulatedRejection("51000", "Parameter sz error") }
        if request.ordType.needsPrice {
            guard let px = request.px, px > 0 else { throw SimulatedRejection("51000", "Parameter px error") }
            guard px.isMultiple(of: instrument.tickSz) else { throw SimulatedRejection("51000", "Parameter px error") }
        }
        let quoteSized = request.ordType == .market && (request.tgtCcy ?? (request.side == .buy ? "quote_ccy" : "base_ccy")) == "quote_ccy"
        if !quoteSized, !request.sz.isMultiple(of: instrument.lotSz) {
            throw SimulatedRejection("51121", "Order quantity must be a multiple of the lot size.")
        }
        if let algo = request.attached { try checkAttached(algo, request: request, quoteSized: quoteSized, instrument: instrument) }
        return instrument
    }

    /// The checks OKX makes of `attachAlgoOrds` on spot.
    private static func checkAttached(
        _ algo: AttachedAlgo,
        request: OrderRequest,
        quoteSized: Bool,
        instrument: Instrument
    ) throws(SimulatedRejection) {
        if request.ordType == .market, quoteSized != (request.side == .buy) {
            throw SimulatedRejection("51000", "Parameter attachAlgoOrds error: not supported on a market buy in base or a market sell in quote")
        }
        guard algo.attachAlgoClOrdId.count <= 32, algo.attachAlgoClOrdId.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            throw SimulatedRejection("51000", "Parameter attachAlgoClOrdId error")
        }
        for (trigger, orderPx) in [(algo.tpTriggerPx, algo.tpOrdPx), (algo.slTriggerPx, algo.slOrdPx)] {
            guard let trigger else { continue }
            guard trigger > 0, trigger.isMultiple(of: instrument.tickSz), let orderPx,
                orderPx == AttachedAlgo.market || (orderPx > 0 && orderPx.isMultiple(of: instrument.tickSz))
            else { throw SimulatedRejection("51000", "Parameter attachAlgoOrds error") }
        }
    }

    /// Fills `size` of `order` at `price` (all of it, or a part), moving balances and recording the fill: `accFillSz`
    /// and `fee` add up, `avgPx` is weighted by size, the state is `partially_filled` until the whole size is filled.
    private static func fill(
        _ order: inout SimulatedOrder,
        size: Decimal,
        price: Decimal,
        maker: Bool,
        instrument: Instrument,
        state: inout State,
        now: Date
    ) -> SimulatedFill {
        let quote = size * price
        let rate = maker ? makerFeeRate : takerFeeRate
        let fee: Decimal
        if order.request.side == .buy {
            if maker {
                // The resting buy froze sz * px; it fills at px.
                state.frozen[instrument.quoteCcy, default: 0] -= quote
            } else {
                state.balances[instrument.quoteCcy, default: 0] -= quote
            }
            fee = size * rate
            state.balances[instrument.baseCcy, default: 0] += size - fee
        } else {
            if maker {
                state.frozen[instrument.baseCcy, default: 0] -= size
            } else {
                state.balances[instrument.baseCcy, default: 0] -= size
            }
            fee = quote * rate
            state.balances[instrument.quoteCcy, default: 0] += quote - fee
        }
        order.fee -= fee
        order.accFillSz += size
        order.filledNotional += price * size
        // Weighted by size, to 12 decimals as an exchange would write it (a division need not end).
        order.avgPx = (order.filledNotional / order.accFillSz).rounded(toMultipleOf: avgPxStep, .plain)
        order.state = order.accFillSz >= order.baseSz ? "filled" : "partially_filled"
        order.updatedAt = now
        state.orders[order.ordId] = order
        let tradeId = String(state.nextTradeId)
        state.nextTradeId += 1
        let fill = SimulatedFill(
            tradeId: tradeId,
            billId: "9" + tradeId,
            ordId: order.ordId,
            clOrdId: order.clOrdId,
            instId: instrument.instId,
            side: order.request.side,
            fillPx: price,
            fillSz: size,
            fee: -fee,
            feeCcy: order.feeCcy,
            execType: maker ? "M" : "T",
            time: now
        )
        state.fills.append(fill)
        return fill
    }
}
