import Crypto
import Foundation
import SignalBridgeCore

/// The processes of one measurement, in a temporary folder: `signalbridge sim`, and `signalbridge serve` with a
/// journal, rules and an HMAC-signed source, trading at the simulator.
final class LoadRun {
    let folder: String
    private let binary: String
    private let orders: Bool
    private var processes: [Process] = []
    /// The simulator's port, once it listens.
    private var simulatorPort = 0
    static let signingKey = "load-signing-key-0123456789"
    static let instruments = ["BTC-USDT", "ETH-USDT", "SOL-USDT"]
    private let environment = [
        "OKX_API_KEY": "load-key", "OKX_SECRET_KEY": "LOAD0123456789ABCDEF", "OKX_PASSPHRASE": "Load-Pass", "LOAD_KEY": signingKey,
    ]

    init(binary: String, orders: Bool) throws {
        self.binary = binary
        self.orders = orders
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("signalbridge-load-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder + "/rules", withIntermediateDirectories: true)
        simulatorPort = try start(["sim", "--port", "0"], log: "sim", announce: "OKX simulator listening on")
    }

    /// The bare Hummingbird endpoint: the simulator's `GET /api/v5/public/time`, under the same load.
    func measureBare(_ load: HTTPLoad, requests count: Int) throws -> LoadReport.Figures {
        let request = Array("GET /api/v5/public/time HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        let target = HTTPLoad(port: simulatorPort, concurrency: load.concurrency, rate: load.rate, keepBodies: false)
        let (samples, seconds) = try target.run(Array(repeating: request, count: count))
        return LoadReport.Figures(samples.compactMap { $0 }, seconds: seconds)
    }

    /// The bridge: `count` unique signed webhooks; with orders, the time from each to its order at the simulator.
    func measureIntake(_ load: HTTPLoad, requests count: Int) throws -> (figures: LoadReport.Figures, toOrder: Latencies?) {
        try writeConfiguration()
        let port = try start(["serve", "--config", folder + "/config.json"], log: "bridge", announce: "signalbridge listening on", cwd: folder)
        let run = UUID().uuidString.prefix(8)
        let requests = (0..<count).map { index in
            let ticker = Self.instruments[index % Self.instruments.count]
            let body = Array(#"{"id":"\#(run)-\#(index)","action":"buy","ticker":"\#(ticker)","price":"61234.5"}"#.utf8)
            let signature = Hex.encode(HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(Self.signingKey.utf8))))
            let head =
                "POST /webhooks/load HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Signature: \(signature)\r\nContent-Length: \(body.count)\r\n\r\n"
            return Array(head.utf8) + body
        }
        let target = HTTPLoad(port: port, concurrency: load.concurrency, rate: load.rate, keepBodies: load.keepBodies)
        let (samples, seconds) = try target.run(requests)
        let figures = LoadReport.Figures(samples.compactMap { $0 }, seconds: seconds)
        guard orders else { return (figures, nil) }
        return (figures, try ordersReached(samples.compactMap { $0 }))
    }

    /// Waits until every acknowledged order is at the simulator, and returns the time from each webhook to it.
    private func ordersReached(_ samples: [HTTPLoad.Sample]) throws -> Latencies {
        var sent: [String: Double] = [:]
        for sample in samples where sample.status == 202 {
            let decisions = (try? JSONParser.parse(sample.body))?.objectValue?["decisions"]?.arrayValue ?? []
            for case let clOrdId? in decisions.map({ $0.objectValue?["clOrdId"]?.stringValue }) { sent[clOrdId] = sample.sentAt }
        }
        let deadline = Date().addingTimeInterval(60)
        while true {
            let placed = try simulatorOrders()
            let reached = sent.compactMap { clOrdId, sentAt in placed[clOrdId].map { max(0, $0 - sentAt) } }
            if reached.count == sent.count || Date() > deadline {
                guard reached.count == sent.count else {
                    throw LoadError("\(sent.count - reached.count) of \(sent.count) acknowledged orders never reached the simulator")
                }
                return Latencies(nanoseconds: reached.map { UInt64($0 * 1e9) })
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
    }

    /// When each order reached the simulator (Unix seconds), by `clOrdId`.
    private func simulatorOrders() throws -> [String: Double] {
        let connection = try HTTPLoad.Connection(port: simulatorPort)
        let answer = try connection.exchange(Array("GET /sim/orders HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8))
        guard answer.status == 200, let orders = (try? JSONParser.parse(answer.body))?.objectValue?["data"]?.arrayValue else {
            throw LoadError("the simulator did not list its orders (HTTP \(answer.status))")
        }
        var times: [String: Double] = [:]
        for order in orders {
            guard let object = order.objectValue, let clOrdId = object["clOrdId"]?.stringValue,
                let micros = object["createdAtMicros"]?.wholeNumber(in: 0...Int.max)
            else { continue }
            times[clOrdId] = Double(micros) / 1e6
        }
        return times
    }

    private func writeConfiguration() throws {
        let rules: [JSONValue]
        if orders {
            rules = Self.instruments.map { instId in
                [
                    "id": .string("order-\(instId)"), "source": "load", "when": ["pointer": "/ticker", "eq": .string(instId)],
                    "orders": [["instId": .string(instId), "side": "buy", "ordType": "market", "size": ["quote": "10"]]],
                ]
            }
        } else {
            rules = (0..<100).map { index in
                [
                    "id": .string("r\(index)"), "source": "load", "when": ["pointer": "/action", "eq": .string("never-\(index)")],
                    "orders": [["instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": ["quote": "10"]]],
                ]
            }
        }
        try Data(JSONValue.object(JSONObject([("rules", .array(rules))])).jsonBytes).write(to: URL(fileURLWithPath: folder + "/rules/load.json"))
        let configuration: JSONValue = [
            "listen": ["host": "127.0.0.1", "port": 0], "admin": ["host": "127.0.0.1", "port": 0],
            "exchange": [
                "kind": "okx", "baseURL": .string("http://127.0.0.1:\(simulatorPort)"), "demo": true,
                "credentials": ["apiKeyEnv": "OKX_API_KEY", "secretKeyEnv": "OKX_SECRET_KEY", "passphraseEnv": "OKX_PASSPHRASE"],
            ],
            "journal": ["directory": "journal"], "rules": ["rules"],
            "sources": [["name": "load", "auth": ["scheme": "hmac-sha256", "header": "X-Signature", "secretEnv": "LOAD_KEY"], "idPointer": "/id"]],
            "risk": ["allowedInstruments": .array(Self.instruments.map { .string($0) }), "maxDailyNotional": "100000000"],
        ]
        try Data(configuration.jsonBytes).write(to: URL(fileURLWithPath: folder + "/config.json"))
    }

    /// Starts `signalbridge ARGS` with its output in `log`.out and its log in `log`.log, and returns the port on the
    /// line that contains `announce`.
    private func start(_ arguments: [String], log: String, announce: String, cwd: String? = nil) throws -> Int {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let out = folder + "/\(log).out"
        guard FileManager.default.createFile(atPath: out, contents: nil),
            FileManager.default.createFile(atPath: folder + "/\(log).log", contents: nil)
        else { throw LoadError("cannot write in \(folder)") }
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: folder + "/\(log).log")
        try process.run()
        processes.append(process)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, process.isRunning {
            let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.contains(announce) }),
                let range = line.range(of: #"127\.0\.0\.1:(\d+)"#, options: .regularExpression),
                let port = Int(line[range].dropFirst("127.0.0.1:".count))
            {
                return port
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        let logged = (try? String(contentsOfFile: folder + "/\(log).log", encoding: .utf8)) ?? ""
        throw LoadError("signalbridge \(arguments.joined(separator: " ")) did not start:\n\(logged.suffix(2000))")
    }

    /// Stops every process, the last started first (the bridge holds connections to the simulator, which waits for
    /// them when it stops), each given 10 s before it is killed, and removes the folder.
    func stop() {
        for process in processes.reversed() where process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: folder)
    }
}
