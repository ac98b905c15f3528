import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import OKXSimulator
@testable import SignalBridgeCore
@testable import SignalBridgeServer

/// A bridge on a temporary journal, with an in-process simulator whose account the test can inspect.
struct TestBridge {
    static let secret = "alchemy-key"
    let bridge: Bridge
    let account: SimulatedAccount
    let directory: String

    static func make(directory: String? = nil, accountLevel: Int = 1) async throws -> TestBridge {
        let directory = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("bridge-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory + "/rules", withIntermediateDirectories: true)
        try #"""
        {"rules": [{"id": "whale", "source": "alchemy", "when": {"pointer": "/event/amount", "gte": "1000"},
          "orders": [{"instId": "BTC-USDT", "side": "sell", "ordType": "market", "size": {"base": "0.01"}}]}]}
        """#.write(toFile: directory + "/rules/whale.json", atomically: true, encoding: .utf8)
        let configuration = try BridgeConfiguration.parse(
            try JSONParser.parse(
                #"""
                {"listen": {"port": 0}, "admin": {"port": 0}, "limits": {"maxBodyBytes": 1024},
                 "exchange": {"kind": "sim"}, "journal": {"directory": "journal"}, "rules": ["rules"],
                 "sources": [{"name": "alchemy", "auth": {"scheme": "hmac-sha256", "header": "X-Alchemy-Signature", "secretEnv": "ALCHEMY_KEY"}, "idPointer": "/id"}],
                 "risk": {"allowedInstruments": ["BTC-USDT"], "maxOrderNotional": "1000"}}
                """#
            ),
            baseDirectory: URL(fileURLWithPath: directory),
            environment: ["ALCHEMY_KEY": secret]
        )
        let account = SimulatedAccount()
        account.accountLevel = accountLevel
        let bridge = try await Bridge.assemble(
            configuration: configuration,
            exchange: SimulatorExchange(simulator: Simulator(account: account, credentials: .random())),
            logger: Logger(label: "test")
        )
        return TestBridge(bridge: bridge, account: account, directory: directory)
    }

    static func signature(_ body: String) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: SymmetricKey(data: Array(secret.utf8))))
    }

    static func headers(signing body: String) -> HTTPFields {
        var fields = HTTPFields()
        fields[HTTPField.Name("X-Alchemy-Signature")!] = signature(body)
        fields[.contentType] = "application/json"
        return fields
    }
}

@Suite struct WebhookServerTests {
    func json(_ response: TestResponse) throws -> JSONValue { try JSONParser.parse(Array(response.body.readableBytesView)) }

    @Test func aSignedWebhookTradesOnceAndItsResendIsADuplicate() async throws {
        let test = try await TestBridge.make()
        defer { try? FileManager.default.removeItem(atPath: test.directory) }
        let app = buildApplication(bridge: test.bridge, logger: Logger(label: "test"))
        let body = #"{"id":"evt-1","event":{"amount":"2500"}}"#
        try await app.test(.router) { client in
            let first = try await client.execute(
                uri: "/webhooks/alchemy",
                method: .post,
                headers: TestBridge.headers(signing: body),
                body: ByteBuffer(string: body)
            )
            #expect(first.status == .accepted)
            #expect(try json(first)[try JSONPointer("/decisions/0/outcome")] == .string("order"))
            let again = try await client.execute(
                uri: "/webhooks/alchemy",
                method: .post,
                headers: TestBridge.headers(signing: body),
                body: ByteBuffer(string: body)
            )
            #expect(again.status == .ok)
            #expect(again.headers[HTTPField.Name("Signalbridge-Duplicate")!] == "true")
            #expect(again.body == first.body)
            // While the application runs: once it shuts down, an order still queued is left to the next start.
            await test.bridge.executor.waitUntilIdle()
        }
        let orders = test.account.allOrders()
        #expect(orders.count == 1)
        #expect(
            orders.first?.request.json.jsonText
                == #"{"instId":"BTC-USDT","tdMode":"cash","clOrdId":"\#(ClOrdId.make(source: "alchemy", signalId: "evt-1", ruleId: "whale", orderIndex: 0))","side":"sell","ordType":"market","sz":"0.01","tgtCcy":"base_ccy"}"#
        )
        let types = try JournalReader.read(directory: test.directory + "/journal", allowTornTail: false).records.map(\.type)
        #expect(types == ["rules.loaded", "signal", "decision", "order.intent", "order.ack", "order.update"])
    }

    @Test(arguments: [(1, "cash"), (2, "cash"), (3, "cross"), (4, "cross")])
    func ordersUseTheTdModeOfTheAccountMode(level: Int, tdMode: String) async throws {
        let test = try await TestBridge.make(accountLevel: level)
        defer { try? FileManager.default.removeItem(atPath: test.directory) }
        await test.bridge.marketData.refresh(instrumentsToo: true)
        #expect(test.bridge.market.snapshot.accountMode == AccountMode(level: level))
        let body = #"{"id":"mode-\#(level)","event":{"amount":"5000"}}"#
        let request = InboundRequest(
            sourceName: "alchemy",
            headers: [(name: "X-Alchemy-Signature", value: TestBridge.signature(body))],
            body: Array(body.utf8),
            remoteAddress: "127.0.0.1"
        )
        _ = try await test.bridge.intake.handle(request).get()
        await test.bridge.executor.waitUntilIdle()
        #expect(test.account.allOrders().map(\.request.tdMode) == [tdMode])
    }

    @Test func refusalsAreJSONWithTheContractStatus() async throws {
        let test = try await TestBridge.make()
        defer { try? FileManager.default.removeItem(atPath: test.directory) }
        let app = buildApplication(bridge: test.bridge, logger: Logger(label: "test"))
        try await app.test(.router) { client in
            let body = #"{"id":"evt-2","event":{"amount":"1"}}"#
            var forged = TestBridge.headers(signing: body)
            forged[HTTPField.Name("X-Alchemy-Signature")!] = TestBridge.signature(body + " ")
            let unauthorized = try await client.execute(uri: "/webhooks/alchemy", method: .post, headers: forged, body: ByteBuffer(string: body))
            #expect(unauthorized.status == .unauthorized)
            #expect(try json(unauthorized)[try JSONPointer("/error")] == .string("unauthorized"))
            #expect(!String(buffer: unauthorized.body).contains(TestBridge.secret))

            let big = "{\"id\":\"x\",\"pad\":\"" + String(repeating: "a", count: 2000) + "\"}"
            let tooLarge = try await client.execute(
                uri: "/webhooks/alchemy",
                method: .post,
                headers: TestBridge.headers(signing: big),
                body: ByteBuffer(string: big)
            )
            #expect(tooLarge.status == .contentTooLarge)
            #expect(try json(tooLarge)[try JSONPointer("/error")] == .string("payload_too_large"))

            let unknown = try await client.execute(uri: "/webhooks/nope", method: .post, body: ByteBuffer(string: "{}"))
            #expect(unknown.status == .notFound)
            #expect(try json(unknown)[try JSONPointer("/error")] == .string("unknown_source"))

            let notJSON = "id=1"
            let bad = try await client.execute(
                uri: "/webhooks/alchemy",
                method: .post,
                headers: TestBridge.headers(signing: notJSON),
                body: ByteBuffer(string: notJSON)
            )
            #expect(bad.status == .badRequest)

            let small = #"{"id":"evt-3","event":{"amount":"999"}}"#
            let skipped = try await client.execute(
                uri: "/webhooks/alchemy",
                method: .post,
                headers: TestBridge.headers(signing: small),
                body: ByteBuffer(string: small)
            )
            #expect(skipped.status == .accepted)
            #expect(
                String(buffer: skipped.body) == #"{"signalId":"evt-3","decisions":[{"ruleId":null,"outcome":"skip","reason":"no rule matched"}]}"#
                    + "\n"
            )
        }
        #expect(test.account.allOrders().isEmpty)
    }
}

/// A sender that starts a body and never finishes it, against a real listener: cut off with a 408.
@Suite(.timeLimit(.minutes(1))) struct SlowSenderTests {
    /// Sends `request` on a new connection to 127.0.0.1:`port` and returns everything read until the server closes
    /// it (or 20 s pass).
    static func exchange(port: Int, _ request: String) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                defer { close(fd) }
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = in_port_t(UInt16(port).bigEndian)
                address.sin_addr.s_addr = inet_addr("127.0.0.1")
                var timeout = timeval(tv_sec: 20, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                guard connected == 0 else { return continuation.resume(throwing: CocoaError(.fileReadUnknown)) }
                let bytes = Array(request.utf8)
                _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
                var answer: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 4096)
                while true {
                    let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                    if n <= 0 { break }
                    answer += buffer[0..<n]
                }
                continuation.resume(returning: String(decoding: answer, as: UTF8.self))
            }
        }
    }

    @Test func aBodyThatNeverArrivesIsCutOffWith408AndJournaled() async throws {
        let test = try await TestBridge.make()
        defer { try? FileManager.default.removeItem(atPath: test.directory) }
        var controller = WebhookController(
            intake: test.bridge.intake,
            maxBodyBytes: 1024,
            trustedProxies: [],
            sourceNames: ["alchemy"],
            metrics: BridgeMetrics()
        )
        controller.bodyTimeout = .milliseconds(300)
        let router = Router(context: WebhookContext.self)
        controller.addRoutes(to: router)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let answer = try await Self.exchange(
                port: port,
                "POST /webhooks/alchemy HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"id\":"
            )
            #expect(answer.hasPrefix("HTTP/1.1 408"), "\(answer)")
            #expect(answer.contains(#""error":"request_timeout""#), "\(answer)")
        }
        let records = try JournalReader.read(directory: test.directory + "/journal", allowTornTail: false).records
        #expect(records.contains { $0.type == "rejected" && $0["status"] == .integer(408) })
        #expect(!records.contains { $0.type == "signal" })
    }
}

@Suite struct ReconcilerTests {
    func intent(_ signal: String) -> OrderIntent {
        OrderIntent(
            signalId: signal,
            ruleId: "whale",
            request: OrderRequest(
                instId: "BTC-USDT",
                clOrdId: ClOrdId.make(source: "alchemy", signalId: signal, ruleId: "whale", orderIndex: 0),
                side: .sell,
                ordType: .market,
                sz: Decimal(string: "0.01")!,
                tgtCcy: "base_ccy"
            )
        )
    }

    @Test func openIntentsAreQueriedBeforeAnythingIsSentAgain() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("reconcile-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let placedBeforeCrash = intent("a")
        let neverSent = intent("b")
        // A previous run journaled three intents and crashed before any outcome.
        do {
            let previous = try await TestBridge.make(directory: directory)
            try await previous.bridge.journal.append([.intent(placedBeforeCrash), .intent(neverSent)])
            await previous.bridge.journal.close()
        }
        let test = try await TestBridge.make(directory: directory)
        _ = try test.account.place(placedBeforeCrash.request)
        #expect(test.bridge.openOrders.map(\.intent.clOrdId) == [placedBeforeCrash.clOrdId, neverSent.clOrdId])

        let report = await test.bridge.executor.reconcile(test.bridge.openOrders, startedAt: Date().addingTimeInterval(-60))
        #expect(report.resubmitted == 1 && report.abandoned == 0 && report.unresolved.isEmpty)
        #expect(test.account.allOrders().map(\.clOrdId) == [placedBeforeCrash.clOrdId, neverSent.clOrdId])

        let strict = OrderExecutor(
            exchange: test.bridge.exchange,
            journal: test.bridge.journal,
            logger: Logger(label: "test"),
            resubmitWindow: 0
        )
        let old = OpenOrder(intent: intent("c"), intentTime: Date().addingTimeInterval(-5))
        #expect(await strict.reconcile([old], startedAt: Date().addingTimeInterval(-60)).abandoned == 1)
        #expect(test.account.allOrders().count == 2)

        let records = try JournalReader.read(directory: directory + "/journal", allowTornTail: false).records
        let final = JournalReplay(records: records, since: .distantPast)
        #expect(final.openOrders.isEmpty)
        #expect(records.last?.type == "order.abandoned")
    }
}

@Suite struct AdminReadinessTests {
    @Test func readyzShowsUnresolvedOrdersTheKillSwitchAndTheClockOffset() async throws {
        let test = try await TestBridge.make()
        defer { try? FileManager.default.removeItem(atPath: test.directory) }
        await test.bridge.marketData.refresh(instrumentsToo: true)
        let router = Router()
        AdminController(
            journal: test.bridge.journal,
            intake: test.bridge.intake,
            marketData: test.bridge.marketData,
            executor: test.bridge.executor,
            metrics: test.bridge.metrics
        )
        .addRoutes(to: router)
        try await Application(router: router).test(.router) { client in
            let response = try await client.execute(uri: "/readyz", method: .get)
            let body = try JSONParser.parse(Array(response.body.readableBytesView))
            #expect(response.status == .ok)
            #expect(body.objectValue?["unresolvedOrders"] == .integer(0))
            #expect(body.objectValue?["killSwitchEngaged"] == .bool(false))
            #expect(body.objectValue?["exchangeClockOffsetMs"] != nil)
        }
    }
}
