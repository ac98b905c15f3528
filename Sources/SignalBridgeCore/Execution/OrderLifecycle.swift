import Foundation

/// Where an order stands, as the journal and the exchange tell it.
public enum OrderState: String, Sendable, CaseIterable {
    /// Journaled (`order.intent`), not yet sent.
    case pending
    /// Sent without a clear answer (`order.unknown`), or being sent again (`order.retry`): it may exist.
    case unknown
    /// Accepted and resting.
    case live
    case partiallyFilled = "partially_filled"
    case filled
    case canceled
    case rejected
    case abandoned
    /// An algo order whose triggered order the exchange refused.
    case failed = "order_failed"

    /// Whether nothing more happens to the order.
    public var isFinal: Bool { [.filled, .canceled, .rejected, .abandoned, .failed].contains(self) }

    /// The state an exchange state (`live`, `partially_filled`, `filled`, `canceled`, `mmp_canceled`; for an algo
    /// order ``AlgoProgress/orderState(algoState:placedState:)``) stands for.
    public init(exchangeState: String) {
        switch exchangeState {
        case "partially_filled": self = .partiallyFilled
        case "filled": self = .filled
        case "canceled", "mmp_canceled": self = .canceled
        case "order_failed": self = .failed
        default: self = .live
        }
    }
}

/// Something that happened to an order: the meaning of one journal record about it.
public enum OrderEvent: Sendable, Equatable {
    case intent
    case unknown(expTime: Date?)
    case retry(expTime: Date?)
    case ack(ordId: String)
    /// A state change or fill, in the exchange's words (for an algo order, `ordId` is its `algoId`, the fills are
    /// those of the order it placed, and `algo` says where it stands).
    case update(ordId: String?, state: String, accFillSz: Decimal?, avgPx: Decimal?, fee: Decimal?, feeCcy: String?, algo: AlgoProgress? = nil)
    case reject(sCode: String, sMsg: String)
    case abandoned(reason: String)

    /// An exchange's report of the order (a push or a lookup), as an event.
    public static func update(_ status: OrderStatus) -> OrderEvent {
        .update(
            ordId: status.ordId,
            state: status.state,
            accFillSz: status.accFillSz,
            avgPx: status.avgPx,
            fee: status.fee,
            feeCcy: status.feeCcy,
            algo: status.algo
        )
    }

    /// The event a journal record stands for, with the order it concerns; nil for records that concern no order.
    public static func decode(_ record: JournalRecord) -> (clOrdId: String, event: OrderEvent)? {
        guard let type = record.recordType else { return nil }
        return decode(type: type, fields: { record[$0] })
    }

    /// The event a record of `type` with `fields` stands for (a record read back, or an entry about to be written),
    /// with the order it concerns (an algo order's `algoClOrdId` for its `algo.*` records); nil for records that concern
    /// no order.
    public static func decode(type: JournalRecordType, fields: (String) -> JSONValue?) -> (clOrdId: String, event: OrderEvent)? {
        guard let clOrdId = fields(type.isAlgo ? "algoClOrdId" : "clOrdId")?.stringValue else { return nil }
        let expTime = fields("expTime")?.decimalValue.flatMap { Date(unixMilliseconds: $0) }
        let event: OrderEvent
        switch type {
        case .orderIntent, .algoIntent: event = .intent
        case .orderUnknown, .algoUnknown: event = .unknown(expTime: expTime)
        case .orderRetry, .algoRetry: event = .retry(expTime: expTime)
        case .orderAck, .algoAck:
            guard let ordId = fields(type.isAlgo ? "algoId" : "ordId")?.stringValue else { return nil }
            event = .ack(ordId: ordId)
        case .algoUpdate:
            guard let state = fields("state")?.stringValue else { return nil }
            let placedState = fields("ordState")?.stringValue
            event = .update(
                ordId: fields("algoId")?.stringValue,
                state: AlgoProgress.orderState(algoState: state, placedState: placedState),
                accFillSz: fields("accFillSz")?.decimalValue,
                avgPx: fields("avgPx")?.decimalValue,
                fee: fields("fee")?.decimalValue,
                feeCcy: fields("feeCcy")?.stringValue,
                algo: AlgoProgress(state: state, ordId: fields("ordId")?.stringValue, ordState: placedState)
            )
        case .orderUpdate:
            guard let state = fields("state")?.stringValue else { return nil }
            event = .update(
                ordId: fields("ordId")?.stringValue,
                state: state,
                accFillSz: fields("accFillSz")?.decimalValue,
                avgPx: fields("avgPx")?.decimalValue,
                fee: fields("fee")?.decimalValue,
                feeCcy: fields("feeCcy")?.stringValue
            )
        case .orderReject, .algoReject: event = .reject(sCode: fields("sCode")?.stringValue ?? "", sMsg: fields("sMsg")?.stringValue ?? "")
        case .orderAbandoned, .algoAbandoned: event = .abandoned(reason: fields("reason")?.stringValue ?? "")
        case .signal, .rejected, .decision, .rulesLoaded: return nil
        }
        return (clOrdId, event)
    }
}

/// The life of one order as a pure state machine, after async-http-client's request state machine: an event in,
/// the new state and the next action out, no I/O. Replay and the audit report fold journal records through it;
/// a final state takes no further event.
public struct OrderLifecycle: Sendable, Equatable {
    /// What the caller should do next.
    public enum Action: Sendable, Equatable {
        /// Nothing.
        case none
        /// Send it (its turn in the instrument's lane).
        case send
        /// Look it up by `clOrdId` once the exchange can no longer take a request sent for it (`notBefore`, in
        /// the exchange's clock; nil: at once).
        case lookUp(notBefore: Date?)
        /// Follow it until it is final (pushes, REST).
        case follow
        /// It is final: stop tracking it.
        case settle
    }

    public private(set) var state: OrderState = .pending
    public private(set) var ordId: String?
    /// The latest `expTime` of any request sent for it.
    public private(set) var latestExpTime: Date?
    public private(set) var filledSize: Decimal = 0
    public private(set) var averagePrice: Decimal?
    public private(set) var fee: Decimal = 0
    public private(set) var feeCurrency: String?
    /// Why it was rejected or abandoned.
    public private(set) var reason: String?
    /// For an algo order: its own state and the order it placed, as last reported.
    public private(set) var algo: AlgoProgress?

    public init() {}

    /// Applies `event` and says what to do next. Events after a final state change nothing, nor does a report of
    /// less than is known.
    public mutating func apply(_ event: OrderEvent) -> Action {
        guard !state.isFinal else { return .none }
        switch event {
        case .intent:
            return state == .pending ? .send : .none
        case .unknown(let expTime), .retry(let expTime):
            if let expTime { latestExpTime = max(latestExpTime ?? expTime, expTime) }
            guard ordId == nil else { return .follow }
            state = .unknown
            if case .retry = event { return .none }
            return .lookUp(notBefore: latestExpTime)
        case .ack(let ordId):
            self.ordId = ordId
            if state == .pending || state == .unknown { state = .live }
            return .follow
        case .update(let ordId, let exchangeState, let accFillSz, let avgPx, let fee, let feeCcy, let algo):
            if let ordId, !ordId.isEmpty { self.ordId = ordId }
            // Once triggered, an algo order never goes back to waiting (an older REST answer overtaken by a push).
            if let algo, self.algo?.state != "effective" || algo.state != "live" { self.algo = algo }
            let new = OrderState(exchangeState: exchangeState)
            let fill = accFillSz ?? filledSize
            // A report older than what is known (a REST answer overtaken by a push) changes nothing: fills only grow,
            // and a partly filled order does not go back to live. A final state always counts, its fills only when
            // they are not less than known.
            let stale = fill < filledSize
            if !new.isFinal, stale || (state == .partiallyFilled && new == .live) { return .follow }
            state = new
            if !stale {
                filledSize = fill
                averagePrice = avgPx ?? averagePrice
                self.fee = fee ?? self.fee
            }
            if let feeCcy, !feeCcy.isEmpty { feeCurrency = feeCcy }
            return state.isFinal ? .settle : .follow
        case .reject(let sCode, let sMsg):
            state = .rejected
            reason = [sCode, sMsg].filter { !$0.isEmpty }.joined(separator: " ")
            return .settle
        case .abandoned(let reason):
            state = .abandoned
            self.reason = reason
            return .settle
        }
    }

    /// The lifecycle after `events`, in order.
    public static func folding(_ events: [OrderEvent]) -> OrderLifecycle {
        var lifecycle = OrderLifecycle()
        for event in events { _ = lifecycle.apply(event) }
        return lifecycle
    }
}
