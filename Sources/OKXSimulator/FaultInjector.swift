import Foundation
import SignalBridgeCore
import Synchronization

/// A fault the simulator can be told to produce, for tests of what the bridge does when OKX misbehaves.
public enum SimulatedFault: Sendable, Equatable {
    /// The order is placed, but the connection closes before the answer: the outcome is unknown to the client.
    case dropAnswer
    /// HTTP 500 with code 50026; `placed` says whether the order was placed anyway.
    case serverError(placed: Bool)
    /// HTTP 429 with code 50011; nothing is placed.
    case rateLimited
    /// HTTP 429 with code 50013 (system busy); nothing is placed.
    case busy
}

/// Faults queued for the next order requests, added latency, and WebSocket disconnects; driven by tests through
/// `POST /sim/faults` or directly in process.
public final class FaultInjector: Sendable {
    private struct State {
        var queued: [SimulatedFault] = []
        var latency: Duration = .zero
        var outageUntil: Date?
        var publicFeedDownUntil: Date?
        var disconnectObservers: [UUID: AsyncStream<Void>.Continuation] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Makes the next `count` order requests fail with `fault`.
    public func inject(_ fault: SimulatedFault, count: Int = 1) {
        state.withLock { $0.queued += Array(repeating: fault, count: count) }
    }

    /// Delays every request by `latency` (zero to stop).
    public func setLatency(_ latency: Duration) {
        state.withLock { $0.latency = latency }
    }

    /// Clears queued faults, latency and an outage.
    public func reset() {
        state.withLock {
            $0.queued = []
            $0.latency = .zero
            $0.outageUntil = nil
            $0.publicFeedDownUntil = nil
        }
    }

    /// Takes the public WebSocket (market data) down for `seconds`: its connections are closed and refused while REST
    /// keeps answering, so a client's fallback to polling shows. (Private connections are closed too, and reconnect.)
    public func startPublicFeedOutage(seconds: TimeInterval) {
        state.withLock { $0.publicFeedDownUntil = Date().addingTimeInterval(seconds) }
        disconnectWebSockets()
    }

    /// Whether the public WebSocket refuses connections (an outage of the exchange, or of its public feed).
    public var isPublicFeedDown: Bool {
        let feedDown = state.withLock { state in
            guard let until = state.publicFeedDownUntil else { return false }
            if Date() < until { return true }
            state.publicFeedDownUntil = nil
            return false
        }
        return feedDown || isDown
    }

    /// Takes the exchange down for `seconds`: every REST request answers HTTP 503, and WebSockets are closed and
    /// refused, as in an exchange outage.
    public func startOutage(seconds: TimeInterval) {
        state.withLock { $0.outageUntil = Date().addingTimeInterval(seconds) }
        disconnectWebSockets()
    }

    /// Whether an outage is under way.
    public var isDown: Bool {
        state.withLock { state in
            guard let until = state.outageUntil else { return false }
            if Date() < until { return true }
            state.outageUntil = nil
            return false
        }
    }

    /// The error every request meets during an outage.
    static let outageError = ExchangeError(code: "50001", message: "HTTP 503: Service temporarily unavailable (simulated outage)", retryable: true)

    /// The fault for the next order request, if one is queued (and consumes it).
    public func nextOrderFault() -> SimulatedFault? {
        state.withLock { $0.queued.isEmpty ? nil : $0.queued.removeFirst() }
    }

    /// Sleeps for the configured latency.
    public func delay() async {
        let latency = state.withLock { $0.latency }
        if latency > .zero { try? await Task.sleep(for: latency) }
    }

    /// Sleeps for the configured latency, then fails as the exchange does during an outage.
    func delayOrFail() async throws(ExchangeError) {
        await delay()
        if isDown { throw Self.outageError }
    }

    /// Closes every WebSocket connection, private and public.
    public func disconnectWebSockets() {
        let observers = state.withLock { Array($0.disconnectObservers.values) }
        observers.forEach { $0.yield() }
    }

    /// Yields each time ``disconnectWebSockets()`` is called.
    func disconnects() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        let id = UUID()
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.disconnectObservers.removeValue(forKey: id) }
        }
        state.withLock { $0.disconnectObservers[id] = continuation }
        return stream
    }
}
