import ArgumentParser
import OKXClient
import SignalBridgeCore
import SignalBridgeServer

struct OKXCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "okx", abstract: "Check the OKX account.", subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check credentials, permissions and clock skew against the configured exchange.",
            discussion: "Sends no order. Exit 1 when something would stop the bridge from trading."
        )

        @OptionGroup var options: ConfigOption

        func run() async throws {
            let (configuration, logger) = try options.loadAndLog()
            guard let client = Bridge.okxClient(for: configuration, logger: logger) else {
                print("ok       exchange: the built-in OKX simulator (paper trading); there is no OKX account to check")
                return
            }
            let check = OKXAccountCheck(client: client, instruments: (configuration.risk.allowedInstruments ?? []).sorted())
            let findings = await check.run()
            for finding in findings { print(finding) }
            if findings.contains(where: { $0.level == .failure }) { throw ExitCode(1) }
        }
    }
}
