import ArgumentParser
import Foundation
import Logging
import SignalBridgeCore
import SignalBridgeServer

@main
struct SignalBridgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signalbridge",
        abstract: "Turns webhook signals into OKX spot orders, journaling every decision.",
        subcommands: [
            ServeCommand.self, RulesCommand.self, JournalCommand.self, ReconcileCommand.self, SimCommand.self, OKXCommand.self, ConfigCommand.self,
        ]
    )
}

/// The `--config FILE` option shared by the commands that read a configuration.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The configuration file (SPEC section 3). Without it, the embedded default.")
    var config: String?

    /// The configuration, or the embedded default; exits with the file and key named on a mistake.
    func load() throws -> BridgeConfiguration {
        guard let config else {
            return BridgeConfiguration.embeddedDefault(workingDirectory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        }
        do {
            return try BridgeConfiguration.load(path: config, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw CommandFailure("configuration error: \(error)")
        }
    }
}

extension ConfigOption {
    /// The configuration (exits 1 naming the file and key on a mistake), and logging set up as it says
    /// (`logging.format`).
    func loadAndLog() throws -> (BridgeConfiguration, Logger) {
        do {
            let configuration = try load()
            return (configuration, Console.bootstrap(format: configuration.logFormat))
        } catch let failure as CommandFailure {
            throw failure.exit()
        }
    }

    /// The bridge of `configuration`: rules loaded, journal opened and replayed. Exits 1 saying why it cannot.
    /// - Parameter lookupAttempts: how many lookups of an unknown outcome before giving up; nil: until the
    ///   exchange answers.
    func assembleBridge(configuration: BridgeConfiguration, logger: Logger, lookupAttempts: Int? = nil) async throws -> Bridge {
        let metrics = PrometheusMetrics()
        do {
            return try await Bridge.assemble(
                configuration: configuration,
                exchange: Bridge.makeExchange(for: configuration, logger: logger, metrics: metrics.metrics),
                logger: logger,
                lookupAttempts: lookupAttempts,
                metrics: metrics
            )
        } catch {
            throw Console.fail("signalbridge cannot start: \(error)")
        }
    }
}

/// A command failed for a reason already worded for the user: printed to stderr, exit 1.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Logging to stderr, at `LOG_LEVEL` (default info), as text or JSON lines; standard output stays for what the user
/// asked for.
enum Console {
    static func bootstrap(format: BridgeConfiguration.LogFormat = .text) -> Logger {
        let level = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler =
                switch format {
                case .text: StreamLogHandler.standardError(label: label)
                case .json: JSONLogHandler(label: label)
                }
            handler.logLevel = level
            return handler
        }
        return Logger(label: "signalbridge")
    }

    /// Prints a line to standard output at once (unbuffered, so a supervising process sees it immediately).
    static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Prints a listing to standard output; nothing at all when it is empty (no JSON line found).
    static func printListing(_ text: String) {
        if !text.isEmpty { print(text) }
    }

    static func fail(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        return ExitCode(1)
    }
}

extension CommandFailure {
    /// Prints the failure and exits 1.
    func exit() -> ExitCode { Console.fail(description) }
}
