import Logging
import ServiceLifecycle
import SignalBridgeCore

/// The order executor as a service of the bridge's group. It is shut down right after the webhook listener (which
/// stops accepting and answers the requests it has): orders being sent then finish, for at most ``grace``, and what is
/// still queued stays journaled, to be sent after the next start (``OrderExecutor/shutdown(grace:)``).
struct OrderExecutionService: BridgeService {
    let executor: OrderExecutor
    let logger: Logger
    var grace: Duration = .seconds(10)

    func run() async {
        // Returns when graceful shutdown begins, or at once when the group is cancelled.
        try? await gracefulShutdown()
        let queued = executor.queuedOrders
        logger.notice(
            "shutting down: finishing the orders being sent",
            metadata: ["queued": "\(queued)", "graceSeconds": "\(grace.components.seconds)"]
        )
        await executor.shutdown(grace: grace)
        if queued > 0 {
            logger.notice("orders left queued are journaled and are sent after the next start", metadata: ["orders": "\(queued)"])
        }
    }
}
