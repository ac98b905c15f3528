import ArgumentParser
import Foundation
import SignalBridgeCore
import SignalBridgeServer

struct ReconcileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Resolve every order whose outcome is unknown or open, then exit."
    )

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let (configuration, logger) = try options.loadAndLog()
        // A command that must end: an exchange that does not answer five lookups leaves the order for later.
        let bridge = try await options.assembleBridge(configuration: configuration, logger: logger, lookupAttempts: 5)
        // The notices of what the reconciliation journals (fills, refusals) are sent before the command exits.
        let notices = Task { await bridge.notifier.run() }
        let report = await bridge.reconcileOpenOrders(logger: logger)
        bridge.notifier.stop()
        await notices.value
        print(
            "reconcile: \(report.checked) open, \(report.resubmitted) resubmitted, \(report.abandoned) abandoned, \(report.unresolved.count) unresolved"
        )
        if !report.unresolved.isEmpty {
            throw Console.fail("could not reach the exchange for: \(report.unresolved.joined(separator: ", "))")
        }
    }
}
