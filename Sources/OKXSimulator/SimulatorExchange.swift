import Foundation
import SignalBridgeCore

/// The simulator as the bridge's ``Exchange``, in process (`exchange.kind: "sim"`): no network in between, but
/// the same rate limit, `expTime` and injected faults as its REST front.
public struct SimulatorExchange: Exchange {
    public let simulator: Simulator
    public var account: SimulatedAccount { simulator.account }

    public init(simulator: Simulator = Simulator(credentials: .random())) { self.simulator = simulator }

    public func instruments() async throws(ExchangeError) -> [Instrument] {
        await simulator.faults.delay()
        return account.instruments()
    }

    public func ticker(instId: String) async throws(ExchangeError) -> Ticker {
        await simulator.faults.delay()
        guard let ticker = account.ticker(instId) else {
            throw ExchangeError(code: "51001", message: "Instrument ID does not exist.", retryable: false)
        }
        return ticker
    }

    public func balances() async throws(ExchangeError) -> [Balance] {
        await simulator.faults.delay()
        return account.balances()
    }

    public func accountLevel() async throws(ExchangeError) -> Int { account.accountLevel }

    public func place(_ order: OrderRequest, expiresAt: Date) async -> PlacementOutcome {
        await simulator.faults.delay()
        guard simulator.clock() <= expiresAt else { return .rejected(sCode: "50037", sMsg: "Order expired.") }
        guard simulator.admitOrderRequest(instId: order.instId) else { return .notPlaced(reason: "OKX 50011: Too Many Requests") }
        let fault = simulator.faults.nextOrderFault()
        switch fault {
        case .rateLimited: return .notPlaced(reason: "OKX 50011: Too Many Requests")
        case .busy: return .unknown(reason: "OKX 50013: System is busy")
        case .serverError(placed: false): return .unknown(reason: "OKX answered HTTP 500 code 50026")
        case .dropAnswer, .serverError(placed: true), nil: break
        }
        let outcome: PlacementOutcome
        do {
            outcome = .accepted(ordId: try account.place(order).ordId)
        } catch {
            outcome = .rejected(sCode: error.sCode, sMsg: error.sMsg)
        }
        switch fault {
        case .dropAnswer: return .unknown(reason: "no answer from OKX (connection dropped by fault injection)")
        case .serverError: return .unknown(reason: "OKX answered HTTP 500 code 50026")
        default: return outcome
        }
    }

    public func order(instId: String, clOrdId: String) async throws(ExchangeError) -> OrderStatus? {
        await simulator.faults.delay()
        return account.order(instId: instId, ordId: nil, clOrdId: clOrdId)?.status
    }
}
