import ArgumentParser
import Foundation
import Hummingbird
import Logging
import SignalBridgeCore
import SignalBridgeServer

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the bridge (without --config: loopback only, the simulator in process, rules/, var/)."
    )

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let (configuration, logger) = try options.loadAndLog()
        let bridge = try await options.assembleBridge(configuration: configuration, logger: logger)
        let embedded = options.config == nil
        logger.info(
            "journal ready",
            metadata: ["directory": "\(configuration.journalDirectory)", "openOrders": "\(bridge.openOrders.count)"]
        )
        let app = buildApplication(bridge: bridge, logger: logger) { listener, host, port in
            Self.announce(listener: listener, host: host, port: port, embedded: embedded, configuration: configuration)
        }
        try await app.runService()
        // Every record was fsynced before it was acknowledged; closing makes sure and lets go of the lock.
        await bridge.journal.close()
        logger.notice("signalbridge stopped")
    }

    static func announce(listener: String, host: String, port: Int, embedded: Bool, configuration: BridgeConfiguration) {
        let base = "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
        guard listener == "webhooks" else {
            Console.say("signalbridge admin on \(base) (/healthz, /readyz, /metrics)")
            return
        }
        Console.say("signalbridge listening on \(base)/webhooks/{source}")
        Console.say("sources: \(configuration.sources.map(\.name).joined(separator: ", "))")
        Console.say("journal: \(configuration.journalDirectory)")
        if embedded {
            let id = "demo-\(Int(Date().timeIntervalSince1970))"
            Console.say("exchange: built-in OKX simulator (paper trading, in process)")
            Console.say("send a first signal (it buys 50 USDT of BTC on the simulator):")
            Console.say(
                "  curl -sS -X POST \(base)/webhooks/demo -H 'Content-Type: application/json' -d '{\"id\":\"\(id)\",\"action\":\"buy\",\"instrument\":\"BTC-USDT\"}'"
            )
            Console.say("then read the journal: signalbridge journal verify && tail -n 6 \(configuration.journalDirectory)/journal-000001.jsonl")
        }
    }
}
