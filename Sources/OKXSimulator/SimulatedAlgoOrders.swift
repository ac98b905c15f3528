import Foundation
import SignalBridgeCore
import Synchronization

/// An algo order (`POST /api/v5/trade/order-algo`) as the simulator keeps it: a stop (`trigger`), a trailing stop
/// (`move_order_stop`), a take-profit or stop-loss (`conditional`) or both (`oco`), waiting for the price.
public struct SimulatedAlgoOrder: Sendable, Equatable {
    public var algoId: String
    public var algoClOrdId: String
    public var instId: String
    public var tdMode: String
    public var side: OrderSide
    /// `trigger`, `move_order_stop`, `conditional` or `oco`.
    public var ordType: String
    public var sz: Decimal
    public var tgtCcy: String?
    public var triggerPx: Decimal?
    /// `-1`: market.
    public var orderPx: Decimal?
    public var tpTriggerPx: Decimal?
    public var tpOrdPx: Decimal?
    public var slTriggerPx: Decimal?
    public var slOrdPx: Decimal?
    public var callbackRatio: Decimal?
    public var callbackSpread: Decimal?
    public var activePx: Decimal?
    /// `live`, `effective` (triggered: its order placed), `canceled`, `order_failed` (its order was refused).
    public var state = "live"
    /// The order it placed when triggered.
    public var ordId: String?
    /// A `trigger` order fires when the price rises to its trigger (else when it falls to it).
    var firesRising = false
    /// A trailing stop's best price since it became active; nil until then.
    var extreme: Decimal?
    public var createdAt: Date
    public var updatedAt: Date

    public var isLive: Bool { state == "live" }

    /// As the bridge reads it.
    public var status: AlgoStatus { AlgoStatus(algoId: algoId, algoClOrdId: algoClOrdId, instId: instId, state: state, ordId: ordId) }
}

extension SimulatedAccount {
    /// The algo order types the simulator serves on spot.
    static let algoTypes: Set<String> = ["trigger", "move_order_stop", "conditional", "oco"]

    /// Places an algo order from its OKX body, checking it as OKX does (a field sent as `""` is absent, as python-okx
    /// sends them).
    /// - Throws: ``SimulatedRejection`` with OKX's `sCode`.
    public func placeAlgo(_ body: JSONObject) throws(SimulatedRejection) -> SimulatedAlgoOrder {
        let now = clock()
        return try mutate { (state: inout State, _: inout [SimulatedOrderEvent]) throws(SimulatedRejection) -> SimulatedAlgoOrder in
            func text(_ key: String) -> String? { body[key]?.scalarText.flatMap { $0.isEmpty ? nil : $0 } }
            func price(_ key: String, market: Bool = false) throws(SimulatedRejection) -> Decimal? {
                guard let raw = text(key) else { return nil }
                guard let value = DecimalText.parse(raw), value > 0 || (market && value == -1) else {
                    throw SimulatedRejection("51000", "Parameter \(key) error")
                }
                return value
            }
            guard let instId = text("instId"), let instrument = state.instruments[instId], instrument.state == "live",
                let ticker = state.tickers[instId]
            else { throw SimulatedRejection("51001", "Instrument ID does not exist.") }
            guard let ordType = text("ordType"), Self.algoTypes.contains(ordType) else {
                throw SimulatedRejection("51000", "Parameter ordType error")
            }
            guard let side = text("side").flatMap(OrderSide.init(rawValue:)) else { throw SimulatedRejection("51000", "Parameter side error") }
            let tdMode = text("tdMode") ?? ""
            guard tdMode == "cash" || (tdMode == "cross" && state.accountLevel >= 3) else {
                throw SimulatedRejection("51000", "Parameter tdMode error")
            }
            guard let sz = text("sz").flatMap(DecimalText.parse), sz > 0 else { throw SimulatedRejection("51000", "Parameter sz error") }
            let algoClOrdId = text("algoClOrdId") ?? ""
            if !algoClOrdId.isEmpty {
                guard algoClOrdId.count <= 32, algoClOrdId.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
                    throw SimulatedRejection("51000", "Parameter algoClOrdId error")
                }
                if state.algos.values.contains(where: { $0.algoClOrdId == algoClOrdId && $0.isLive }) {
                    throw SimulatedRejection("51065", "algoClOrdId already exists.")
                }
            }
            var algo = SimulatedAlgoOrder(
                algoId: String(state.nextAlgoId + 1),
                algoClOrdId: algoClOrdId,
                instId: instId,
                tdMode: tdMode,
                side: side,
                ordType: ordType,
                sz: sz,
                tgtCcy: text("tgtCcy"),
                createdAt: now,
                updatedAt: now
            )
            switch ordType {
            case "trigger":
                guard let trigger = try price("triggerPx"), let orderPx = try price("orderPx", market: true) else {
                    throw SimulatedRejection("51000", "Parameter triggerPx and orderPx are required")
                }
                (algo.triggerPx, algo.orderPx, algo.firesRising) = (trigger, orderPx, trigger > ticker.last)
            case "move_order_stop":
                let ratio = text("callbackRatio").flatMap(DecimalText.parse)
                let spread = text("callbackSpread").flatMap(DecimalText.parse)
                guard (ratio == nil) != (spread == nil), ratio.map({ $0 > 0 && $0 < 1 }) ?? true, spread.map({ $0 > 0 }) ?? true else {
                    throw SimulatedRejection("51000", "Parameter callbackRatio or callbackSpread error: give one of them")
                }
                (algo.callbackRatio, algo.callbackSpread, algo.activePx) = (ratio, spread, try price("activePx"))
                if algo.activePx == nil { algo.extreme = ticker.last }
            default:
                algo.tpTriggerPx = try price("tpTriggerPx")
                algo.tpOrdPx = try price("tpOrdPx", market: true)
                algo.slTriggerPx = try price("slTriggerPx")
                algo.slOrdPx = try price("slOrdPx", market: true)
                let takeProfit = algo.tpTriggerPx != nil && algo.tpOrdPx != nil
                let stopLoss = algo.slTriggerPx != nil && algo.slOrdPx != nil
                guard ordType == "oco" ? takeProfit && stopLoss : takeProfit != stopLoss else {
                    throw SimulatedRejection("51000", "Parameter tpTriggerPx/slTriggerPx error")
                }
            }
            for value in [algo.triggerPx, algo.orderPx, algo.tpTriggerPx, algo.tpOrdPx, algo.slTriggerPx, algo.slOrdPx, algo.activePx] {
                if let value, value != -1, !value.isMultiple(of: instrument.tickSz) { throw SimulatedRejection("51000", "Parameter px error") }
            }
            state.nextAlgoId += 1
            state.algos[algo.algoId] = algo
            state.algoSequence.append(algo.algoId)
            state.algoChanges.append(algo)
            return algo
        }
    }

    /// The algo order `algoId`, or the latest with `algoClOrdId`.
    public func algo(algoId: String?, algoClOrdId: String?) -> SimulatedAlgoOrder? {
        state.withLock { state in
            if let algoId, !algoId.isEmpty { return state.algos[algoId] }
            guard let algoClOrdId, !algoClOrdId.isEmpty else { return nil }
            for id in state.algoSequence.reversed() {
                if let algo = state.algos[id], algo.algoClOrdId == algoClOrdId { return algo }
            }
            return nil
        }
    }

    /// Algo orders, newest first, that are live (or not), of `ordTypes` (all when empty).
    public func algos(live: Bool, ordTypes: Set<String>) -> [SimulatedAlgoOrder] {
        state.withLock { state in
            state.algoSequence.reversed().compactMap { state.algos[$0] }.filter {
                $0.isLive == live && (ordTypes.isEmpty || ordTypes.contains($0.ordType))
            }
        }
    }

    /// Cancels a live algo order.
    public func cancelAlgo(instId: String, algoId: String) throws(SimulatedRejection) -> SimulatedAlgoOrder {
        let now = clock()
        return try mutate { (state: inout State, _: inout [SimulatedOrderEvent]) throws(SimulatedRejection) -> SimulatedAlgoOrder in
            guard var algo = state.algos[algoId], algo.instId == instId, algo.isLive else {
                throw SimulatedRejection("51400", "Cancellation failed as the order has been filled, canceled or does not exist.")
            }
            algo.state = "canceled"
            algo.updatedAt = now
            state.algos[algoId] = algo
            state.algoChanges.append(algo)
            return algo
        }
    }

    /// Fires the live algo orders of `instId` that `last` reaches: each places its order (market, or limit at its
    /// order price) carrying its `algoClOrdId`; a trailing stop first follows the best price since it became active.
    static func runAlgos(_ instId: String, last: Decimal, state: inout State, events: inout [SimulatedOrderEvent], now: Date) {
        for algoId in state.algoSequence {
            guard var algo = state.algos[algoId], algo.isLive, algo.instId == instId else { continue }
            let sell = algo.side == .sell
            var orderPx: Decimal?
            switch algo.ordType {
            case "trigger":
                guard let trigger = algo.triggerPx, algo.firesRising ? last >= trigger : last <= trigger else { continue }
                orderPx = algo.orderPx
            case "move_order_stop":
                if algo.extreme == nil, let active = algo.activePx, sell ? last >= active : last <= active { algo.extreme = last }
                guard let best = algo.extreme.map({ sell ? max($0, last) : min($0, last) }) else { continue }
                algo.extreme = best
                let distance = algo.callbackSpread ?? best * (algo.callbackRatio ?? 0)
                guard sell ? last <= best - distance : last >= best + distance else {
                    state.algos[algoId] = algo
                    continue
                }
                orderPx = -1
            default:
                // A sell's take-profit is above, its stop-loss below; a buy's the other way round.
                let takeProfit = algo.tpTriggerPx.map { sell ? last >= $0 : last <= $0 } ?? false
                let stopLoss = algo.slTriggerPx.map { sell ? last <= $0 : last >= $0 } ?? false
                guard takeProfit || stopLoss else { continue }
                orderPx = takeProfit ? algo.tpOrdPx : algo.slOrdPx
            }
            let market = orderPx == -1
            let request = OrderRequest(
                instId: instId,
                tdMode: algo.tdMode,
                clOrdId: "",
                side: algo.side,
                ordType: market ? .market : .limit,
                sz: algo.sz,
                px: market ? nil : orderPx,
                tgtCcy: market ? (algo.tgtCcy ?? "base_ccy") : nil
            )
            do {
                let placed = try place(
                    request,
                    algoClOrdId: algo.algoClOrdId.isEmpty ? nil : algo.algoClOrdId,
                    state: &state,
                    events: &events,
                    now: now
                )
                algo.state = "effective"
                algo.ordId = placed.ordId
            } catch {
                algo.state = "order_failed"
            }
            algo.updatedAt = now
            state.algos[algoId] = algo
            state.algoChanges.append(algo)
        }
    }

    /// How many algo order streams are open (for tests: a feed has subscribed).
    public var algoObserverCount: Int { state.withLock { $0.algoObservers.count } }

    /// A stream of every algo order change from now on (placed, triggered, canceled): what the `orders-algo` channel
    /// pushes.
    public func algoEvents() -> AsyncStream<SimulatedAlgoOrder> {
        let (stream, continuation) = AsyncStream<SimulatedAlgoOrder>.makeStream()
        let id = UUID()
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.algoObservers.removeValue(forKey: id) }
        }
        state.withLock { $0.algoObservers[id] = continuation }
        return stream
    }
}
