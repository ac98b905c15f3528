import Foundation
import SignalBridgeCore

/// The simulator as the bridge's ``Exchange``, in process (`exchange.kind: "sim"`): no network in between, but
/// the same rate limit, `expTime` and injected faults as its REST front.
public struct SimulatorExchange: Exchange {
    public let simulator: Simulator
    public var account: SimulatedAccount { simulator.account }

    public init(simulator: Simulator = Simulator(credentials: .random())) { self.simulator = simulator }

    public func instruments() async throws(ExchangeError) -> [Instrument] {
        try await simulator.faults.delayOrFail()
        return account.instruments()
    }

    public func ticker(instId: String) async throws(ExchangeError) -> Ticker {
        try await simulator.faults.delayOrFail()
        guard let ticker = account.ticker(instId) else {
            throw ExchangeError(code: "51001", message: "Instrument ID does not exist.", retryable: false)
        }
        return ticker
    }

    public func balances() async throws(ExchangeError) -> [Balance] {
        try await simulator.faults.delayOrFail()
        return account.balances()
    }

    public func accountLevel() async throws(ExchangeError) -> Int {
        try await simulator.faults.delayOrFail()
        return account.accountLevel
    }

    public func place(_ order: OrderRequest, expiresAt: Date) async -> PlacementOutcome {
        do {
            try await simulator.faults.delayOrFail()
        } catch {
            return OKXAnswers.refusal(code: error.code ?? "", message: error.message, httpStatus: 503)
        }
        return Self.outcome(simulator.processOrderRequest([order], expiresAt: expiresAt)) { $0.ordId }
    }

    public func placeAlgo(_ order: AlgoOrderRequest, expiresAt: Date) async -> PlacementOutcome {
        do {
            try await simulator.faults.delayOrFail()
        } catch {
            return OKXAnswers.refusal(code: error.code ?? "", message: error.message, httpStatus: 503)
        }
        guard let body = order.json.objectValue else { return .rejected(sCode: "50002", sMsg: "JSON syntax error") }
        return Self.outcome(simulator.processAlgoRequest(body, expiresAt: expiresAt)) { $0.algoId }
    }

    /// What one order's request came to, as the REST client would see it; `id` is the exchange's id of what it placed.
    static func outcome<Placed>(_ outcome: Simulator.RequestOutcome<Placed>, id: (Placed) -> String) -> PlacementOutcome {
        switch outcome {
        case .refused(let code, let message, let httpStatus):
            return OKXAnswers.refusal(code: code, message: message, httpStatus: httpStatus)
        case .processed(_, hiddenBy: .dropAnswer):
            return .unknown(reason: "no answer from OKX (connection dropped by fault injection)")
        case .processed(_, hiddenBy: .serverError):
            return .unknown(reason: "OKX answered HTTP 500 code 50026")
        case .processed(let results, _):
            switch results[0] {
            case .success(let placed): return .accepted(ordId: id(placed))
            case .failure(let error): return OKXAnswers.refusal(code: error.sCode, message: error.sMsg, httpStatus: 200)
            }
        }
    }

    public func algoOrder(instId: String, algoClOrdId: String) async throws(ExchangeError) -> AlgoStatus? {
        try await simulator.faults.delayOrFail()
        return account.algo(algoId: nil, algoClOrdId: algoClOrdId)?.status
    }

    public func order(instId: String, ordId: String) async throws(ExchangeError) -> OrderStatus? {
        try await simulator.faults.delayOrFail()
        return account.order(instId: instId, ordId: ordId, clOrdId: nil)?.status
    }

    public func cancelAlgo(instId: String, algoId: String) async throws(ExchangeError) {
        try await simulator.faults.delayOrFail()
        do {
            _ = try account.cancelAlgo(instId: instId, algoId: algoId)
        } catch {
            throw ExchangeError(code: error.sCode, message: error.sMsg, retryable: false)
        }
    }

    public func order(instId: String, clOrdId: String) async throws(ExchangeError) -> OrderStatus? {
        try await simulator.faults.delayOrFail()
        guard let status = account.order(instId: instId, ordId: nil, clOrdId: clOrdId)?.status else { return nil }
        return try OrderStatus.answering(clOrdId, status)
    }

    public func serverTime() async throws(ExchangeError) -> Date {
        try await simulator.faults.delayOrFail()
        return simulator.clock()
    }

    public func cancel(instId: String, clOrdId: String) async throws(ExchangeError) {
        try await simulator.faults.delayOrFail()
        do {
            _ = try account.cancel(instId: instId, ordId: nil, clOrdId: clOrdId)
        } catch {
            throw ExchangeError(code: error.sCode, message: error.sMsg, retryable: false)
        }
    }
}

extension SimulatorExchange {
    /// The simulator's price changes, as its public WebSocket pushes them, in process.
    public func tickerFeed() -> (any TickerFeed)? { SimulatorTickerFeed(simulator: simulator) }
}

/// The in-process equivalent of OKX's public `tickers` channel: the current tickers at once, then every price change;
/// an outage refuses it and a disconnect fault ends it, as on the simulator's `/ws/v5/public`.
struct SimulatorTickerFeed: TickerFeed {
    let simulator: Simulator

    /// The simulator has no outage to report beyond this.
    struct Refused: Error, CustomStringConvertible {
        var description: String { "the simulator is down (fault injection)" }
    }

    func follow(
        instruments: [String],
        connected: @escaping @Sendable () async -> Void,
        ticker: @escaping @Sendable (Ticker) async -> Void
    ) async throws {
        guard !simulator.faults.isPublicFeedDown else { throw Refused() }
        let wanted = Set(instruments)
        let prices = simulator.account.tickerEvents()
        let disconnects = simulator.faults.disconnects()
        await connected()
        for instId in instruments.sorted() {
            if let current = simulator.account.ticker(instId) { await ticker(current) }
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await price in prices where wanted.contains(price.instId) { await ticker(price) }
            }
            group.addTask {
                for await _ in disconnects { return }
            }
            await group.next()
            group.cancelAll()
        }
    }
}
