import ArgumentParser
import Crypto
import Foundation
import SignalBridgeCore

/// `signalbridge-load`: measures the bridge against bare Hummingbird and a bare fsync, in one run on this machine.
@main
struct LoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signalbridge-load",
        abstract:
            "Starts the simulator and the bridge on 127.0.0.1, drives signed webhooks at them, and reports acks/s, latencies and webhook-to-order times beside the bare Hummingbird endpoint and a bare fsync measured in the same run.",
        discussion: """
            Without --orders the bridge has 100 rules none of which match (the burst case); with --orders three rules \
            order on BTC-USDT, ETH-USDT and SOL-USDT in turn, and the time from each webhook to its order at the \
            simulator is reported. Without --rate, requests go as fast as --concurrency connections allow; with it, at \
            that fixed rate (latency counts from each request's scheduled time). Use a release build.
            """
    )

    @Option(help: "The signalbridge executable (default: the one beside this tool).")
    var signalbridge: String?
    @Option(help: "How many webhooks (and as many bare requests).")
    var requests = 20000
    @Option(help: "Connections.")
    var concurrency = 32
    @Option(help: "Requests per second (default: as fast as possible).")
    var rate: Double?
    @Flag(help: "Rules that order: one order per webhook, over three instruments.")
    var orders = false
    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    func validate() throws {
        guard requests > 0, requests <= 10_000_000 else { throw ValidationError("--requests is 1 to 10,000,000") }
        guard concurrency > 0, concurrency <= 1024 else { throw ValidationError("--concurrency is 1 to 1024") }
        if let rate { guard rate.isFinite, rate > 0, rate <= 1_000_000 else { throw ValidationError("--rate is above 0, at most 1,000,000") } }
    }

    func run() throws {
        let binary =
            signalbridge ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("signalbridge").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw ValidationError("no signalbridge executable at \(binary); build it or pass --signalbridge")
        }
        let run = try LoadRun(binary: binary, orders: orders)
        defer { run.stop() }
        let load = HTTPLoad(port: 0, concurrency: concurrency, rate: rate, keepBodies: orders)

        let bare = try run.measureBare(load, requests: requests)
        let fsync = try FsyncProbe.measure(directory: run.folder, count: 2000)
        let intake = try run.measureIntake(load, requests: requests)
        let report = LoadReport(
            mode: LoadReport.Mode(requests: requests, concurrency: concurrency, rate: rate, orders: orders),
            bare: bare,
            intake: intake.figures,
            fsync: fsync,
            webhookToOrder: intake.toOrder
        )
        print(json ? report.json : report.table)
    }
}
