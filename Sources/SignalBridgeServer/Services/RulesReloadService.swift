import Logging
import ServiceLifecycle
import SignalBridgeCore
import UnixSignals

/// Reloads the rules on `SIGHUP`. A set with any error is refused and logged; the last good set stays in force.
struct RulesReloadService: Service {
    let rulePaths: [String]
    let knownSources: Set<String>
    let intake: SignalIntake
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            await reload()
        }
    }

    func reload() async {
        do {
            let rules = try RuleSet.load(paths: rulePaths, knownSources: knownSources)
            try await intake.install(rules)
        } catch let error as RuleFileErrors {
            for problem in error.errors {
                logger.error("rules reload refused; the previous rules stay in force", metadata: ["problem": "\(problem)"])
            }
        } catch {
            logger.error("rules reload failed; the previous rules stay in force", metadata: ["error": "\(error)"])
        }
    }
}
