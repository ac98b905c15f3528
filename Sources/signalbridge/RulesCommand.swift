import ArgumentParser
import Foundation
import SignalBridgeCore
import SignalBridgeServer

struct RulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Check and try rule files.",
        subcommands: [Check.self, Test.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate rule files; every error names the file, the JSON Pointer and what is wrong. Exit 1 on any error."
        )

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
            var problems: [DocumentError] = []
            do {
                let rules = try RuleSet.load(paths: paths.isEmpty ? ["rules"] : paths, knownSources: knownSources)
                problems = rules.impossibleSizes(against: [.okxBTCUSDT, .okxETHUSDT])
                if problems.isEmpty {
                    print("rules OK: \(rules.rules.count) rules in \(rules.files.count) files (ruleSetHash \(rules.hash))")
                    return
                }
            } catch {
                problems = error.errors
            }
            for problem in problems { print(problem) }
            throw Console.fail("\(problems.count) error\(problems.count == 1 ? "" : "s") in the rules")
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show which rules match a payload and the exact OKX order bodies, without sending anything."
        )

        @Option(help: "The source the payload comes from.") var source: String
        @Option(help: "A file holding the JSON payload.") var payload: String
        @Option(name: .customLong("rules"), help: "Rule files or folders to use instead of the configuration's.") var rulePaths: [String] = []
        @OptionGroup var options: ConfigOption

        func run() async throws {
            let logger = Console.bootstrap()
            do {
                let configuration = try options.load()
                let rules: RuleSet
                do {
                    // Without --config the embedded default's sources would refuse every example: do not check sources then.
                    rules = try RuleSet.load(
                        paths: rulePaths.isEmpty ? configuration.rulePaths : rulePaths,
                        knownSources: options.config == nil ? nil : Set(configuration.sources.map(\.name))
                    )
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
                    exchange: exchange,
                    market: market,
                    instruments: {
                        rules.literalInstruments.union(configuration.risk.allowedInstruments ?? [])
                    },
                    logger: logger
                )
                await service.refresh(instrumentsToo: true)
                let killSwitch = configuration.risk.killSwitchFile.map { FileManager.default.fileExists(atPath: $0) } ?? false
                let decider = Decider(
                    rules: rules,
                    guards: GlobalGuards(risk: configuration.risk, killSwitchEngaged: killSwitch),
                    builder: OrderBuilder(market: market.snapshot, now: Date(), maxPriceAgeSeconds: configuration.risk.maxPriceAgeSeconds)
                )
                let where_ = configuration.exchange.kind == .sim ? "simulator prices" : "live prices from \(configuration.exchange.baseURL)"
                print("payload \(payload) from source \"\(source)\" (\(where_); nothing is sent)")
                let signalBot = configuration.source(named: source)?.isOKXSignalBot ?? false
                for decision in decider.decide(signalId: "test", source: source, payload: document, ledger: RiskLedger(), signalBot: signalBot) {
                    print("- rule \(decision.ruleId ?? "(none)"): \(decision.outcome.rawValue): \(decision.reason)")
                    if decision.ruleId != nil {
                        let rule = rules.rules.first { $0.id == decision.ruleId }
                        print("  guards: \(Self.guards(rule: rule, risk: configuration.risk, killSwitch: killSwitch))")
                    }
                    for order in decision.orders {
                        let (path, body) = order.algo.map { ("order-algo", $0.json) } ?? ("order", order.request.json)
                        print("  \(decision.outcome == .order ? "would send" : "would not send"): POST /api/v5/trade/\(path) \(body.jsonText)")
                    }
                }
            } catch let failure as CommandFailure {
                throw failure.exit()
            }
        }

        /// The guards that apply to a decision, in the order they are checked (the first that fails blocks it).
        static func guards(rule: Rule?, risk: RiskSettings, killSwitch: Bool) -> String {
            func money(_ value: Decimal?) -> String? { value.map(DecimalText.format) }
            let items: [String?] = [
                "kill switch \(killSwitch ? "ON" : "off")",
                risk.allowedInstruments.map { "allowedInstruments \($0.sorted().joined(separator: ","))" },
                money(rule?.maxOrderNotional).map { "rule maxOrderNotional \($0)" },
                money(risk.maxOrderNotional).map { "maxOrderNotional \($0)" },
                rule?.cooldownSeconds.map { "cooldownSeconds \($0)" },
                rule?.maxOrdersPerDay.map { "maxOrdersPerDay \($0)" },
                money(rule?.maxDailyNotional).map { "rule maxDailyNotional \($0)" },
                money(risk.maxDailyNotional).map { "maxDailyNotional \($0)" },
                (rule?.dryRun ?? false) || risk.dryRun ? "dry run" : nil,
            ]
            return items.compactMap { $0 }.joined(separator: "; ")
        }
    }
}
