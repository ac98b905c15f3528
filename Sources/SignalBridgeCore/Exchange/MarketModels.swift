import Foundation

/// A spot instrument's trading rules (`GET /api/v5/public/instruments`).
public struct Instrument: Sendable, Equatable {
    public var instId: String
    public var baseCcy: String
    public var quoteCcy: String
    /// Price step.
    public var tickSz: Decimal
    /// Size step, in base currency.
    public var lotSz: Decimal
    /// Smallest size, in base currency.
    public var minSz: Decimal
    /// `live`, `suspend`, `preopen` or `test`.
    public var state: String

    public init(instId: String, baseCcy: String, quoteCcy: String, tickSz: Decimal, lotSz: Decimal, minSz: Decimal, state: String = "live") {
        self.instId = instId
        self.baseCcy = baseCcy
        self.quoteCcy = quoteCcy
        self.tickSz = tickSz
        self.lotSz = lotSz
        self.minSz = minSz
        self.state = state
    }
}

extension Instrument {
    /// OKX's BTC-USDT spot instrument with OKX's real sizes: tick 0.1, lot 0.00000001, minimum 0.00001 BTC.
    public static let okxBTCUSDT = Instrument(
        instId: "BTC-USDT",
        baseCcy: "BTC",
        quoteCcy: "USDT",
        tickSz: Decimal(string: "0.1")!,
        lotSz: Decimal(string: "0.00000001")!,
        minSz: Decimal(string: "0.00001")!
    )
    /// OKX's ETH-USDT spot instrument with OKX's real sizes: tick 0.01, lot 0.000001, minimum 0.0001 ETH.
    public static let okxETHUSDT = Instrument(
        instId: "ETH-USDT",
        baseCcy: "ETH",
        quoteCcy: "USDT",
        tickSz: Decimal(string: "0.01")!,
        lotSz: Decimal(string: "0.000001")!,
        minSz: Decimal(string: "0.0001")!
    )
}

/// Best prices of an instrument at a moment.
public struct Ticker: Sendable, Equatable {
    public var instId: String
    public var last: Decimal
    public var bid: Decimal
    public var ask: Decimal
    /// When the exchange produced it.
    public var time: Date

    public init(instId: String, last: Decimal, bid: Decimal, ask: Decimal, time: Date) {
        self.instId = instId
        self.last = last
        self.bid = bid
        self.ask = ask
        self.time = time
    }
}

/// What is available of one currency.
public struct Balance: Sendable, Equatable {
    public var ccy: String
    public var available: Decimal
    public init(ccy: String, available: Decimal) {
        self.ccy = ccy
        self.available = available
    }
}

/// The order side.
public enum OrderSide: String, Sendable, CaseIterable {
    case buy, sell

    /// The side that closes this one.
    public var opposite: OrderSide { self == .buy ? .sell : .buy }
}

/// OKX spot order types.
public enum OrderType: String, Sendable, CaseIterable {
    case market, limit
    case postOnly = "post_only"
    case ioc, fok

    /// Whether a price is required.
    public var needsPrice: Bool { self != .market }
}

/// The exact body of `POST /api/v5/trade/order`, in the key order it is journaled and sent.
public struct OrderRequest: Sendable, Equatable {
    public var instId: String
    public var tdMode: String
    public var clOrdId: String
    public var side: OrderSide
    public var ordType: OrderType
    public var sz: Decimal
    public var px: Decimal?
    /// `base_ccy` or `quote_ccy`; market orders always carry it (SPEC section 5).
    public var tgtCcy: String?
    /// The take-profit and stop-loss OKX creates once the order is fully filled (`attachAlgoOrds`, one entry).
    public var attached: AttachedAlgo?

    public init(
        instId: String,
        tdMode: String = "cash",
        clOrdId: String,
        side: OrderSide,
        ordType: OrderType,
        sz: Decimal,
        px: Decimal? = nil,
        tgtCcy: String? = nil,
        attached: AttachedAlgo? = nil
    ) {
        self.instId = instId
        self.tdMode = tdMode
        self.clOrdId = clOrdId
        self.side = side
        self.ordType = ordType
        self.sz = sz
        self.px = px
        self.tgtCcy = tgtCcy
        self.attached = attached
    }

    /// The body as JSON, numbers as strings as OKX expects.
    public var json: JSONValue {
        var object = JSONObject([
            ("instId", .string(instId)),
            ("tdMode", .string(tdMode)),
            ("clOrdId", .string(clOrdId)),
            ("side", .string(side.rawValue)),
            ("ordType", .string(ordType.rawValue)),
            ("sz", .string(DecimalText.format(sz))),
        ])
        if let px { object["px"] = .string(DecimalText.format(px)) }
        if let tgtCcy { object["tgtCcy"] = .string(tgtCcy) }
        if let attached { object["attachAlgoOrds"] = .array([attached.json]) }
        return .object(object)
    }

    /// Reads a body written by ``json`` (from the journal, or as the simulator receives it).
    public init?(json: JSONValue) {
        guard let object = json.objectValue,
            let instId = object["instId"]?.stringValue,
            let side = object["side"]?.stringValue.flatMap(OrderSide.init(rawValue:)),
            let ordType = object["ordType"]?.stringValue.flatMap(OrderType.init(rawValue:)),
            let sz = object["sz"]?.decimalValue
        else { return nil }
        // One entry, read whole: an order is never taken without the take-profit or stop-loss it asked for.
        var attached: AttachedAlgo?
        switch object["attachAlgoOrds"] {
        case nil, .null?: attached = nil
        case .array(let entries)? where entries.isEmpty: attached = nil
        case .array(let entries)? where entries.count == 1:
            guard let entry = AttachedAlgo(json: entries[0]) else { return nil }
            attached = entry
        default: return nil
        }
        self.init(
            instId: instId,
            tdMode: object["tdMode"]?.stringValue ?? "cash",
            clOrdId: object["clOrdId"]?.stringValue ?? "",
            side: side,
            ordType: ordType,
            sz: sz,
            px: object["px"]?.decimalValue,
            tgtCcy: object["tgtCcy"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 },
            attached: attached
        )
    }
}

/// A take-profit and/or stop-loss attached to an order: one entry of OKX's `attachAlgoOrds`. A trigger price set
/// means that side is attached; its order price is a limit price, or `-1` for a market order.
public struct AttachedAlgo: Sendable, Equatable {
    /// Deterministic, from the order's `clOrdId` (``ClOrdId/attached(to:)``).
    public var attachAlgoClOrdId: String
    public var tpTriggerPx: Decimal?
    public var tpOrdPx: Decimal?
    public var slTriggerPx: Decimal?
    public var slOrdPx: Decimal?

    /// The order price that stands for a market order.
    public static let market: Decimal = -1

    public init(attachAlgoClOrdId: String, tpTriggerPx: Decimal? = nil, tpOrdPx: Decimal? = nil, slTriggerPx: Decimal? = nil, slOrdPx: Decimal? = nil)
    {
        self.attachAlgoClOrdId = attachAlgoClOrdId
        self.tpTriggerPx = tpTriggerPx
        self.tpOrdPx = tpOrdPx
        self.slTriggerPx = slTriggerPx
        self.slOrdPx = slOrdPx
    }

    /// The entry as OKX takes it: prices as strings, unset ones left out.
    public var json: JSONValue {
        var object = JSONObject([("attachAlgoClOrdId", .string(attachAlgoClOrdId))])
        for (key, value) in [("tpTriggerPx", tpTriggerPx), ("tpOrdPx", tpOrdPx), ("slTriggerPx", slTriggerPx), ("slOrdPx", slOrdPx)] {
            if let value { object[key] = .string(DecimalText.format(value)) }
        }
        return .object(object)
    }

    /// Reads an entry (empty strings and `null`, as python-okx sends unset fields, are unset); nil when a price is
    /// not a number, an order price has no trigger, it attaches nothing, or it asks for what this does not take (a
    /// `tpOrdKind` other than `condition`).
    public init?(json: JSONValue) {
        guard let object = json.objectValue else { return nil }
        var prices: [String: Decimal] = [:]
        for key in ["tpTriggerPx", "tpOrdPx", "slTriggerPx", "slOrdPx"] {
            switch object[key] {
            case nil, .null?, .string("")?: continue
            case let value?:
                guard let price = value.decimalValue else { return nil }
                prices[key] = price
            }
        }
        if let kind = object["tpOrdKind"]?.stringValue, !kind.isEmpty, kind != "condition" { return nil }
        guard prices["tpTriggerPx"] != nil || prices["slTriggerPx"] != nil,
            prices["tpOrdPx"] == nil || prices["tpTriggerPx"] != nil, prices["slOrdPx"] == nil || prices["slTriggerPx"] != nil
        else { return nil }
        self.init(
            attachAlgoClOrdId: object["attachAlgoClOrdId"]?.stringValue ?? "",
            tpTriggerPx: prices["tpTriggerPx"],
            tpOrdPx: prices["tpOrdPx"],
            slTriggerPx: prices["slTriggerPx"],
            slOrdPx: prices["slOrdPx"]
        )
    }

    /// ` tp 63000 (market), sl 58000 @ 57900`: what a decision's reason shows.
    public var description: String {
        func side(_ name: String, _ trigger: Decimal?, _ order: Decimal?) -> String? {
            guard let trigger else { return nil }
            let placed = order.map { $0 == Self.market ? "(market)" : "@ \(DecimalText.format($0))" } ?? "(market)"
            return "\(name) \(DecimalText.format(trigger)) \(placed)"
        }
        return ", " + [side("tp", tpTriggerPx, tpOrdPx), side("sl", slTriggerPx, slOrdPx)].compactMap { $0 }.joined(separator: ", ")
    }
}

/// An order's state as the exchange reports it.
public struct OrderStatus: Sendable, Equatable {
    public var ordId: String
    public var clOrdId: String
    public var instId: String
    /// `live`, `partially_filled`, `filled`, `canceled`, `mmp_canceled`.
    public var state: String
    public var accFillSz: Decimal
    public var avgPx: Decimal?
    public var fee: Decimal
    public var feeCcy: String
    /// For an algo order (``AlgoStatus/orderStatus(placed:)``, where `ordId` and `clOrdId` are its `algoId` and
    /// `algoClOrdId`): its own state and the order it placed.
    public var algo: AlgoProgress? = nil
    /// The `algoClOrdId` of the algo order that placed this order when it triggered, when one did.
    public var placedBy: String? = nil

    public init(ordId: String, clOrdId: String, instId: String, state: String, accFillSz: Decimal, avgPx: Decimal?, fee: Decimal, feeCcy: String) {
        self.ordId = ordId
        self.clOrdId = clOrdId
        self.instId = instId
        self.state = state
        self.accFillSz = accFillSz
        self.avgPx = avgPx
        self.fee = fee
        self.feeCcy = feeCcy
    }

    /// `status` as the answer to a lookup of `clOrdId`: an answer that names no `clOrdId` is taken to be about it,
    /// an answer about another order is an error (the lookup is tried again).
    public static func answering(_ clOrdId: String, _ status: OrderStatus) throws(ExchangeError) -> OrderStatus {
        guard status.clOrdId.isEmpty || status.clOrdId == clOrdId else {
            throw ExchangeError(message: "the exchange answered a lookup of \(clOrdId) with order \(status.clOrdId)", retryable: true)
        }
        var status = status
        status.clOrdId = clOrdId
        return status
    }
}

/// One fill of an order (`GET /api/v5/trade/fills`).
public struct Fill: Sendable, Equatable {
    public var tradeId: String
    public var ordId: String
    public var clOrdId: String
    public var instId: String
    public var fillPx: Decimal
    public var fillSz: Decimal
    /// Negative: a charge.
    public var fee: Decimal
    public var feeCcy: String

    public init(tradeId: String, ordId: String, clOrdId: String, instId: String, fillPx: Decimal, fillSz: Decimal, fee: Decimal, feeCcy: String) {
        self.tradeId = tradeId
        self.ordId = ordId
        self.clOrdId = clOrdId
        self.instId = instId
        self.fillPx = fillPx
        self.fillSz = fillSz
        self.fee = fee
        self.feeCcy = feeCcy
    }
}
