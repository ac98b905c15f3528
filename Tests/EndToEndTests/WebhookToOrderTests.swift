import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import SignalBridgeCore
import Testing

/// Starts the simulator and the bridge as real processes on ephemeral loopback ports, sends a signed webhook,
/// and checks that exactly one order reached the exchange and that the journal verifies.
@Suite(.timeLimit(.minutes(2)))
struct WebhookToOrderTests {
    static let okx = ["OKX_API_KEY": "e2e-key", "OKX_SECRET_KEY": "e2e-secret-0123456789", "OKX_PASSPHRASE": "e2e-Pass"]
    static let signingKey = "e2e-alchemy-signing-key"

    func post(_ url: String, body: String, headers: [(String, String)] = []) async throws -> (status: UInt, headers: [(String, String)], body: String)
    {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (response.status.code, response.headers.map { ($0.name, $0.value) }, String(buffer: bytes))
    }

    func simulatorOrders(port: Int) async throws -> [JSONValue] {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/sim/orders"), timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 1 << 20)
        return try JSONParser.parse(Array(body.readableBytesView)).objectValue?["data"]?.arrayValue ?? []
    }

    /// Reads the journal until a record of `type` for `clOrdId` is there (the executor runs after the 202).
    func awaitRecord(_ type: String, clOrdId: String, in directory: String) async throws -> JournalRecord {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if let contents = try? JournalReader.read(directory: directory, allowTornTail: true),
                let record = contents.records.first(where: { $0.type == type && $0["clOrdId"] == .string(clOrdId) })
            {
                return record
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw CancellationError()
    }

    @Test func auditingAFolderWithoutAJournalFails() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try #"{"journal": {"directory": "no-journal-here"}}"#.write(
            to: folder.appendingPathComponent("bridge.json"),
            atomically: true,
            encoding: .utf8
        )
        for command in ["query", "report"] {
            let (status, output) = try await ChildProcess.run(["journal", command, "--config", "bridge.json"], directory: folder)
            #expect(status == 1 && output.isEmpty, "journal \(command) must not print an empty history for a journal that is not there")
        }
    }

    @Test func aSignedWebhookBecomesExactlyOneOrder() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-\(UUID())")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("rules"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }

        let simulator = try ChildProcess(["sim", "--port", "0"], environment: Self.okx, directory: folder)
        defer { simulator.stop() }
        let simPort = try #require(await simulator.port(announcedBy: "OKX simulator listening on"))

        try #"""
        {"rules": [{"id": "whale-sell", "source": "alchemy", "when": {"all": [
            {"pointer": "/event/asset", "eq": "BTC"}, {"pointer": "/event/amount", "gte": "1000"}]},
          "orders": [{"instId": "${/event/asset}-USDT", "side": "sell", "ordType": "market", "size": {"base": "0.0123456789"}}]}]}
        """#.write(to: folder.appendingPathComponent("rules/whale.json"), atomically: true, encoding: .utf8)
        try #"""
        {"listen": {"host": "127.0.0.1", "port": 0}, "admin": {"host": "127.0.0.1", "port": 0},
         "exchange": {"kind": "okx", "baseURL": "http://127.0.0.1:\#(simPort)", "demo": true,
           "credentials": {"apiKeyEnv": "OKX_API_KEY", "secretKeyEnv": "OKX_SECRET_KEY", "passphraseEnv": "OKX_PASSPHRASE"}},
         "journal": {"directory": "journal"}, "rules": ["rules"],
         "sources": [{"name": "alchemy", "auth": {"scheme": "hmac-sha256", "header": "X-Alchemy-Signature", "encoding": "hex", "secretEnv": "ALCHEMY_KEY"}, "idPointer": "/id"}],
         "risk": {"allowedInstruments": ["BTC-USDT"], "maxOrderNotional": "5000"}}
        """#.write(to: folder.appendingPathComponent("bridge.json"), atomically: true, encoding: .utf8)
        let environment = Self.okx.merging(["ALCHEMY_KEY": Self.signingKey]) { $1 }

        let bridge = try ChildProcess(["serve", "--config", "bridge.json"], environment: environment, directory: folder)
        defer { bridge.stop() }
        let port = try #require(await bridge.port(announcedBy: "signalbridge listening on"))

        let body = #"{"id":"whale-0001","event":{"asset":"BTC","amount":"2500.5"}}"#
        let signature = Hex.encode(HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: SymmetricKey(data: Array(Self.signingKey.utf8))))
        let headers = [("Content-Type", "application/json"), ("X-Alchemy-Signature", signature)]
        let url = "http://127.0.0.1:\(port)/webhooks/alchemy"

        let accepted = try await post(url, body: body, headers: headers)
        #expect(accepted.status == 202)
        let clOrdId = ClOrdId.make(source: "alchemy", signalId: "whale-0001", ruleId: "whale-sell", orderIndex: 0)
        #expect(accepted.body.contains(#""clOrdId":"\#(clOrdId)""#))

        let journal = folder.appendingPathComponent("journal").path
        let ack = try await awaitRecord("order.ack", clOrdId: clOrdId, in: journal)
        let fill = try await awaitRecord("order.update", clOrdId: clOrdId, in: journal)
        #expect(fill["state"] == .string("filled"))
        #expect(fill["ordId"] == ack["ordId"])

        let resent = try await post(url, body: body, headers: headers)
        #expect(resent.status == 200)
        #expect(resent.headers.contains { $0.0.lowercased() == "signalbridge-duplicate" && $0.1 == "true" })
        #expect(resent.body == accepted.body)
        let forged = try await post(url, body: body.replacingOccurrences(of: "2500.5", with: "9999"), headers: headers)
        #expect(forged.status == 401)

        let orders = try await simulatorOrders(port: simPort)
        #expect(orders.count == 1)
        let order = try #require(orders.first?.objectValue)
        #expect(order["clOrdId"] == .string(clOrdId))
        #expect(order["instId"] == .string("BTC-USDT"))
        #expect(order["side"] == .string("sell"))
        #expect(order["ordType"] == .string("market"))
        #expect(order["sz"] == .string("0.01234567"))
        #expect(order["tgtCcy"] == .string("base_ccy"))
        #expect(order["tdMode"] == .string("cash"))
        #expect(order["ordId"] == ack["ordId"])

        bridge.stop()
        let log = try String(contentsOf: bridge.logFile, encoding: .utf8)
        for secret in Self.okx.values + [Self.signingKey] { #expect(!log.contains(secret)) }

        let (status, summary) = try await ChildProcess.run(["journal", "verify", "--config", "bridge.json"], directory: folder)
        #expect(status == 0)
        // rules.loaded, signal, decision, order.intent, order.ack, order.update, and the forged one's rejected.
        #expect(summary.hasPrefix("journal OK: 7 records in 1 segment"), "\(summary)")

        let (queryStatus, query) = try await ChildProcess.run(
            ["journal", "query", "--config", "bridge.json", "--signal", "whale-0001", "--format", "json"],
            directory: folder
        )
        #expect(queryStatus == 0)
        let lines = try JournalReader.read(directory: journal, allowTornTail: false).records.map(\.line)
        let queried = query.split(separator: "\n").map(String.init)
        #expect(queried.count == 5 && queried.allSatisfy(lines.contains), "the signal, its decision and its order's intent, ack and fill, unchanged")

        let (reportStatus, report) = try await ChildProcess.run(
            ["journal", "report", "--config", "bridge.json", "--format", "json"],
            directory: folder
        )
        #expect(reportStatus == 0)
        let row = try #require(try JSONParser.parse(report).objectValue)
        #expect(row["source"] == "alchemy" && row["rules"] == ["whale-sell"])
        let reported = try #require(row["orders"]?.arrayValue?.first?.objectValue)
        #expect(reported["state"] == "filled" && reported["accFillSz"] == "0.01234567" && reported["avgPx"] == fill["avgPx"])

        let (checkStatus, check) = try await ChildProcess.run(
            ["okx", "check", "--config", "bridge.json"],
            environment: environment,
            directory: folder
        )
        #expect(checkStatus == 0, "\(check)")
        #expect(check.contains("credentials accepted") && check.contains("BTC-USDT live"))
        let wrongKey = environment.merging(["OKX_SECRET_KEY": "not-the-secret"]) { $1 }
        let (refusedStatus, refused) = try await ChildProcess.run(
            ["okx", "check", "--config", "bridge.json"],
            environment: wrongKey,
            directory: folder
        )
        #expect(refusedStatus == 1)
        #expect(refused.contains("FAILED   OKX refused the credentials") && !refused.contains("not-the-secret"))
    }
}
