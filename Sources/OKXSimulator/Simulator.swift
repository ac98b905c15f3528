import Foundation
import SignalBridgeCore
import Synchronization

/// Everything a simulator is: its account, the credentials it accepts, its faults and its clock.
public final class Simulator: Sendable {
    public let account: SimulatedAccount
    public let credentials: SimulatorCredentials
    public let faults: FaultInjector
    let clock: @Sendable () -> Date
    /// OKX's order rate limit: 60 requests per 2 s per instrument.
    let orderRate = Mutex(RateWindow(limit: 60, window: 2))
    /// Authenticated requests served, per path (for tests: which endpoint a client library used).
    let requestCounts = Mutex<[String: Int]>([:])
    /// Requests that arrived on an OKX path, before any injected latency or authentication (for tests: a request is in
    /// flight).
    let arrivalCounts = Mutex<[String: Int]>([:])

    public init(
        account: SimulatedAccount = SimulatedAccount(),
        credentials: SimulatorCredentials,
        faults: FaultInjector = FaultInjector(),
        clock: @escaping @Sendable () -> Date = Date.init
    ) {
        self.account = account
        self.credentials = credentials
        self.faults = faults
        self.clock = clock
    }

    /// Whether one more order request for `instId` fits OKX's rate limit.
    func admitOrderRequest(instId: String) -> Bool {
        let now = clock()
        return orderRate.withLock { $0.admit(instId, now: now) }
    }

    /// Counts an authenticated request to `path`.
    func count(path: String) {
        requestCounts.withLock { $0[path, default: 0] += 1 }
    }

    /// Counts a request that arrived on `path`.
    func countArrival(path: String) {
        arrivalCounts.withLock { $0[path, default: 0] += 1 }
    }

    /// What an order request came to after OKX's request-level checks and any injected fault.
    public enum RequestOutcome<Placed: Sendable>: Sendable {
        /// Refused as a whole before anything was placed: OKX's code and message, and the HTTP status.
        case refused(code: String, message: String, httpStatus: Int)
        /// Each order's result, in order; `hiddenBy` is the fault that keeps the answer from the client.
        case processed([Result<Placed, SimulatedRejection>], hiddenBy: SimulatedFault?)
    }

    /// What a `trade/order` or `trade/batch-orders` request came to.
    public typealias OrderRequestOutcome = RequestOutcome<SimulatedOrder>

    /// Handles one order request (`trade/order` or `trade/batch-orders`) as OKX would: `expTime`, the rate limit
    /// of each instrument, then the next injected fault, then each order. `nil` stands for an order body that
    /// could not be read. The REST front and the in-process exchange both go through here.
    func processOrderRequest(_ orders: [OrderRequest?], expiresAt: Date?) -> OrderRequestOutcome {
        processRequest(instIds: orders.compactMap { $0?.instId }, expiresAt: expiresAt) {
            orders.map { order -> Result<SimulatedOrder, SimulatedRejection> in
                guard let order else { return .failure(SimulatedRejection("51000", "Parameter instId, side, ordType or sz error")) }
                do throws(SimulatedRejection) {
                    return .success(try account.place(order))
                } catch {
                    return .failure(error)
                }
            }
        }
    }

    /// Handles one `trade/order-algo` request the same way (its body, as sent).
    func processAlgoRequest(_ body: JSONObject, expiresAt: Date?) -> RequestOutcome<SimulatedAlgoOrder> {
        processRequest(instIds: body["instId"]?.stringValue.map { [$0] } ?? [], expiresAt: expiresAt) {
            do throws(SimulatedRejection) {
                return [.success(try account.placeAlgo(body))]
            } catch {
                return [.failure(error)]
            }
        }
    }

    /// `expTime`, the rate limit of each of `instIds`, the next injected fault, then `place`.
    private func processRequest<Placed>(
        instIds: [String],
        expiresAt: Date?,
        place: () -> [Result<Placed, SimulatedRejection>]
    ) -> RequestOutcome<Placed> {
        if let expiresAt, clock() > expiresAt { return .refused(code: "50037", message: "Order expired.", httpStatus: 200) }
        let tooMany = RequestOutcome<Placed>.refused(code: "50011", message: "Too Many Requests", httpStatus: 429)
        for instId in instIds where !admitOrderRequest(instId: instId) { return tooMany }
        let fault = faults.nextOrderFault()
        switch fault {
        case .rateLimited: return tooMany
        case .busy: return .refused(code: "50013", message: "System is busy, please try again later", httpStatus: 429)
        case .serverError(placed: false): return .refused(code: "50026", message: "System error, please try again later.", httpStatus: 500)
        case .dropAnswer, .serverError(placed: true), nil: break
        }
        return .processed(place(), hiddenBy: fault)
    }
}
