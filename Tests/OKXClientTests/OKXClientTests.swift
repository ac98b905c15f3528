import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

@testable import OKXClient
@testable import OKXSimulator
@testable import SignalBridgeCore

@Suite struct OKXSignatureTests {
    struct Vectors: Decodable {
        struct Vector: Decodable {
            let timestamp, method, requestPath, body, sign: String
        }
        let secret: String
        let vectors: [Vector]
        let hexDecodedSecretSignOfVector1: String
    }

    /// Vectors computed by Python's hmac module (Fixtures/make-signature-vectors.py), not by our code.
    @Test func signaturesMatchAnIndependentImplementation() throws {
        let url = try #require(Bundle.module.url(forResource: "okx-signature-vectors", withExtension: "json", subdirectory: "Fixtures"))
        let fixture = try JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url))
        #expect(fixture.vectors.count == 5)
        for vector in fixture.vectors {
            let sign = OKXSignature.sign(
                timestamp: vector.timestamp,
                method: vector.method,
                requestPath: vector.requestPath,
                body: Array(vector.body.utf8),
                secret: Secret(fixture.secret)
            )
            #expect(sign == vector.sign)
            #expect(sign != fixture.hexDecodedSecretSignOfVector1)
            #expect(
                OKXSignature.isValid(
                    vector.sign,
                    timestamp: vector.timestamp,
                    method: vector.method,
                    requestPath: vector.requestPath,
                    body: Array(vector.body.utf8),
                    secret: Secret(fixture.secret)
                )
            )
        }
    }

    @Test func timestampsAreISO8601Milliseconds() {
        #expect(OKXSignature.timestamp(Date(timeIntervalSince1970: 1_607_418_537.715)) == "2020-12-08T09:08:57.715Z")
    }

    @Test func queryStringsAreEncodedAsSigned() {
        #expect(OKXRestClient.queryString([("instId", "BTC-USDT"), ("clOrdId", "A+B")]) == "?instId=BTC-USDT&clOrdId=A%2BB")
        #expect(OKXRestClient.queryString([]) == "")
    }
}

@Suite struct OKXClientAgainstSimulatorTests {
    let credentials = SimulatorCredentials(apiKey: "k", secretKey: Secret("s3cret"), passphrase: Secret("p"))

    /// Runs `body` with a client talking over HTTP to a simulator on an ephemeral loopback port.
    func withSimulator(secret: String = "s3cret", _ body: @escaping @Sendable (OKXRestClient, SimulatedAccount) async throws -> Void) async throws {
        let account = SimulatedAccount()
        let app = Simulator(account: account, credentials: credentials).application(host: "127.0.0.1", port: 0, logger: Logger(label: "sim"))
        let credentials = self.credentials
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let okx = OKXRestClient(
                baseURL: "http://127.0.0.1:\(port)/",
                credentials: OKXCredentials(apiKey: Secret(credentials.apiKey), secretKey: Secret(secret), passphrase: credentials.passphrase),
                demo: true,
                logger: Logger(label: "test")
            )
            try await body(okx, account)
        }
    }

    @Test func tradesAndQueriesOverHTTP() async throws {
        try await withSimulator { okx, account in
            let instruments = try await okx.instruments()
            #expect(instruments.map(\.instId) == ["BTC-USDT", "ETH-USDT", "SOL-USDT"])
            #expect(instruments[0].tickSz == Decimal(string: "0.1"))
            #expect(try await okx.ticker(instId: "BTC-USDT").ask == Decimal(string: "60000.1"))
            #expect(try await okx.balances().first { $0.ccy == "USDT" }?.available == 100_000)

            let market = OrderRequest(instId: "BTC-USDT", clOrdId: "sbm1", side: .buy, ordType: .market, sz: 100, tgtCcy: "quote_ccy")
            guard case .accepted(let ordId) = await okx.place(market, expiresAt: Date().addingTimeInterval(10)) else {
                Issue.record("expected acceptance")
                return
            }
            let status = try #require(try await okx.order(instId: "BTC-USDT", clOrdId: "sbm1"))
            #expect(status.ordId == ordId && status.state == "filled" && status.avgPx == Decimal(string: "60000.1"))
            #expect(try await okx.order(instId: "BTC-USDT", clOrdId: "never") == nil)

            let tiny = OrderRequest(instId: "BTC-USDT", clOrdId: "sbm2", side: .buy, ordType: .limit, sz: Decimal(string: "0.000001")!, px: 50000)
            #expect(
                await okx.place(tiny, expiresAt: Date().addingTimeInterval(10))
                    == .rejected(sCode: "51020", sMsg: "Your order should meet or exceed the minimum order amount.")
            )
            let expired = OrderRequest(instId: "BTC-USDT", clOrdId: "sbm3", side: .buy, ordType: .market, sz: 10, tgtCcy: "quote_ccy")
            #expect(await okx.place(expired, expiresAt: Date().addingTimeInterval(-1)) == .rejected(sCode: "50037", sMsg: "Order expired."))
            #expect(account.allOrders().count == 1)
        }
    }

    @Test func aWrongSecretIsRefusedWithItsCode() async throws {
        try await withSimulator(secret: "wrong") { okx, _ in
            do {
                _ = try await okx.balances()
                Issue.record("expected a refusal")
            } catch let error as ExchangeError {
                #expect(error.code == "50113" && !error.retryable)
            }
        }
    }

    @Test func anUnreachableExchangeMakesTheOutcomeUnknown() async throws {
        let okx = OKXRestClient.unreachable
        let order = OrderRequest(instId: "BTC-USDT", clOrdId: "x", side: .buy, ordType: .market, sz: 1, tgtCcy: "quote_ccy")
        guard case .unknown = await okx.place(order, expiresAt: Date().addingTimeInterval(5)) else {
            Issue.record("expected an unknown outcome")
            return
        }
    }
}

extension OKXRestClient {
    /// A live-trading client of a port where nothing listens.
    static let unreachable = OKXRestClient(
        baseURL: "http://127.0.0.1:1",
        credentials: OKXCredentials(apiKey: Secret("k"), secretKey: Secret("s"), passphrase: Secret("p")),
        demo: false,
        requestTimeout: .milliseconds(500),
        logger: Logger(label: "test")
    )
}

@Suite struct OKXAccountCheckTests {
    let harness = OKXClientAgainstSimulatorTests()

    @Test func aGoodAccountPassesAndNamesWhatItFound() async throws {
        try await harness.withSimulator { okx, account in
            account.accountLevel = 2
            let findings = await OKXAccountCheck(client: okx, instruments: ["BTC-USDT", "NOPE-USDT"]).run()
            let texts = findings.map(\.text)
            #expect(texts.contains { $0.contains("demo trading") })
            #expect(findings.contains { $0.level == .ok && $0.text.hasPrefix("clock ") })
            #expect(texts.contains("credentials accepted"))
            #expect(texts.contains("key permissions: read_only, trade"))
            #expect(findings.contains { $0.level == .warning && $0.text.hasPrefix("the API key can be used from any IP address") })
            #expect(texts.contains("account in Futures mode (acctLv 2): spot orders use tdMode cash"))
            #expect(findings.contains { $0.level == .ok && $0.text.hasPrefix("available: ") && $0.text.contains("USDT") })
            #expect(findings.contains { $0.level == .ok && $0.text.hasPrefix("BTC-USDT live") })
            #expect(findings.filter { $0.level == .failure }.map(\.text) == ["NOPE-USDT is not an OKX spot instrument"])
        }
    }

    @Test func wrongCredentialsFailWithTheLikelyCause() async throws {
        try await harness.withSimulator(secret: "wrong") { okx, _ in
            let findings = await OKXAccountCheck(client: okx, instruments: []).run()
            let last = try #require(findings.last)
            #expect(last.level == .failure)
            #expect(last.text.contains("50113") && last.text.hasSuffix("wrong API key or secret key"))
            #expect(!last.text.contains("s3cret"))
        }
    }

    @Test func anUnreachableExchangeFails() async {
        let okx = OKXRestClient.unreachable
        let findings = await OKXAccountCheck(client: okx, instruments: []).run()
        #expect(findings.map(\.level) == [.ok, .failure])
        #expect(findings[0].text == "exchange http://127.0.0.1:1, live trading")
        #expect(findings[1].text.hasPrefix("cannot reach OKX at http://127.0.0.1:1"))
    }

    @Test func clockSkewIsJudgedAgainstOKXsThirtySeconds() {
        #expect(OKXAccountCheck.clockFinding(skew: 0.25).level == .ok)
        #expect(OKXAccountCheck.clockFinding(skew: 0.25).text.hasPrefix("clock 250 ms from OKX's"))
        #expect(OKXAccountCheck.clockFinding(skew: -6).level == .warning)
        #expect(OKXAccountCheck.clockFinding(skew: 31).level == .failure)
        #expect(OKXAccountCheck.clockFinding(skew: -31).text.hasSuffix("synchronise this host's clock (NTP)"))
    }

    @Test func aKeyBoundToAddressesIsNamedAndOneBoundToNoneWarned() async throws {
        try await harness.withSimulator { okx, account in
            account.boundIPs = "203.0.113.7, 203.0.113.8"
            let findings = await OKXAccountCheck(client: okx, instruments: []).run()
            #expect(findings.contains { $0.level == .ok && $0.text == "the API key is bound to 2 IP addresses: 203.0.113.7, 203.0.113.8" })
            #expect(!findings.contains { $0.level == .warning })
        }
        #expect(OKXAccountCheck.ipFinding([]).level == .warning)
        #expect(OKXAccountCheck.ipFinding(["198.51.100.1"]).text == "the API key is bound to 1 IP address: 198.51.100.1")
    }

    @Test func theKeyMustTradeAndShouldNotWithdraw() {
        #expect(OKXAccountCheck.permissionFindings(["read_only"]).map(\.level) == [.failure])
        #expect(OKXAccountCheck.permissionFindings(["read_only", "trade"]).map(\.level) == [.ok])
        let withdraw = OKXAccountCheck.permissionFindings(["read_only", "trade", "withdraw"])
        #expect(withdraw.map(\.level) == [.ok, .warning])
        #expect(withdraw[1].text.contains("without Withdraw"))
    }

    @Test func suspendedInstrumentsAreWarnedAbout() {
        var suspended = Instrument.okxETHUSDT
        suspended.state = "suspend"
        let findings = OKXAccountCheck.instrumentFindings(wanted: ["ETH-USDT"], known: [suspended])
        #expect(findings == [OKXAccountCheck.Finding(level: .warning, text: "ETH-USDT is suspend, not live: orders will be refused")])
    }
}

/// The REST client and the simulator's in-process exchange classify OKX's answers the same way (`OKXAnswers`).
@Suite struct OKXAnswerClassificationTests {
    static let table: [(code: String, http: Int, expected: String)] = [
        ("51016", 200, "unknown"), ("50004", 200, "unknown"), ("51149", 200, "unknown"), ("50026", 500, "unknown"),
        ("12345", 503, "unknown"), ("50011", 429, "notPlaced"), ("50011", 200, "notPlaced"), ("50102", 401, "notPlaced"),
        ("51008", 200, "rejected"), ("50037", 200, "rejected"), ("51603", 200, "rejected"),
    ]

    static func kind(_ outcome: PlacementOutcome) -> String {
        switch outcome {
        case .accepted: return "accepted"
        case .rejected: return "rejected"
        case .unknown: return "unknown"
        case .notPlaced: return "notPlaced"
        }
    }

    @Test(arguments: table.indices)
    func everyCodeHasOneMeaning(_ index: Int) {
        let row = Self.table[index]
        #expect(Self.kind(OKXAnswers.refusal(code: row.code, message: "m", httpStatus: row.http)) == row.expected, "\(row)")
        if row.http == 200 {
            // An order's own sCode in a data[] entry of the REST answer.
            let entry = JSONObject([("sCode", .string(row.code)), ("sMsg", "m")])
            #expect(Self.kind(OKXRestClient.outcome(entry)) == row.expected, "\(row)")
        }
    }

    @Test func aPendingClOrdIdIsLookedUpNotRejected() async {
        // The simulator answers a second order with a pending clOrdId 51016, as OKX does.
        let exchange = SimulatorExchange()
        let order = OrderRequest(instId: "BTC-USDT", clOrdId: "sbpending", side: .buy, ordType: .limit, sz: Decimal(string: "0.001")!, px: 1000)
        #expect(Self.kind(await exchange.place(order, expiresAt: Date().addingTimeInterval(10))) == "accepted")
        #expect(Self.kind(await exchange.place(order, expiresAt: Date().addingTimeInterval(10))) == "unknown")
    }
}

/// A redirect is never followed: it would carry the API key, passphrase and signature (and an order's body) to
/// wherever it points.
@Suite struct OKXRedirectTests {
    @Test func aRedirectIsNotFollowedAndTheCredentialsStayHome() async throws {
        let reached = Mutex<[String]>([])
        let router = Router()
        router.get("/api/v5/public/instruments") { _, _ in
            Response(status: .found, headers: [.location: "/elsewhere"])
        }
        router.get("/elsewhere") { request, _ in
            reached.withLock { $0.append(request.uri.path) }
            return #"{"code":"0","msg":"","data":[]}"#
        }
        try await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) { client in
            let port = try #require(client.port)
            let okx = OKXRestClient(
                baseURL: "http://127.0.0.1:\(port)",
                credentials: OKXCredentials(apiKey: Secret("k"), secretKey: Secret("s"), passphrase: Secret("p")),
                demo: true,
                logger: Logger(label: "test")
            )
            await #expect(throws: ExchangeError.self) { try await okx.instruments() }
        }
        #expect(reached.withLock { $0 }.isEmpty)
    }
}
