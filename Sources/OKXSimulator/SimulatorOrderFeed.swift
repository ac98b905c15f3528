import Foundation
import SignalBridgeCore

/// The simulator's order pushes in process, ended by an injected WebSocket disconnect like the real feed.
public struct SimulatorOrderFeed: OrderUpdateFeed {
    let simulator: Simulator

    public func follow(
        connected: @escaping @Sendable () async -> Void,
        update: @escaping @Sendable (OrderStatus) async -> Void
    ) async throws {
        try await simulator.push(simulator.account.orderEvents, connected: connected) { await update($0.order.status) }
    }
}

/// The simulator's algo order pushes in process (its `/ws/v5/business` `orders-algo` channel).
public struct SimulatorAlgoFeed: AlgoUpdateFeed {
    let simulator: Simulator

    public func follow(
        connected: @escaping @Sendable () async -> Void,
        update: @escaping @Sendable (AlgoStatus) async -> Void
    ) async throws {
        try await simulator.push(simulator.account.algoEvents, connected: connected) { await update($0.status) }
    }
}

extension Simulator {
    /// Pushes each of `events` (subscribed before `connected` is called) to `push`, until an injected WebSocket
    /// disconnect; refused during an outage.
    func push<Event: Sendable>(
        _ events: () -> AsyncStream<Event>,
        connected: @escaping @Sendable () async -> Void,
        _ push: @escaping @Sendable (Event) async -> Void
    ) async throws {
        if faults.isDown { throw FaultInjector.outageError }
        let events = events()
        let disconnects = faults.disconnects()
        await connected()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await event in events { await push(event) }
            }
            group.addTask {
                for await _ in disconnects { return }
            }
            await group.next()
            group.cancelAll()
        }
    }
}

extension SimulatorExchange {
    public func orderFeed() -> (any OrderUpdateFeed)? { SimulatorOrderFeed(simulator: simulator) }

    public func algoFeed() -> (any AlgoUpdateFeed)? { SimulatorAlgoFeed(simulator: simulator) }
}
