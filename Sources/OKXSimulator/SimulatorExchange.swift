import Foundation
import SignalBridgeCore

/// The simulator as the bridge's ``Exchange``, in process (`exchange.kind: "sim"`): no network in between.
public struct SimulatorExchange: Exchange {
    public let account: SimulatedAccount

    public init(account: SimulatedAccount) { self.account = account }

    public func instruments() async throws(ExchangeError) -> [Instrument] { account.instruments() }

    public func ticker(instId: String) async throws(ExchangeError) -> Ticker {
        guard let ticker = account.ticker(instId) else {
            throw ExchangeError(code: "51001", message: "Instrument ID does not exist.", retryable: false)
        }
        return ticker
    }

    public func balances() async throws(ExchangeError) -> [Balance] { account.balances() }

    public func place(_ order: OrderRequest, expiresAt: Date) async -> PlacementOutcome {
        do {
            return .accepted(ordId: try account.place(order).ordId)
        } catch {
            return .rejected(sCode: error.sCode, sMsg: error.sMsg)
        }
    }

    public func order(instId: String, clOrdId: String) async throws(ExchangeError) -> OrderStatus? {
        account.order(instId: instId, ordId: nil, clOrdId: clOrdId)?.status
    }
}
