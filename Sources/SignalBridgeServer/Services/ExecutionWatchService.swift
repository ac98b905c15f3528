import Foundation
import Logging
import ServiceLifecycle
import SignalBridgeCore

/// Watches what execution depends on while the bridge runs: the kill switch, every half second (while it is engaged,
/// the bridge's resting orders are canceled when `risk.killSwitchCancelsOpenOrders` is set; the executor itself
/// refuses to send anything while it is engaged), and the exchange's clock, every minute.
struct ExecutionWatchService: BridgeService {
    let executor: OrderExecutor
    let cancelsOpenOrders: Bool
    let notifier: Notifier
    let logger: Logger
    var killSwitchInterval: Duration = .milliseconds(500)
    var clockInterval: TimeInterval = 60

    func run() async {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                // Apart from the kill switch, so that a slow exchange never delays noticing it.
                group.addTask {
                    while (try? await Task.sleep(for: .seconds(clockInterval))) != nil { await executor.measureClockOffset() }
                }
                group.addTask { await watchKillSwitch() }
                await group.waitForAll()
            }
        }
    }

    /// Polls the kill switch; while it is engaged, ends queued orders and cancels resting ones on every poll.
    func watchKillSwitch() async {
        // Starting as released, so that a switch already engaged at start also cancels resting orders.
        var engaged = false
        while !Task.isCancelled {
            do { try await Task.sleep(for: killSwitchInterval) } catch { return }
            let now = executor.killSwitch.isEngaged
            if now != engaged {
                engaged = now
                if now {
                    logger.critical("kill switch engaged: nothing is sent; queued orders are abandoned, lookups go on")
                } else {
                    logger.notice("kill switch released: new decisions may order again")
                }
                notifier.notify(.killSwitch(engaged: now, file: executor.killSwitch.file ?? "", at: Date()))
            }
            // On every poll while engaged: an order may be queued behind a busy lane, or come to rest after the
            // switch was engaged (a lookup finds it, an answer arrives late).
            if engaged {
                if cancelsOpenOrders { await executor.cancelRestingOrders() }
                await executor.abandonQueuedOrders()
            }
        }
    }
}
