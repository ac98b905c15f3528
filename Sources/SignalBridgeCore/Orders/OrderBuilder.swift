import Foundation

/// An order ready to journal and send, with the notional the risk guards count.
public struct PlannedOrder: Sendable, Equatable {
    /// The order; for an algo order, the order it places when triggered.
    public var request: OrderRequest
    /// Quote-currency value, when it can be known without waiting on the exchange.
    public var notional: Decimal?
    /// The algo order, when the template places one.
    public var algo: AlgoOrderRequest? = nil
}

/// Turns an ``OrderTemplate`` and a payload into an exact OKX order: sizes rounded down to `lotSz`,
/// prices to `tickSz` toward the passive side, `minSz` checked, `tgtCcy` explicit on market orders.
public struct OrderBuilder: Sendable {
    public var market: MarketSnapshot
    public var now: Date
    /// A ticker older than this is not used.
    public var maxPriceAgeSeconds: Int

    public init(market: MarketSnapshot, now: Date, maxPriceAgeSeconds: Int) {
        self.market = market
        self.now = now
        self.maxPriceAgeSeconds = maxPriceAgeSeconds
    }

    /// Builds one order, where what it reads need not be kept.
    /// - Throws: ``DecisionBlock`` saying why no order can be built.
    public func build(_ template: OrderTemplate, payload: JSONValue, clOrdId: String) throws(DecisionBlock) -> PlannedOrder {
        var inputs = DecisionInputs()
        return try build(template, payload: payload, clOrdId: clOrdId, inputs: &inputs)
    }

    /// Builds one order.
    /// - Parameter inputs: where the instrument, ticker and balance it reads are recorded (``DecisionInputs``).
    /// - Throws: ``DecisionBlock`` saying why no order can be built.
    public func build(
        _ template: OrderTemplate,
        payload: JSONValue,
        clOrdId: String,
        inputs: inout DecisionInputs
    ) throws(DecisionBlock) -> PlannedOrder {
        if let algo = template.algo { return try buildAlgo(template, algo, payload: payload, clOrdId: clOrdId, inputs: &inputs) }
        let instId = try template.instId.render(payload)
        let sideText = try template.side.render(payload)
        guard let side = OrderSide(rawValue: sideText) else {
            throw DecisionBlock("side \"\(sideText)\" is neither buy nor sell")
        }
        let listed = market.instruments[instId]
        if inputs.markets[instId] == nil { inputs.markets[instId] = DecisionInputs.Market(instrument: listed) }
        guard let instrument = listed else {
            throw DecisionBlock("\(instId) is not a known spot instrument (or the instrument list is not loaded yet)")
        }
        guard instrument.state == "live" else { throw DecisionBlock("\(instId) is not trading (state \(instrument.state))") }
        let ticker = readTicker(instId, into: &inputs, needed: Self.needsTicker(template))
        let price = try template.price.map { spec throws(DecisionBlock) in
            try limitPrice(spec, side: side, instrument: instrument, ticker: ticker, payload: payload)
        }
        let (amount, unit) = try requestedSize(template.size, side: side, instrument: instrument, payload: payload, inputs: &inputs)
        inputs.tdMode = market.tdMode

        var request = OrderRequest(
            instId: instId,
            tdMode: market.tdMode,
            clOrdId: clOrdId,
            side: side,
            ordType: template.ordType,
            sz: 0,
            px: price
        )
        let baseSize: Decimal?
        let notional: Decimal?
        if let price {
            let base = unit == .base ? amount : amount / price
            request.sz = base.rounded(toMultipleOf: instrument.lotSz, .down)
            baseSize = request.sz
            notional = request.sz * price
        } else if unit == .base {
            request.sz = amount.rounded(toMultipleOf: instrument.lotSz, .down)
            request.tgtCcy = "base_ccy"
            baseSize = request.sz
            notional = ticker.map { request.sz * $0.last }
        } else {
            request.sz = amount.rounded(toMultipleOf: instrument.tickSz, .down)
            request.tgtCcy = "quote_ccy"
            let reference = ticker.map { side == .buy ? $0.ask : $0.bid }
            baseSize = reference.flatMap { $0 > 0 ? request.sz / $0 : nil }
            notional = request.sz
        }
        for (field, value) in [("sz", request.sz), ("px", request.px), ("notional", notional)] {
            if let value, !DecimalText.isWithinRange(value) {
                throw DecisionBlock("the order's \(field) for \(instId) is beyond what signalbridge accepts (\(DecimalText.acceptedRange))")
            }
        }
        if template.takeProfit != nil || template.stopLoss != nil {
            if let refusal = RuleParser.attachRefusal(template, side: side) { throw DecisionBlock(refusal) }
            request.attached = try attached(
                template,
                side: side,
                limit: price,
                instrument: instrument,
                ticker: ticker,
                payload: payload,
                clOrdId: clOrdId
            )
        }
        guard request.sz > 0 else {
            throw DecisionBlock("the size rounds to zero for \(instId) (lot size \(DecimalText.format(instrument.lotSz)))")
        }
        if let baseSize, baseSize < instrument.minSz {
            throw DecisionBlock(
                "size \(DecimalText.format(baseSize)) \(instrument.baseCcy) is below the minimum \(DecimalText.format(instrument.minSz)) \(instrument.baseCcy) of \(instId)"
            )
        }
        // A buy's exits sell what it received: its size less OKX's fee (0.1 % at most on spot, charged in base).
        if request.attached != nil, let baseSize, side == .buy,
            case let exitSize = (baseSize * (1 - Self.maxFeeRate)).rounded(toMultipleOf: instrument.lotSz, .down), exitSize < instrument.minSz
        {
            throw DecisionBlock(
                "the take-profit/stop-loss would sell \(DecimalText.format(exitSize)) \(instrument.baseCcy) (the size less the fee), below the minimum \(DecimalText.format(instrument.minSz)) of \(instId)"
            )
        }
        return PlannedOrder(request: request, notional: notional)
    }

    /// Builds an algo order: the order it places is sized as an order of its own (a market order, or a limit order
    /// at a trigger's order price), and its prices are taken from the ticker's last price, on the tick grid.
    private func buildAlgo(
        _ template: OrderTemplate,
        _ algo: AlgoTemplate,
        payload: JSONValue,
        clOrdId: String,
        inputs: inout DecisionInputs
    ) throws(DecisionBlock) -> PlannedOrder {
        var placed = template
        (placed.algo, placed.takeProfit, placed.stopLoss, placed.ordType, placed.price) = (nil, nil, nil, .market, nil)
        var planned = try build(placed, payload: payload, clOrdId: clOrdId, inputs: &inputs)
        let (instId, side) = (planned.request.instId, planned.request.side)
        guard let instrument = market.instruments[instId], let ticker = market.freshTicker(instId, now: now, maxAge: maxPriceAgeSeconds) else {
            throw DecisionBlock("\(algo.ordType.rawValue): no ticker of \(instId) younger than \(maxPriceAgeSeconds) s for the reference price")
        }
        let reference = ticker.last
        func price(_ spec: ExitPrice, _ what: String) throws(DecisionBlock) -> Decimal {
            try exitPrice(spec, what, reference: reference, instrument: instrument, payload: payload)
        }
        var limit: Decimal?
        if case .stop(_, let order?) = algo {
            let orderPx = try price(order, "stop order price")
            placed.ordType = .limit
            placed.price = .fixed(orderPx)
            planned = try build(placed, payload: payload, clOrdId: clOrdId, inputs: &inputs)
            limit = orderPx
        }
        let request = planned.request
        var body = AlgoOrderRequest(
            instId: instId,
            tdMode: request.tdMode,
            algoClOrdId: clOrdId,
            side: side,
            ordType: algo.ordType,
            sz: request.sz,
            tgtCcy: request.tgtCcy
        )
        switch algo {
        case .stop(let trigger, _):
            body.triggerPx = try price(trigger, "stop trigger")
            body.orderPx = limit ?? AttachedAlgo.market
        case .trailingStop(let callback, let activation):
            switch callback {
            case .ratio(let ratio): body.callbackRatio = ratio
            case .spread(let spread):
                let rounded = spread.rounded(toMultipleOf: instrument.tickSz, .plain)
                guard rounded > 0, DecimalText.isWithinRange(rounded) else {
                    throw DecisionBlock("the trailing stop's callbackSpread rounds to \(DecimalText.format(rounded)) on the tick grid of \(instId)")
                }
                body.callbackSpread = rounded
            }
            body.activePx = try activation.map { spec throws(DecisionBlock) in try price(spec, "trailing stop activation price") }
        case .exits(let type):
            // A sell's take-profit is above the price and its stop-loss below: the exits a buy would have.
            let exits = try attached(
                template,
                side: side.opposite,
                limit: nil,
                instrument: instrument,
                ticker: ticker,
                payload: payload,
                clOrdId: clOrdId,
                subject: "(the last price) of this \(side.rawValue) \(type.rawValue)"
            )
            (body.tpTriggerPx, body.tpOrdPx, body.slTriggerPx, body.slOrdPx) = (exits.tpTriggerPx, exits.tpOrdPx, exits.slTriggerPx, exits.slOrdPx)
        }
        planned.algo = body
        return planned
    }

    /// Whether an order of `template` uses the ticker: a price from the book, or a market order (its notional, the
    /// reference of a size in quote, and of its exits). An order with a price of its own does not.
    static func needsTicker(_ template: OrderTemplate) -> Bool {
        guard let price = template.price else { return true }
        if case .from = price { return true }
        return false
    }

    /// The ticker of `instId` when fresh, recorded in `inputs` (with its age, even when too old) when `needed`.
    private func readTicker(_ instId: String, into inputs: inout DecisionInputs, needed: Bool) -> Ticker? {
        guard needed else { return nil }
        if inputs.markets[instId]?.quote == nil {
            let quote = market.tickers[instId].map { ticker in
                DecisionInputs.Quote(
                    bid: ticker.bid,
                    ask: ticker.ask,
                    last: ticker.last,
                    ageMs: DecisionInputs.ageMs(market.tickerFetchedAt[instId] ?? .distantPast, now: now),
                    source: market.tickerSource[instId]
                )
            }
            inputs.markets[instId]?.quote = .some(quote)
        }
        return market.freshTicker(instId, now: now, maxAge: maxPriceAgeSeconds)
    }

    private func requestedSize(
        _ spec: SizeSpec,
        side: OrderSide,
        instrument: Instrument,
        payload: JSONValue,
        inputs: inout DecisionInputs
    ) throws(DecisionBlock) -> (Decimal, SizeUnit) {
        switch spec {
        case .percentOfAvailable(let percent):
            let (ccy, unit) = side == .buy ? (instrument.quoteCcy, SizeUnit.quote) : (instrument.baseCcy, SizeUnit.base)
            if inputs.balances[ccy] == nil {
                inputs.balances[ccy] = .some(
                    market.balancesFetchedAt.map {
                        DecisionInputs.Holding(available: market.balances[ccy] ?? 0, ageMs: DecisionInputs.ageMs($0, now: now))
                    }
                )
            }
            guard let available = market.freshBalance(ccy, now: now, maxAge: maxPriceAgeSeconds) else {
                throw DecisionBlock("percentOfAvailable: no balance of \(ccy) younger than \(maxPriceAgeSeconds) s")
            }
            guard available > 0 else { throw DecisionBlock("percentOfAvailable: no \(ccy) available") }
            return (available * percent / 100, unit)
        case .base(let amount): return (amount, .base)
        case .quote(let amount): return (amount, .quote)
        case .pointer(let pointer, let unit, let max):
            return (min(try Self.positiveNumber(at: pointer, in: payload, for: "size"), max), unit)
        }
    }

    private func limitPrice(
        _ spec: PriceSpec,
        side: OrderSide,
        instrument: Instrument,
        ticker: Ticker?,
        payload: JSONValue
    ) throws(DecisionBlock) -> Decimal {
        let raw: Decimal
        switch spec {
        case .fixed(let price): raw = price
        case .pointer(let pointer):
            raw = try Self.positiveNumber(at: pointer, in: payload, for: "price")
        case .from(let reference, let offsetBps):
            guard let ticker else {
                throw DecisionBlock("no ticker of \(instrument.instId) younger than \(maxPriceAgeSeconds) s")
            }
            let base: Decimal
            switch reference {
            case .bid: base = ticker.bid
            case .ask: base = ticker.ask
            case .last: base = ticker.last
            }
            raw = base * (1 + offsetBps / 10000)
        }
        let price = raw.rounded(toMultipleOf: instrument.tickSz, side == .buy ? .down : .up)
        guard price > 0 else { throw DecisionBlock("the price of \(instrument.instId) rounds to zero") }
        return price
    }

    /// The take-profit and stop-loss of `template`, priced from the reference price (the limit price, else the
    /// ticker's last), on the tick grid, each on its own side of the reference price.
    private func attached(
        _ template: OrderTemplate,
        side: OrderSide,
        limit: Decimal?,
        instrument: Instrument,
        ticker: Ticker?,
        payload: JSONValue,
        clOrdId: String,
        subject: String? = nil
    ) throws(DecisionBlock) -> AttachedAlgo {
        guard let reference = limit ?? ticker?.last else {
            throw DecisionBlock(
                "take-profit/stop-loss: no ticker of \(instrument.instId) younger than \(maxPriceAgeSeconds) s for the reference price"
            )
        }
        let subject = subject ?? "of this \(side.rawValue)"
        func price(_ spec: ExitPrice, _ what: String) throws(DecisionBlock) -> Decimal {
            try exitPrice(spec, what, reference: reference, instrument: instrument, payload: payload)
        }
        var algo = AttachedAlgo(attachAlgoClOrdId: ClOrdId.attached(to: clOrdId))
        // A buy's take-profit sells higher and its stop-loss lower; a sell's the other way round.
        let shown = DecimalText.format(reference)
        if let takeProfit = template.takeProfit {
            let trigger = try price(takeProfit.trigger, "take-profit trigger")
            guard side == .buy ? trigger > reference : trigger < reference else {
                throw DecisionBlock(
                    "take-profit trigger \(DecimalText.format(trigger)) is not \(side == .buy ? "above" : "below") the reference price \(shown) \(subject)"
                )
            }
            algo.tpTriggerPx = trigger
            algo.tpOrdPx =
                try takeProfit.order.map { spec throws(DecisionBlock) in try price(spec, "take-profit order price") } ?? AttachedAlgo.market
        }
        if let stopLoss = template.stopLoss {
            let trigger = try price(stopLoss.trigger, "stop-loss trigger")
            guard side == .buy ? trigger < reference : trigger > reference else {
                throw DecisionBlock(
                    "stop-loss trigger \(DecimalText.format(trigger)) is not \(side == .buy ? "below" : "above") the reference price \(shown) \(subject)"
                )
            }
            algo.slTriggerPx = trigger
            algo.slOrdPx = try stopLoss.order.map { spec throws(DecisionBlock) in try price(spec, "stop-loss order price") } ?? AttachedAlgo.market
            // A stop-loss limit beyond its trigger would rest unfilled while the price runs away: no stop at all.
            if let limit = algo.slOrdPx, limit != AttachedAlgo.market, side == .buy ? limit > trigger : limit < trigger {
                throw DecisionBlock(
                    "stop-loss order price \(DecimalText.format(limit)) is \(side == .buy ? "above" : "below") its trigger \(DecimalText.format(trigger)): it would not fill when triggered"
                )
            }
        }
        return algo
    }

    /// An exit's or algo order's price: fixed, from the payload, or a percentage off `reference`; on the tick grid.
    private func exitPrice(
        _ spec: ExitPrice,
        _ what: String,
        reference: Decimal,
        instrument: Instrument,
        payload: JSONValue
    ) throws(DecisionBlock) -> Decimal {
        let raw: Decimal
        switch spec {
        case .fixed(let value): raw = value
        case .pointer(let pointer): raw = try Self.positiveNumber(at: pointer, in: payload, for: what)
        case .offsetPercent(let percent): raw = reference * (1 + percent / 100)
        }
        let rounded = raw.rounded(toMultipleOf: instrument.tickSz, .plain)
        guard rounded > 0, DecimalText.isWithinRange(rounded) else {
            throw DecisionBlock("the \(what) of \(instrument.instId) is \(DecimalText.format(rounded)) on the tick grid, not a usable price")
        }
        return rounded
    }

    /// The highest spot fee rate of OKX's regular tiers (taker, 0.1 %).
    static let maxFeeRate = Decimal(string: "0.001")!

    /// The number at `pointer` in a sender's payload: present, within ``DecimalText/parse(_:)``'s range, positive.
    /// - Throws: ``DecisionBlock`` naming the field and the pointer.
    static func positiveNumber(at pointer: JSONPointer, in payload: JSONValue, for field: String) throws(DecisionBlock) -> Decimal {
        guard let raw = pointer.resolve(in: payload) else { throw DecisionBlock("the payload has no \(field) at \(pointer)") }
        guard let value = raw.decimalValue else {
            let shown = raw.scalarText.map { "\"\($0.prefix(40))\"" } ?? "a JSON \(raw.typeName)"
            throw DecisionBlock("the \(field) at \(pointer) is \(shown), not \(DecimalText.acceptedRange)")
        }
        guard value > 0 else { throw DecisionBlock("the \(field) at \(pointer) is \(DecimalText.format(value)), not a positive number") }
        return value
    }
}
