import ArgumentParser
import Foundation
import SignalBridgeCore
import SignalBridgeServer

struct RulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules", abstract: "Check and try rule files.", subcommands: [Check.self, Test.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate rule files; every error names the file, the JSON Pointer and what is wrong. Exit 1 on any error.")

        @Argument(help: "Rule files or folders (default: rules).") var paths: [String] = []
        @Option(help: "A configuration whose sources the rules must name.") var config: String?

        func run() async throws {
            var knownSources: Set<String>?
            if let config {
                do {
                    knownSources = try BridgeConfiguration.sourceNames(configPath: config)
                } catch {
                    throw Console.fail("configuration error: \(error)")
                }
            }
            do {
                let rules = try RuleSet.load(paths: paths.isEmpty ? ["rules"] : paths, knownSources: knownSources)
                print("rules OK: \(rules.rules.count) rules in \(rules.files.count) files (ruleSetHash \(rules.hash))")
            } catch {
                for problem in error.errors { print(problem) }
                throw Console.fail("\(error.errors.count) error\(error.errors.count == 1 ? "" : "s") in the rules")
            }
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show which rules match a payload and the exact OKX order bodies, without sending anything.")

        @Option(help: "The source the payload comes from.") var source: String
        @Option(help: "A file holding the JSON payload.") var payload: String
        @OptionGroup var options: ConfigOption

        func run() async throws {
            let logger = Console.bootstrap()
            do {
                let configuration = try options.load()
                let rules: RuleSet
                do {
                    rules = try RuleSet.load(paths: configuration.rulePaths, knownSources: Set(configuration.sources.map(\.name)))
                } catch {
                    error.errors.forEach { print($0) }
                    throw CommandFailure("the rules have errors")
                }
                guard let data = FileManager.default.contents(atPath: payload) else { throw CommandFailure("\(payload): cannot read the file") }
                let document: JSONValue
                do { document = try JSONParser.parse(Array(data)) } catch { throw CommandFailure("\(payload): \(error)") }
                let exchange = Bridge.makeExchange(for: configuration, logger: logger)
                let market = MarketData()
                let service = MarketDataService(
                    exchange: exchange, market: market,
                    instruments: { Set(rules.rules.flatMap(\.orders).compactMap(\.instId.literal)).union(configuration.risk.allowedInstruments ?? []) },
                    logger: logger)
                await service.refresh(instrumentsToo: true)
                let killSwitch = configuration.risk.killSwitchFile.map { FileManager.default.fileExists(atPath: $0) } ?? false
                let decider = Decider(
                    rules: rules, guards: GlobalGuards(risk: configuration.risk, killSwitchEngaged: killSwitch),
                    builder: OrderBuilder(market: market.snapshot, now: Date(), maxPriceAgeSeconds: configuration.risk.maxPriceAgeSeconds))
                let where_ = configuration.exchange.kind == .sim ? "simulator prices" : "live prices from \(configuration.exchange.baseURL)"
                print("payload \(payload) from source \"\(source)\" (\(where_); nothing is sent)")
                for decision in decider.decide(signalId: "test", source: source, payload: document, ledger: RiskLedger()) {
                    print("- rule \(decision.ruleId ?? "(none)"): \(decision.outcome.rawValue): \(decision.reason)")
                    for order in decision.orders {
                        print("  POST /api/v5/trade/order \(order.request.json.jsonText)")
                    }
                }
            } catch let failure as CommandFailure {
                throw failure.exit()
            }
        }
    }
}
