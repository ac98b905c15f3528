import ArgumentParser
import Foundation
import SignalBridgeCore
import SignalBridgeServer

struct ReconcileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile", abstract: "Resolve every order whose outcome is unknown or open, then exit.")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let logger = Console.bootstrap()
        do {
            let configuration = try options.load()
            let bridge = try await Bridge.assemble(
                configuration: configuration, exchange: Bridge.makeExchange(for: configuration, logger: logger), logger: logger)
            let report = await bridge.reconcileOpenOrders(logger: logger)
            print("reconcile: \(report.checked) open, \(report.resubmitted) resubmitted, \(report.abandoned) abandoned, \(report.unresolved.count) unresolved")
            if !report.unresolved.isEmpty {
                throw Console.fail("could not reach the exchange for: \(report.unresolved.joined(separator: ", "))")
            }
        } catch let failure as CommandFailure {
            throw failure.exit()
        } catch let error as StartupError {
            throw Console.fail("signalbridge cannot reconcile: \(error)")
        }
    }
}
