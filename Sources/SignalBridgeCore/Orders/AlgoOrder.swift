import Foundation

/// OKX's spot algo order types a rule can place (`POST /api/v5/trade/order-algo`).
public enum AlgoOrderType: String, Sendable, CaseIterable {
    /// A stop: once the last price reaches `triggerPx`, a market or limit order.
    case trigger
    /// A trailing stop: a market order once the price turns back by `callbackRatio` or `callbackSpread` from its best
    /// since `activePx` (or since it was placed).
    case trailingStop = "move_order_stop"
    /// A take-profit or a stop-loss.
    case conditional
    /// A take-profit and a stop-loss: whichever triggers first cancels the other.
    case oco
}

/// How far a trailing stop lets the price turn back.
public enum TrailingCallback: Sendable, Equatable {
    /// A fraction of the best price (`0.02` is 2 %).
    case ratio(Decimal)
    /// A price distance.
    case spread(Decimal)
}

/// What a rule's algo order is, beyond the order it places when triggered (the template's `instId`, `side` and
/// `size`).
public enum AlgoTemplate: Sendable {
    /// `trigger`: at `trigger`, a market order (`order` nil) or a limit order at `order`.
    case stop(trigger: ExitPrice, order: ExitPrice?)
    /// `move_order_stop`, active from `activation` (nil: at once).
    case trailingStop(TrailingCallback, activation: ExitPrice?)
    /// `oco` or `conditional`, from the template's `takeProfit` and `stopLoss`.
    case exits(AlgoOrderType)

    public var ordType: AlgoOrderType {
        switch self {
        case .stop: .trigger
        case .trailingStop: .trailingStop
        case .exits(let type): type
        }
    }
}

/// The exact body of `POST /api/v5/trade/order-algo`, in the key order it is journaled and sent.
public struct AlgoOrderRequest: Sendable, Equatable {
    public var instId: String
    public var tdMode: String
    /// Deterministic, like a `clOrdId` (``ClOrdId/make(source:signalId:ruleId:orderIndex:)``).
    public var algoClOrdId: String
    public var side: OrderSide
    public var ordType: AlgoOrderType
    public var sz: Decimal
    /// `base_ccy` or `quote_ccy` when it places a market order.
    public var tgtCcy: String?
    public var triggerPx: Decimal?
    /// `-1`: a market order.
    public var orderPx: Decimal?
    public var tpTriggerPx: Decimal?
    public var tpOrdPx: Decimal?
    public var slTriggerPx: Decimal?
    public var slOrdPx: Decimal?
    public var callbackRatio: Decimal?
    public var callbackSpread: Decimal?
    public var activePx: Decimal?

    public init(
        instId: String,
        tdMode: String = "cash",
        algoClOrdId: String,
        side: OrderSide,
        ordType: AlgoOrderType,
        sz: Decimal,
        tgtCcy: String? = nil,
        triggerPx: Decimal? = nil,
        orderPx: Decimal? = nil,
        tpTriggerPx: Decimal? = nil,
        tpOrdPx: Decimal? = nil,
        slTriggerPx: Decimal? = nil,
        slOrdPx: Decimal? = nil,
        callbackRatio: Decimal? = nil,
        callbackSpread: Decimal? = nil,
        activePx: Decimal? = nil
    ) {
        self.instId = instId
        self.tdMode = tdMode
        self.algoClOrdId = algoClOrdId
        self.side = side
        self.ordType = ordType
        self.sz = sz
        self.tgtCcy = tgtCcy
        self.triggerPx = triggerPx
        self.orderPx = orderPx
        self.tpTriggerPx = tpTriggerPx
        self.tpOrdPx = tpOrdPx
        self.slTriggerPx = slTriggerPx
        self.slOrdPx = slOrdPx
        self.callbackRatio = callbackRatio
        self.callbackSpread = callbackSpread
        self.activePx = activePx
    }

    /// The optional prices and ratios, by their OKX names, in body order.
    private var optionalFields: [(String, Decimal?)] {
        [
            ("triggerPx", triggerPx), ("orderPx", orderPx), ("tpTriggerPx", tpTriggerPx), ("tpOrdPx", tpOrdPx),
            ("slTriggerPx", slTriggerPx), ("slOrdPx", slOrdPx), ("callbackRatio", callbackRatio), ("callbackSpread", callbackSpread),
            ("activePx", activePx),
        ]
    }

    /// The body as JSON, numbers as strings as OKX expects, unset fields left out.
    public var json: JSONValue {
        var object = JSONObject([
            ("instId", .string(instId)), ("tdMode", .string(tdMode)), ("algoClOrdId", .string(algoClOrdId)),
            ("side", .string(side.rawValue)), ("ordType", .string(ordType.rawValue)), ("sz", .string(DecimalText.format(sz))),
        ])
        if let tgtCcy { object["tgtCcy"] = .string(tgtCcy) }
        for (key, value) in optionalFields {
            if let value { object[key] = .string(DecimalText.format(value)) }
        }
        return .object(object)
    }

    /// Reads a body written by ``json`` (from the journal); nil when a field is missing or not a number.
    public init?(json: JSONValue) {
        guard let object = json.objectValue, let instId = object["instId"]?.stringValue,
            let algoClOrdId = object["algoClOrdId"]?.stringValue,
            let side = object["side"]?.stringValue.flatMap(OrderSide.init(rawValue:)),
            let ordType = object["ordType"]?.stringValue.flatMap(AlgoOrderType.init(rawValue:)),
            let sz = object["sz"]?.decimalValue
        else { return nil }
        self.init(instId: instId, tdMode: object["tdMode"]?.stringValue ?? "cash", algoClOrdId: algoClOrdId, side: side, ordType: ordType, sz: sz)
        tgtCcy = object["tgtCcy"]?.stringValue
        var values: [String: Decimal] = [:]
        for (key, _) in optionalFields {
            guard let raw = object[key] else { continue }
            guard let value = raw.decimalValue else { return nil }
            values[key] = value
        }
        (triggerPx, orderPx, tpTriggerPx, tpOrdPx) = (values["triggerPx"], values["orderPx"], values["tpTriggerPx"], values["tpOrdPx"])
        (slTriggerPx, slOrdPx, activePx) = (values["slTriggerPx"], values["slOrdPx"], values["activePx"])
        (callbackRatio, callbackSpread) = (values["callbackRatio"], values["callbackSpread"])
    }

    /// The order it places when triggered, as the risk guards and the execution lanes count it: its instrument,
    /// side and size, market or limit at `orderPx`, under its `algoClOrdId`.
    public var placedOrder: OrderRequest {
        let limit = orderPx.flatMap { $0 == AttachedAlgo.market ? nil : $0 }
        return OrderRequest(
            instId: instId,
            tdMode: tdMode,
            clOrdId: algoClOrdId,
            side: side,
            ordType: limit == nil ? .market : .limit,
            sz: sz,
            px: limit,
            tgtCcy: limit == nil ? tgtCcy : nil
        )
    }

    /// ` trigger 58000 (market)`: what a decision's reason shows after the order it places.
    public var description: String {
        func price(_ value: Decimal?) -> String {
            guard let value, value != AttachedAlgo.market else { return "(market)" }
            return "@ \(DecimalText.format(value))"
        }
        switch ordType {
        case .trigger:
            return " when the last price reaches \(triggerPx.map(DecimalText.format) ?? "?") \(price(orderPx))"
        case .trailingStop:
            let callback =
                callbackRatio.map { "\(DecimalText.format($0 * 100)) %" } ?? callbackSpread.map(DecimalText.format) ?? "?"
            return " trailing \(callback)" + (activePx.map { " from \(DecimalText.format($0))" } ?? "")
        case .conditional, .oco:
            let exits = AttachedAlgo(attachAlgoClOrdId: "", tpTriggerPx: tpTriggerPx, tpOrdPx: tpOrdPx, slTriggerPx: slTriggerPx, slOrdPx: slOrdPx)
            return " \(ordType.rawValue)" + exits.description.dropFirst()
        }
    }
}

/// An algo order's progress as the exchange reports it: its own state, and the order it placed once triggered.
public struct AlgoProgress: Sendable, Equatable {
    /// `live`, `pause`, `partially_effective`, `effective` (triggered), `canceled` or `order_failed`.
    public var state: String
    /// The order it placed, once triggered.
    public var ordId: String?
    /// That order's state, once known.
    public var ordState: String?

    public init(state: String, ordId: String?, ordState: String? = nil) {
        self.state = state
        self.ordId = ordId.flatMap { $0.isEmpty ? nil : $0 }
        self.ordState = ordState.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The state the algo order stands at, in order terms: live until triggered; once triggered, its placed
    /// order's (`placedState`, `live` until known); `canceled`; `order_failed` when the order it placed was refused.
    public static func orderState(algoState: String, placedState: String?) -> String {
        switch algoState {
        case "effective": placedState.flatMap { $0.isEmpty ? nil : $0 } ?? "live"
        case "canceled", "order_failed": algoState
        default: "live"
        }
    }
}

/// An algo order as the exchange reports it (`GET /api/v5/trade/order-algo`, the `orders-algo` channel).
public struct AlgoStatus: Sendable, Equatable {
    public var algoId: String
    public var algoClOrdId: String
    public var instId: String
    public var progress: AlgoProgress

    public init(algoId: String, algoClOrdId: String, instId: String, state: String, ordId: String?) {
        self.algoId = algoId
        self.algoClOrdId = algoClOrdId
        self.instId = instId
        self.progress = AlgoProgress(state: state, ordId: ordId)
    }

    /// The algo order as an order status for its lifecycle: its `algoId` and `algoClOrdId` in place of the order
    /// ids, the state from ``AlgoProgress/orderState(algoState:placedState:)``, and the fills of `placed`, the
    /// order it placed.
    public func orderStatus(placed: OrderStatus?) -> OrderStatus {
        var status = OrderStatus(
            ordId: algoId,
            clOrdId: algoClOrdId,
            instId: instId,
            state: AlgoProgress.orderState(algoState: progress.state, placedState: placed?.state),
            accFillSz: placed?.accFillSz ?? 0,
            avgPx: placed?.avgPx,
            fee: placed?.fee ?? 0,
            feeCcy: placed?.feeCcy ?? ""
        )
        status.algo = progress
        status.algo?.ordState = placed?.state
        return status
    }
}
