/// An order the bridge has decided to send, journaled before the sender gets its 202.
public struct OrderIntent: Sendable, Equatable {
    public var clOrdId: String { request.clOrdId }
    public var signalId: String
    public var ruleId: String
    /// The exact OKX body; for an algo order, the order it places when triggered (what the risk guards and the
    /// execution lanes count), under its `algoClOrdId`.
    public var request: OrderRequest
    /// The exact `trade/order-algo` body, when it is an algo order.
    public var algo: AlgoOrderRequest?

    public init(signalId: String, ruleId: String, request: OrderRequest) {
        self.signalId = signalId
        self.ruleId = ruleId
        self.request = request
    }

    /// An algo order's intent.
    public init(signalId: String, ruleId: String, algo: AlgoOrderRequest) {
        self.init(signalId: signalId, ruleId: ruleId, request: algo.placedOrder)
        self.algo = algo
    }

    /// Whether it is an algo order (journaled as `algo.*` records, sent to `trade/order-algo`).
    public var isAlgo: Bool { algo != nil }
}

/// Takes order intents once they are durable and sends them.
public protocol OrderDispatcher: Sendable {
    /// Queues `intents` for execution, in order; returns at once.
    func submit(_ intents: [OrderIntent])
    /// Whether another order for `instId` may be queued (decisions are blocked when not).
    func hasRoom(for instId: String) -> Bool
    /// Whether an order with `clOrdId` is still open (a signal id used again after the duplicate window, while the
    /// first signal's order still rests): a new order with that id is blocked, since OKX would refuse it or, once
    /// the first is final, take a second order that lookups could not tell apart.
    func isOpen(clOrdId: String) -> Bool
}
