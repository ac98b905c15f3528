import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SignalBridgeFuzzing
import Testing

@testable import OKXSimulator
@testable import SignalBridgeCore
@testable import SignalBridgeServer

/// Random bodies, headers and paths at the webhook listener: no crash, no 5xx (the journal is healthy, so not even 503), a bounded journal,
/// and a valid signal still trades afterwards. `SIGNALBRIDGE_FUZZ_ITERATIONS=100000 swift test --filter Fuzz`
/// runs longer (default 3000).
@Suite struct WebhookFuzzTests {
    static var iterations: Int {
        ProcessInfo.processInfo.environment["SIGNALBRIDGE_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 3000
    }

    struct Input: CustomStringConvertible {
        var path: String
        var headers: HTTPFields
        var body: [UInt8]
        var description: String { "\(path) \(headers) \(String(decoding: body.prefix(200), as: UTF8.self))" }
    }

    static func randomInput<R: RandomNumberGenerator>(_ rng: inout R) -> Input {
        let fragments = [
            "{", "}", "[", "]", "\"", ":", ",", "id", "event", "amount", "\\u0000", "\\ud800", "1e999", "-0", "null", "true",
            "\u{FEFF}", "é", "😀", "\u{0}", "2500", "\"2500\"", " ", "\n", "{\"id\":", "{\"event\":{\"amount\":",
        ]
        var body: [UInt8] = []
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: body = (0..<Int.random(in: 0..<300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        case 1: body = Array((0..<Int.random(in: 0..<60, using: &rng)).map { _ in fragments.randomElement(using: &rng)! }.joined().utf8)
        case 2: body = Array(String(repeating: "[", count: Int.random(in: 1...5000, using: &rng)).utf8)
        default:
            body = Array(
                #"{"id":"f\#(UInt32.random(in: 0...UInt32.max, using: &rng))","event":{"amount":"\#(Int.random(in: -10...10000, using: &rng))"}}"#
                    .utf8
            )
        }
        let sources = ["alchemy", "nope", "", "%2e%2e", "alchemy/extra", String(repeating: "a", count: 300), "al%00chemy", "ALCHEMY"]
        let path = "/webhooks/" + sources.randomElement(using: &rng)!
        var headers = HTTPFields()
        for _ in 0..<Int.random(in: 0..<6, using: &rng) {
            let names = ["X-Alchemy-Signature", "Content-Type", "X-Forwarded-For", "webhook-id", "Content-Length", "X-Random"]
            let values = ["", "sha256=zz", String(repeating: "f", count: 64), "application/json", "1.2.3.4, ::1", "0", "-1", "99999999999"]
            if let name = HTTPField.Name(names.randomElement(using: &rng)!) {
                headers.append(HTTPField(name: name, value: values.randomElement(using: &rng)!))
            }
        }
        return Input(path: path, headers: headers, body: body)
    }

    @Test func hostileInputNeverCrashesOrFailsWith5xx() async throws {
        let test = try await TestBridge.make()
        defer { try? FileManager.default.removeItem(atPath: test.directory) }
        let app = buildApplication(bridge: test.bridge, logger: Logger(label: "fuzz"))
        try await app.test(.router) { client in
            var rng = SystemRandomNumberGenerator()
            var statuses: [Int: Int] = [:]
            for _ in 0..<Self.iterations {
                let input = Self.randomInput(&rng)
                let response = try await client.execute(uri: input.path, method: .post, headers: input.headers, body: ByteBuffer(bytes: input.body))
                statuses[response.status.code, default: 0] += 1
                #expect(response.status.code < 500, "\(response.status) for \(input)")
                if response.status.code >= 400, response.status != .notFound || input.path.hasPrefix("/webhooks/") {
                    // Errors from our handler are JSON with a code; the router's own 404 for other paths has no body.
                    if response.body.readableBytes > 0 {
                        #expect((try? JSONParser.parse(Array(response.body.readableBytesView)))?.objectValue?["error"] != nil, "\(input)")
                    }
                }
            }
            #expect(statuses[202, default: 0] + statuses[401, default: 0] + statuses[404, default: 0] > 0)

            let body = #"{"id":"after-fuzz","event":{"amount":"5000"}}"#
            let valid = try await client.execute(
                uri: "/webhooks/alchemy",
                method: .post,
                headers: TestBridge.headers(signing: body),
                body: ByteBuffer(string: body)
            )
            #expect(valid.status == .accepted)
        }
        await test.bridge.executor.waitUntilIdle()
        #expect(
            test.account.allOrders().contains {
                $0.clOrdId == ClOrdId.make(source: "alchemy", signalId: "after-fuzz", ruleId: "whale", orderIndex: 0)
            }
        )
        let records = try JournalReader.read(directory: test.directory + "/journal", allowTornTail: false).records
        // Refusals are sampled (60 a minute), so a flood cannot grow the journal without bound.
        #expect(records.filter { $0.type == "rejected" }.count <= 120)
    }

    /// A bridge with the fuzz harness's sources (every scheme and preset) and rules, journaling to `directory`.
    static func everySchemeBridge(directory: String) async throws -> Bridge {
        try FileManager.default.createDirectory(atPath: directory + "/rules", withIntermediateDirectories: true)
        let harness = WebhookFuzzHarness()
        try WebhookFuzzHarness.rulesDocument(sources: harness.configuration.sources.map(\.name))
            .write(toFile: directory + "/rules/fuzz.json", atomically: true, encoding: .utf8)
        guard case .object(var document) = try JSONParser.parse(WebhookFuzzHarness.configurationJSON) else { throw CancellationError() }
        document["exchange"] = ["kind": "sim"]
        document["journal"] = ["directory": "journal"]
        document["rules"] = ["rules"]
        let configuration = try BridgeConfiguration.parse(
            .object(document),
            baseDirectory: URL(fileURLWithPath: directory),
            environment: WebhookFuzzHarness.secrets
        )
        return try await Bridge.assemble(
            configuration: configuration,
            exchange: SimulatorExchange(simulator: Simulator(account: SimulatedAccount(), credentials: .random())),
            logger: Logger(label: "fuzz")
        )
    }

    /// Every scheme, with numbers at the edges of every type in bodies and timestamp headers, through the real
    /// router, intake and journal: no crash, no 5xx (a non-finite number refused by the journal writer would be a
    /// 503), JSON errors, and a journal that verifies.
    @Test func edgeNumbersOnEverySchemeNeverCrashOrPoisonTheJournal() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bridge = try await Self.everySchemeBridge(directory: directory)
        await bridge.marketData.refresh(instrumentsToo: true)
        let app = buildApplication(bridge: bridge, logger: Logger(label: "fuzz"))
        let harness = WebhookFuzzHarness()
        let statuses = try await app.test(.router) { client in
            var statuses: [Int: Int] = [:]
            var rng = SystemRandomNumberGenerator()
            for _ in 0..<(Self.iterations / 3) {
                let request = harness.request(WebhookFuzzHarness.mutant(&rng), now: Date())
                var headers = HTTPFields()
                for header in request.headers {
                    if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
                }
                let query = request.query.map {
                    "\($0.name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
                }
                let uri = "/webhooks/\(request.sourceName)" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
                let response = try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: request.body))
                statuses[response.status.code, default: 0] += 1
                #expect(response.status.code < 500, "\(response.status) for \(request.sourceName)")
                if response.status.code >= 400 {
                    #expect((try? JSONParser.parse(Array(response.body.readableBytesView)))?.objectValue?["error"] != nil)
                }
            }
            return statuses
        }
        #expect(statuses[202, default: 0] > 0 && statuses[401, default: 0] > 0, "\(statuses)")
        await bridge.executor.waitUntilIdle()
        await bridge.journal.close()
        let records = try JournalReader.read(directory: directory + "/journal", allowTornTail: false).records
        #expect(records.allSatisfy { (try? JSONParser.parse($0.line))?.invalidNumberPointer == nil })
    }
}
