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
}
