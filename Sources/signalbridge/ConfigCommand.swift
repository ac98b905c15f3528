import ArgumentParser
import Foundation
import SignalBridgeCore

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check a configuration.",
        subcommands: [Check.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Load the configuration as `serve` would (secrets read and checked, never printed) and its rules; print what it sets up. Exit 1 on any mistake, naming the file and key."
        )

        @OptionGroup var options: ConfigOption

        func run() async throws {
            let configuration: BridgeConfiguration
            do {
                configuration = try options.load()
            } catch let failure as CommandFailure {
                throw failure.exit()
            }
            let rules: RuleSet
            do {
                rules = try RuleSet.load(paths: configuration.rulePaths, knownSources: Set(configuration.sources.map(\.name)))
            } catch {
                for problem in error.errors { print(problem) }
                throw Console.fail("\(error.errors.count) error\(error.errors.count == 1 ? "" : "s") in the rules")
            }
            let exchange = configuration.exchange
            print("configuration OK")
            print(
                "  listen: \(configuration.listen.host):\(configuration.listen.port), admin: \(configuration.admin.host):\(configuration.admin.port)"
            )
            print("  exchange: \(exchange.kind.rawValue)\(exchange.kind == .okx ? " \(exchange.baseURL)\(exchange.demo ? " (demo)" : "")" : "")")
            print("  sources: \(configuration.sources.map(\.name).joined(separator: ", "))")
            print("  rules: \(rules.rules.count) in \(rules.files.count) files (ruleSetHash \(rules.hash))")
            print("  journal: \(configuration.journalDirectory)")
            if !configuration.notifications.isEmpty {
                print("  notifications: \(configuration.notifications.map(\.displayName).joined(separator: ", "))")
            }
            for warning in configuration.replayWarnings { print("warning: replay protection: \(warning)") }
            if let file = configuration.risk.killSwitchFile {
                let folder = URL(fileURLWithPath: file).deletingLastPathComponent().path
                var isFolder: ObjCBool = false
                if !FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) || !isFolder.boolValue {
                    print("warning: risk.killSwitchFile: the folder \(folder) does not exist here, so the kill switch cannot be engaged")
                }
            }
        }
    }
}
