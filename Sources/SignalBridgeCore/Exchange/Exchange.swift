import Foundation

/// What the exchange said to an order request.
public enum PlacementOutcome: Sendable, Equatable {
    /// Accepted, with the exchange's order id.
    case accepted(ordId: String)
    /// Refused for this order (`sCode`/`sMsg`); final.
    case rejected(sCode: String, sMsg: String)
    /// No clear answer (timeout, HTTP 5xx, 50004, 51149 …): the order may or may not exist.
    case unknown(reason: String)
    /// Refused before processing (rate limit 50011, bad timestamp 50102): not placed, safe to send again later.
    case notPlaced(reason: String)
}

/// A failure talking to the exchange.
public struct ExchangeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// OKX's `code`, when it gave one.
    public var code: String?
    /// What happened, without secrets.
    public var message: String
    /// Whether sending the same request again is harmless (rate limits, unreachable before sending).
    public var retryable: Bool

    public init(code: String? = nil, message: String, retryable: Bool) {
        self.code = code
        self.message = message
        self.retryable = retryable
    }

    public var description: String { code.map { "OKX \($0): \(message)" } ?? message }
}

/// The exchange as the bridge uses it: the OKX REST client, or the simulator in process.
///
/// Decisions never call it; only execution and the background market data refresh do.
public protocol Exchange: Sendable {
    /// Spot instruments with their lot, tick and minimum sizes.
    func instruments() async throws(ExchangeError) -> [Instrument]
    /// The current ticker of `instId`.
    func ticker(instId: String) async throws(ExchangeError) -> Ticker
    /// Available balances.
    func balances() async throws(ExchangeError) -> [Balance]
    /// The account mode, OKX's `acctLv` (`GET /api/v5/account/config`): 1 Spot, 2 Futures, 3 Multi-currency
    /// margin, 4 Portfolio margin.
    func accountLevel() async throws(ExchangeError) -> Int
    /// Places `order`; the exchange discards it if it arrives after `expiresAt`.
    func place(_ order: OrderRequest, expiresAt: Date) async -> PlacementOutcome
    /// The latest order with `clOrdId`, or `nil` when the exchange has none (51603).
    func order(instId: String, clOrdId: String) async throws(ExchangeError) -> OrderStatus?
    /// The push feed of order changes (OKX's private WebSocket `orders` channel), when the exchange has one.
    func orderFeed() -> (any OrderUpdateFeed)?
    /// The push feed of tickers (OKX's public WebSocket `tickers` channel), when the exchange has one.
    func tickerFeed() -> (any TickerFeed)?
    /// The push feed of algo order changes (OKX's business WebSocket `orders-algo` channel), when the exchange has one.
    func algoFeed() -> (any AlgoUpdateFeed)?
    /// The exchange's clock (`GET /api/v5/public/time`), against which `expTime` is checked.
    func serverTime() async throws(ExchangeError) -> Date
    /// Cancels the resting order with `clOrdId`.
    func cancel(instId: String, clOrdId: String) async throws(ExchangeError)
    /// Places an algo order (`POST /api/v5/trade/order-algo`); `accepted` carries its `algoId`. The exchange
    /// discards it if it arrives after `expiresAt`.
    func placeAlgo(_ order: AlgoOrderRequest, expiresAt: Date) async -> PlacementOutcome
    /// The latest algo order with `algoClOrdId`, or `nil` when the exchange has none (51603).
    func algoOrder(instId: String, algoClOrdId: String) async throws(ExchangeError) -> AlgoStatus?
    /// The order `ordId` (one an algo order placed), or `nil` when the exchange has none.
    func order(instId: String, ordId: String) async throws(ExchangeError) -> OrderStatus?
    /// Cancels the live algo order `algoId`.
    func cancelAlgo(instId: String, algoId: String) async throws(ExchangeError)
}

extension Exchange {
    /// Where `intent`'s order stands, or `nil` when the exchange has none with its `clOrdId`. For an algo order,
    /// looked up by `algoClOrdId`, with the fills of the order it placed once triggered (``AlgoStatus/orderStatus(placed:)``).
    public func status(of intent: OrderIntent) async throws(ExchangeError) -> OrderStatus? {
        guard intent.isAlgo else { return try await order(instId: intent.request.instId, clOrdId: intent.clOrdId) }
        guard let algo = try await algoOrder(instId: intent.request.instId, algoClOrdId: intent.clOrdId) else { return nil }
        guard algo.algoClOrdId.isEmpty || algo.algoClOrdId == intent.clOrdId else {
            throw ExchangeError(message: "the exchange answered a lookup of \(intent.clOrdId) with algo order \(algo.algoClOrdId)", retryable: true)
        }
        var placed: OrderStatus?
        if algo.progress.state == "effective", let ordId = algo.progress.ordId {
            placed = try await order(instId: algo.instId.isEmpty ? intent.request.instId : algo.instId, ordId: ordId)
        }
        var status = algo.orderStatus(placed: placed)
        status.clOrdId = intent.clOrdId
        if status.instId.isEmpty { status.instId = intent.request.instId }
        return status
    }

    /// Places `intent`'s order, or its algo order.
    public func place(_ intent: OrderIntent, expiresAt: Date) async -> PlacementOutcome {
        guard let algo = intent.algo else { return await place(intent.request, expiresAt: expiresAt) }
        return await placeAlgo(algo, expiresAt: expiresAt)
    }
}

extension Exchange {
    /// No push feed: orders are followed over REST only.
    public func orderFeed() -> (any OrderUpdateFeed)? { nil }

    /// No push feed: tickers are polled over REST only.
    public func tickerFeed() -> (any TickerFeed)? { nil }

    /// No push feed: algo orders are followed over REST only.
    public func algoFeed() -> (any AlgoUpdateFeed)? { nil }
}

/// Pushed tickers: OKX's public WebSocket `tickers` channel, or the simulator's equivalent.
public protocol TickerFeed: Sendable {
    /// Connects and subscribes to the tickers of `instruments`; calls `connected` once subscribed and `ticker` for
    /// every push until the connection ends (returns) or fails (throws).
    func follow(
        instruments: [String],
        connected: @escaping @Sendable () async -> Void,
        ticker: @escaping @Sendable (Ticker) async -> Void
    ) async throws
}

/// Pushed algo order changes: OKX's business WebSocket `orders-algo` channel, or the simulator's equivalent.
public protocol AlgoUpdateFeed: Sendable {
    /// Connects, logs in and subscribes; calls `connected` once subscribed and `update` for every algo order change
    /// until the connection ends (returns) or fails (throws). The caller catches up over REST after `connected`.
    func follow(
        connected: @escaping @Sendable () async -> Void,
        update: @escaping @Sendable (AlgoStatus) async -> Void
    ) async throws
}

/// Pushed order changes: OKX's private WebSocket `orders` channel, or the simulator's equivalent.
public protocol OrderUpdateFeed: Sendable {
    /// Connects, logs in and subscribes; calls `connected` once subscribed and `update` for every order change
    /// until the connection ends (returns) or fails (throws). Pushes missed while disconnected are not replayed:
    /// the caller catches up over REST after `connected`.
    func follow(
        connected: @escaping @Sendable () async -> Void,
        update: @escaping @Sendable (OrderStatus) async -> Void
    ) async throws
}

/// The OKX account mode and the spot `tdMode` OKX documents for it.
public struct AccountMode: Sendable, Equatable, CustomStringConvertible {
    /// OKX's `acctLv`.
    public var level: Int

    public init(level: Int) { self.level = level }

    /// `cash` in Spot and Futures modes; `cross` in the margin modes, where OKX's tdMode table lists spot as cross.
    public var spotTdMode: String { level >= 3 ? "cross" : "cash" }

    public var description: String {
        let names = [1: "Spot", 2: "Futures", 3: "Multi-currency margin", 4: "Portfolio margin"]
        return "\(names[level] ?? "unknown") mode (acctLv \(level))"
    }
}
