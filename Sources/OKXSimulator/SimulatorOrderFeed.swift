import Foundation
import SignalBridgeCore

/// The simulator's order pushes in process, ended by an injected WebSocket disconnect like the real feed.
public struct SimulatorOrderFeed: OrderUpdateFeed {
    let simulator: Simulator

    public func follow(
        connected: @escaping @Sendable () async -> Void,
        update: @escaping @Sendable (OrderStatus) async -> Void
    ) async throws {
        if simulator.faults.isDown { throw FaultInjector.outageError }
        let events = simulator.account.orderEvents()
        let disconnects = simulator.faults.disconnects()
        await connected()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await event in events { await update(event.order.status) }
            }
            group.addTask {
                for await _ in disconnects { return }
            }
            await group.next()
            group.cancelAll()
        }
    }
}

/// The simulator's algo order pushes in process (its `/ws/v5/business` `orders-algo` channel).
public struct SimulatorAlgoFeed: AlgoUpdateFeed {
    let simulator: Simulator

    public func follow(
        connected: @escaping @Sendable () async -> Void,
        update: @escaping @Sendable (AlgoStatus) async -> Void
    ) async throws {
        if simulator.faults.isDown { throw FaultInjector.outageError }
        let events = simulator.account.algoEvents()
        let disconnects = simulator.faults.disconnects()
        await connected()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await algo in events { await update(algo.status) }
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
