import ArgumentParser
import Foundation
import Hummingbird
import OKXSimulator
import SignalBridgeCore

struct SimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Run the OKX simulator on its own (paper trading, tests).",
        discussion:
            "It accepts the credentials in OKX_API_KEY, OKX_SECRET_KEY and OKX_PASSPHRASE when set, otherwise it generates a set and prints it."
    )

    @Option(help: "Port to listen on (0 picks a free one).") var port: Int = 8081
    @Option(help: "Address to listen on.") var host: String = "127.0.0.1"

    func run() async throws {
        let logger = Console.bootstrap()
        let (credentials, generated) = SimulatorCredentials.fromEnvironment(ProcessInfo.processInfo.environment)
        let host = self.host
        let app = Simulator(credentials: credentials).application(host: host, port: port, logger: logger) { port in
            if generated {
                Console.say("OKX_API_KEY=\(credentials.apiKey)")
                Console.say("OKX_SECRET_KEY=\(credentials.secretKey.text)")
                Console.say("OKX_PASSPHRASE=\(credentials.passphrase.text)")
            } else {
                Console.say("credentials: from OKX_API_KEY, OKX_SECRET_KEY and OKX_PASSPHRASE")
            }
            Console.say(
                "OKX simulator listening on http://\(host):\(port) (REST under /api/v5/, private WebSocket at /ws/v5/private, controls under /sim/)"
            )
        }
        try await app.runService()
    }
}
