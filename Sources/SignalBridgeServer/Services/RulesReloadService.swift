import Foundation
import Logging
import ServiceLifecycle
import SignalBridgeCore
import UnixSignals

/// Reloads the rules on `SIGHUP`, and when a rule file changes (checked every few seconds). A set with any error
/// is refused and logged; the last good set stays in force. Every load is journaled (`rules.loaded`).
struct RulesReloadService: BridgeService {
    let rulePaths: [String]
    let knownSources: Set<String>
    let intake: SignalIntake
    let logger: Logger
    let metrics: BridgeMetrics
    let notifier: Notifier
    var pollInterval: Duration = .seconds(3)

    func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                let signals = await UnixSignalsSequence(trapping: .sighup)
                for await _ in signals.cancelOnGracefulShutdown() {
                    await reload(force: true)
                }
            }
            group.addTask {
                await cancelWhenGracefulShutdown {
                    var fingerprint = Self.fingerprint(of: rulePaths)
                    while (try? await Task.sleep(for: pollInterval)) != nil {
                        let current = Self.fingerprint(of: rulePaths)
                        if current != fingerprint {
                            fingerprint = current
                            await reload(force: false)
                        }
                    }
                }
            }
        }
    }

    /// Loads the rules and puts them in force; `force` journals even an unchanged set (an operator asked).
    func reload(force: Bool) async {
        do {
            let rules = try RuleSet.load(paths: rulePaths, knownSources: knownSources)
            let current = intake.ruleSet.hash
            guard force || rules.hash != current else { return }
            try await intake.install(rules)
            metrics.ruleReload("loaded")
        } catch let error as RuleFileErrors {
            metrics.ruleReload("refused")
            notifier.notify(.rulesRefused(error.errors.map(\.description), at: Date()))
            for problem in error.errors {
                logger.error("rules reload refused; the previous rules stay in force", metadata: ["problem": "\(problem)"])
            }
        } catch {
            metrics.ruleReload("refused")
            notifier.notify(.rulesRefused(["the journal could not record the new rules: \(error)"], at: Date()))
            logger.error("rules reload failed; the previous rules stay in force", metadata: ["error": "\(error)"])
        }
    }

    /// Names, sizes and modification times of the rule files: cheap to compare every few seconds.
    static func fingerprint(of paths: [String]) -> [String] {
        paths.flatMap { path -> [String] in
            let manager = FileManager.default
            let children = (try? manager.contentsOfDirectory(atPath: path))?.sorted().map { path + "/" + $0 } ?? [path]
            return children.map { file in
                let attributes = try? manager.attributesOfItem(atPath: file)
                return "\(file) \(attributes?[.size] ?? "") \(attributes?[.modificationDate] ?? "")"
            }
        }
    }
}
