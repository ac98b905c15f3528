import Crypto
import Foundation
import Logging
import SignalBridgeFuzzing
import Synchronization
import Testing

@testable import SignalBridgeCore

/// Numbers at the edges of every type, from every place a sender controls: nothing traps, nothing non-finite
/// reaches a guard, a ledger or the journal, and each refusal says which field was wrong.
@Suite struct HostileNumberTests {
    static let edgeNumbers = WebhookFuzzHarness.edgeNumbers

    @Test(arguments: edgeNumbers)
    func everyAcceptedDecimalIsFiniteAndItsProductsToo(_ text: String) {
        guard let value = DecimalText.parse(text) else { return }
        #expect(value.isFinite)
        #expect(DecimalText.isWithinRange(value))
        // Two accepted numbers multiply and add without leaving the finite range (price × size, ledger sums).
        #expect((value * value * 1000).isFinite)
        #expect((value / DecimalText.parse("0.000000000000000000000000000001")!).isFinite)
    }

    @Test func theAcceptedRangeIsExact() {
        for accepted in ["0", "-0", "123.456", "999999999999999999999999999999", "0.000000000000000000000000000001", "1e29", "-1e29", "5e-30"] {
            #expect(DecimalText.parse(accepted) != nil, "\(accepted)")
        }
        for refused in ["1e30", "-1e30", "1000000000000000000000000000000", "1e-31", "3e164", "1e127", "NaN", "Infinity", "0x10", "1.", "+1", " 1"] {
            #expect(DecimalText.parse(refused) == nil, "\(refused)")
        }
        // 34 significant digits are held exactly; 35 would be rounded by Decimal, so they are refused.
        #expect(DecimalText.parse("1234567890.123456789012345678901234") != nil)
        #expect(DecimalText.parse("1234567890.1234567890123456789012345") == nil)
        #expect(DecimalText.format(DecimalText.parse("1234567890.123456789012345678901234")!) == "1234567890.123456789012345678901234")
        // Still a JSON number literal: payloads keep such numbers as text, they are only never used as amounts.
        #expect(DecimalText.isNumberLiteral("1e999"))
    }

    @Test(arguments: edgeNumbers + ["1732531200", "946684799", "4102444801", "00001732531200", "1732531200.5"])
    func authTimestampsOutsideASaneUnixTimeAreRefused(_ text: String) {
        let seconds = UnixTime.plausibleSeconds(header: text)
        if let seconds { #expect(UnixTime.plausibleSeconds.contains(seconds)) }
        #expect((seconds != nil) == (text == "1732531200"))
    }

    @Test(arguments: ["-1e20", "1e20", "0", "-1", "1e308", "99999999999999999999", "NaN", "-9223372036854775808", "1e-400", "9999-12-31T23:59:59Z"])
    func payloadTimesThatAreNoTimeAreRefused(_ text: String) {
        #expect(SignalTime.parse(.string(text)) == nil)
        if DecimalText.isNumberLiteral(text) { #expect(SignalTime.parse(.number(text)) == nil) }
    }

    @Test func plausiblePayloadTimesAreRead() throws {
        #expect(SignalTime.parse(.number("1732531200")) == Date(timeIntervalSince1970: 1_732_531_200))
        #expect(SignalTime.parse(.string("1732531200123")) == Date(timeIntervalSince1970: 1_732_531_200.123))
        #expect(SignalTime.parse(.string("2024-11-25T10:40:00Z")) == Date(timeIntervalSince1970: 1_732_531_200))
    }

    @Test func httpDatesFollowRFC9110() {
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == Date(timeIntervalSince1970: 784_111_777))
        #expect(HTTPDate.parse("Mon, 25 Nov 2024 10:40:00 GMT") == Date(timeIntervalSince1970: 1_732_531_200))
        #expect(HTTPDate.parse("Thu, 29 Feb 2024 00:00:00 GMT") == Date(timeIntervalSince1970: 1_709_164_800))
        #expect(HTTPDate.format(Date(timeIntervalSince1970: 784_111_777)) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.format(Date(timeIntervalSince1970: 1_709_164_800)) == "Thu, 29 Feb 2024 00:00:00 GMT")
        for bad in [
            "", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:00:00 GMT",
            "Xyz, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov -994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49 GMT", "1732531200",
        ] {
            #expect(HTTPDate.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func wholeNumbersNeverTrap() {
        for text in Self.edgeNumbers {
            let value = JSONValue.string(text).wholeNumber(in: 1...86400)
            #expect(value == nil || (1...86400).contains(value!))
        }
        #expect(JSONValue.number("6e1").wholeNumber(in: 1...86400) == 60)
        #expect(JSONValue.string("60.5").wholeNumber(in: 1...86400) == nil)
        #expect(TimeInterval.nan.wholeSeconds == 0 && TimeInterval.infinity.wholeSeconds == 9_000_000_000_000_000_000)
    }
}

/// Timestamps at the edges, through every scheme that reads one: a 401 with a message, never a crash.
@Suite struct HostileAuthTimestampTests {
    static let timestamps = HostileNumberTests.edgeNumbers + ["1000000000000"]

    func request(_ headers: [(String, String)], body: String = #"{"id":"x"}"#) -> InboundRequest {
        InboundRequest(sourceName: "s", headers: headers.map { (name: $0.0, value: $0.1) }, body: Array(body.utf8), remoteAddress: nil)
    }

    func signature(_ content: String, key: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(content.utf8), using: SymmetricKey(data: key)))
    }

    @Test(arguments: timestamps)
    func everySchemeRefusesTimestampsThatAreNoTime(_ t: String) {
        let body = #"{"id":"x"}"#
        let key = Array("k".utf8)
        let standard = InboundAuth.standardWebhooks(StandardWebhooksAuth(key: Secret(bytes: key), toleranceSeconds: 300))
        let goodStandard = "v1," + Data(signature("m1.\(t).\(body)", key: key)).base64EncodedString()
        let stripe = InboundAuth.stripe(StripeAuth(secret: Secret("k"), toleranceSeconds: 300))
        let goodStripe = Hex.encode(signature("\(t).\(body)", key: key))
        let quicknode = InboundAuth.hmacPreset("quicknode", secret: Secret("k"), toleranceSeconds: 300)!
        let goodQuicknode = Hex.encode(signature("n\(t)\(body)", key: key))
        let tenderly = InboundAuth.hmacPreset("tenderly", secret: Secret("k"), toleranceSeconds: 300)!
        let cases: [(InboundAuth, [(String, String)])] = [
            (standard, [("webhook-id", "m1"), ("webhook-timestamp", t), ("webhook-signature", goodStandard)]),
            (standard, [("svix-id", "m1"), ("svix-timestamp", t), ("svix-signature", "v1,AAAA")]),
            (stripe, [("Stripe-Signature", "t=\(t),v1=\(goodStripe)")]),
            (quicknode, [("X-QN-Nonce", "n"), ("X-QN-Timestamp", t), ("X-QN-Signature", goodQuicknode)]),
            (tenderly, [("Date", t), ("x-tenderly-signature", Hex.encode(signature(body + t, key: key)))]),
        ]
        for (auth, headers) in cases {
            do {
                _ = try auth.verify(request(headers), parsedBody: { nil })
                Issue.record("\(t) was accepted by \(auth)")
            } catch {
                #expect(!error.message.isEmpty)
            }
        }
    }

    @Test func tenderlysSignedDateIsCheckedAgainstTheTolerance() throws {
        let key = Array("k".utf8)
        let tenderly = InboundAuth.hmacPreset("tenderly", secret: Secret("k"), toleranceSeconds: 300)!
        let body = #"{"id":"x"}"#
        let date = "Mon, 25 Nov 2024 10:40:00 GMT"
        let headers = [("Date", date), ("x-tenderly-signature", Hex.encode(signature(body + date, key: key)))]
        let sent = Date(timeIntervalSince1970: 1_732_531_200)
        var fresh = request(headers)
        fresh.receivedAt = sent.addingTimeInterval(299)
        _ = try tenderly.verify(fresh, parsedBody: { nil })
        var replayed = request(headers)
        replayed.receivedAt = sent.addingTimeInterval(301)
        #expect(throws: AuthenticationFailure("the signed timestamp is 301 s old (tolerance 300 s)")) {
            try tenderly.verify(replayed, parsedBody: { nil })
        }
        #expect(!tenderly.isReplayable)
    }
}

/// Authentication comes before parsing; the stateless checks in their order.
@Suite struct WebhookAdmissionTests {
    static let secrets = ["HMAC_KEY": "k", "TV_TOKEN": "t0ken"]

    /// Counts the parser's calls.
    final class Counter: Sendable {
        let count = Mutex(0)
        var value: Int { count.withLock { $0 } }
    }

    func admission(parses: Counter? = nil) throws -> WebhookAdmission {
        let configuration = try BridgeConfiguration.parse(
            try JSONParser.parse(
                #"""
                {"sources": [
                  {"name": "signed", "auth": {"scheme": "alchemy", "secretEnv": "HMAC_KEY"}, "idPointer": "/id",
                   "timestampPointer": "/time"},
                  {"name": "tv", "auth": {"scheme": "token", "in": "body", "pointer": "/token", "secretEnv": "TV_TOKEN"}},
                  {"name": "bot", "auth": {"scheme": "token", "in": "header", "secretEnv": "TV_TOKEN"}, "format": "okx-signal-bot"}
                ]}
                """#
            ),
            baseDirectory: URL(fileURLWithPath: "/tmp"),
            environment: Self.secrets
        )
        var admission = WebhookAdmission(configuration: configuration)
        if let parses {
            admission.parse = { bytes throws(JSONParseError) in
                parses.count.withLock { $0 += 1 }
                return try JSONParser.parse(bytes)
            }
        }
        return admission
    }

    func signed(_ body: String, key: String = "k") -> InboundRequest {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: SymmetricKey(data: Array(key.utf8)))
        return InboundRequest(
            sourceName: "signed",
            headers: [(name: "X-Alchemy-Signature", value: Hex.encode(mac))],
            body: Array(body.utf8),
            remoteAddress: nil
        )
    }

    func rejection(_ admission: WebhookAdmission, _ request: InboundRequest, lag: Bool = false) -> WebhookRejection? {
        do {
            let signal = try admission.admit(request)
            if lag { try admission.checkLag(signal, now: Date()) }
            return nil
        } catch {
            return error
        }
    }

    @Test func anUnauthenticatedBodyIsNeverParsed() throws {
        let parses = Counter()
        let admission = try admission(parses: parses)
        let hostile = String(repeating: "[", count: 60000)
        #expect(rejection(admission, signed(hostile, key: "wrong"))?.kind == .unauthorized)
        #expect(rejection(admission, signed(#"{"id":"a"}"#, key: "wrong"))?.kind == .unauthorized)
        #expect(parses.value == 0)
        // A signed body that is not JSON is a 400, parsed once.
        #expect(rejection(admission, signed(hostile))?.kind == .badRequest)
        #expect(parses.value == 1)
        // A body token needs the parse, once, even for a refusal.
        let token = InboundRequest(sourceName: "tv", headers: [], body: Array(#"{"token":"nope"}"#.utf8), remoteAddress: nil)
        #expect(rejection(admission, token)?.kind == .unauthorized)
        #expect(parses.value == 2)
    }

    @Test(arguments: ["-1e20", "\"-1e20\"", "1e308", "\"NaN\"", "-9223372036854775808", "0", "\"0\"", "1e-400", "\"9999-12-31T23:59:59Z\"", "true"])
    func aPayloadTimeThatIsNoTimeIs400(_ time: String) throws {
        let refusal = rejection(try admission(), signed(#"{"id":"a","time":\#(time)}"#), lag: true)
        #expect(refusal?.kind == .badRequest)
        #expect(refusal?.message.contains("/time") == true)
    }

    @Test(arguments: ["1e20", "\"-9223372036854775808\"", "0", "-5", "1.5", "\"NaN\"", "86401", "\"abc\""])
    func aSignalBotMaxLagThatIsNoDurationIs400(_ maxLag: String) throws {
        let body = #"{"action":"ENTER_LONG","instrument":"BTCUSDT","timestamp":"\#(Timestamp.format(Date()))","maxLag":\#(maxLag)}"#
        let request = InboundRequest(
            sourceName: "bot",
            headers: [(name: "X-Signalbridge-Token", value: "t0ken")],
            body: Array(body.utf8),
            remoteAddress: nil
        )
        let refusal = rejection(try admission(), request, lag: true)
        #expect(refusal?.kind == .badRequest)
        #expect(refusal?.message.contains("maxLag") == true)
    }
}

/// Absurd prices, sizes and amounts are blocked with the field named; none reaches a guard, the ledger or the journal.
@Suite struct AbsurdAmountTests {
    static let ruleJSON = #"""
        {"rules": [{"id": "px", "source": "tv", "when": {"pointer": "/action", "eq": "buy"},
          "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "limit", "price": {"pointer": "/px"},
                      "size": {"pointer": "/sz", "unit": "base", "max": "1000000000000000000000000000"}}]}]}
        """#

    func decide(_ payload: String, risk: RiskSettings = RiskSettings()) throws -> Decision {
        let decider = Decider(
            rules: try Fixture.rules(Self.ruleJSON),
            guards: GlobalGuards(risk: risk, killSwitchEngaged: false),
            builder: OrderBuilder(market: Fixture.market(), now: Fixture.now, maxPriceAgeSeconds: 600)
        )
        return try #require(decider.decide(signalId: "s", source: "tv", payload: try JSONParser.parse(payload), ledger: RiskLedger()).first)
    }

    @Test(arguments: [
        (#""3e164""#, "20", "/px"), ("3e164", "20", "/px"), (#""NaN""#, "1", "/px"), (#""-5""#, "1", "/px"), ("0", "1", "/px"),
        (#""1e999""#, "1", "/px"), ("1e127", "1", "/px"), ("60000", #""1e40""#, "/sz"), ("60000", "-1", "/sz"), ("60000", "null", "/sz"),
        ("60000", "[1]", "/sz"), ("60000", #""Infinity""#, "/sz"),
    ])
    func absurdPayloadNumbersAreBlockedNamingTheField(_ px: String, _ sz: String, _ field: String) throws {
        var risk = RiskSettings()
        risk.maxDailyNotional = 1_000_000
        let decision = try decide(#"{"action":"buy","px":\#(px),"sz":\#(sz)}"#, risk: risk)
        #expect(decision.outcome == .blocked)
        #expect(decision.reason.contains(field), "\(decision.reason)")
        #expect(decision.notional.isFinite)
    }

    @Test func aNotionalBeyondTheRangeIsBlockedBeforeAnyGuard() throws {
        // Each number is accepted, but their product is not: blocked, not NaN, even without a notional limit.
        let decision = try decide(#"{"action":"buy","px":"99999999999999999999999999999","sz":"99999999999999999999999999"}"#)
        #expect(decision.outcome == .blocked)
        #expect(decision.reason.contains("notional"), "\(decision.reason)")
        #expect(decision.orders.isEmpty)
    }

    @Test(arguments: [("1e40", "amount"), ("NaN", "amount"), ("-1", "amount"), ("0", "amount")])
    func signalBotAmountsAreRangeChecked(_ amount: String, _ field: String) throws {
        let payload = try JSONParser.parse(#"{"action":"ENTER_LONG","instrument":"BTC-USDT","investmentType":"margin","amount":"\#(amount)"}"#)
        let decider = Decider(
            rules: try Fixture.rules(#"{"rules": []}"#),
            guards: GlobalGuards(risk: RiskSettings(), killSwitchEngaged: false),
            builder: OrderBuilder(market: Fixture.market(), now: Fixture.now, maxPriceAgeSeconds: 600)
        )
        let decision = try #require(decider.decide(signalId: "s", source: "bot", payload: payload, ledger: RiskLedger(), signalBot: true).first)
        #expect(decision.outcome == .blocked)
        #expect(decision.reason.contains(field))
    }

    @Test func aSignalBotPriceOffsetThatIsNoNumberIsBlocked() throws {
        let payload = try JSONParser.parse(
            #"{"action":"ENTER_LONG","instrument":"BTC-USDT","investmentType":"margin","amount":"10","orderType":"limit","orderPriceOffset":"1e99"}"#
        )
        #expect(throws: DecisionBlock.self) { try OKXSignalBot.rule(for: payload, source: "bot", instruments: Fixture.market().instruments) }
    }

    @Test func theJournalRefusesANumberThatIsNotFinite() async throws {
        let directory = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (journal, _) = try Journal.open(directory: directory, logger: Logger(label: "test"))
        try await journal.append([JournalEntry(.rejected, [("status", .integer(400))])])
        for poison in [Decimal.nan, Decimal(sign: .plus, exponent: 127, significand: 1) * 20] {
            do {
                try await journal.append([
                    JournalEntry(.signal, [("signalId", "ok")]),
                    JournalEntry(.decision, [("signalId", "ok"), ("market", .object(JSONObject([("px", .decimal(poison))])))]),
                ])
                Issue.record("the journal took \(poison)")
            } catch {
                #expect(error.message.contains("/market/px"), "\(error.message)")
            }
        }
        // Nothing of a refused batch is on disk, and the journal still takes records and verifies.
        try await journal.append([JournalEntry(.rejected, [("status", .integer(401))])])
        await journal.close()
        let records = try JournalReader.read(directory: directory, allowTornTail: false).records
        #expect(records.map(\.type) == ["rejected", "rejected"])
        #expect(!records.contains { $0.line.contains("NaN") })
    }
}

/// The replay window and the allowlist checks of the configuration.
@Suite struct ReplayAndAllowlistTests {
    @Test func signalIdsAreRememberedForTheWindowOnly() {
        var memory = SignalMemory(window: 7 * 86400)
        let start = Date(timeIntervalSince1970: 1_732_531_200)
        let a = SignalKey(source: "github", signalId: "a")
        memory.insert(a, at: start)
        #expect(memory.contains(a))
        #expect(!memory.contains(SignalKey(source: "alchemy", signalId: "a")))
        memory.insert(SignalKey(source: "github", signalId: "b"), at: start.addingTimeInterval(6 * 86400))
        #expect(memory.contains(a))
        memory.insert(SignalKey(source: "github", signalId: "c"), at: start.addingTimeInterval(7 * 86400 + 1))
        #expect(!memory.contains(a))
        #expect(memory.count == 2)
        // Expiry keeps the memory bounded however many signals pass.
        for i in 0..<5000 {
            memory.insert(SignalKey(source: "github", signalId: "n\(i)"), at: start.addingTimeInterval(30 * 86400 + Double(i) * 300))
        }
        #expect(memory.count == 7 * 86400 / 300 + 1)
    }

    func configuration(_ json: String, environment: [String: String] = ["K": "k"]) throws -> BridgeConfiguration {
        try BridgeConfiguration.parse(try JSONParser.parse(json), baseDirectory: URL(fileURLWithPath: "/tmp"), environment: environment)
    }

    func refusal(_ json: String) -> DocumentError? {
        do {
            _ = try configuration(json)
            return nil
        } catch let error as DocumentError {
            return error
        } catch {
            return nil
        }
    }

    @Test(arguments: [
        #"["0.0.0.0/0"]"#, #"["::/0"]"#, #"["0.0.0.0/1", "128.0.0.0/1"]"#, #"["2000::/3"]"#, #"["::ffff:0:0/96"]"#,
        #"["10.0.0.1", "11.0.0.0/8", "12.0.0.0/8", "13.0.0.0/8"]"#, #"["::ffff:0.0.0.0/97"]"#,
    ])
    func anUnauthenticatedSourceOpenToTooManyAddressesIsRefused(_ ranges: String) throws {
        let error = refusal(#"{"sources": [{"name": "open", "auth": {"scheme": "none"}, "allowFrom": \#(ranges)}]}"#)
        #expect(error?.pointer.description == "/sources/0/allowFrom", "\(String(describing: error))")
        #expect(error?.message.contains("more than a /7") == true)
        // With a scheme that authenticates, an open allowlist is only redundant.
        _ = try configuration(#"{"sources": [{"name": "open", "auth": {"scheme": "github", "secretEnv": "K"}, "allowFrom": \#(ranges)}]}"#)
    }

    @Test func privateNetworksStillFitAnUnauthenticatedSource() throws {
        let private4 = #""10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "::1""#
        _ = try configuration(
            #"{"sources": [{"name": "lan", "auth": {"scheme": "none"}, "allowFrom": [\#(private4)]}], "trustedProxies": [\#(private4)]}"#
        )
        let error = refusal(#"{"trustedProxies": ["10.0.0.2", "0.0.0.0/0"]}"#)
        #expect(error?.pointer.description == "/trustedProxies")
    }

    @Test func aTimestampHeaderOutsideTheSignedContentIsRefused() throws {
        let error = refusal(
            #"{"sources": [{"name": "s", "auth": {"scheme": "hmac-sha256", "header": "X-Sig", "timestampHeader": "X-Ts", "secretEnv": "K"}}]}"#
        )
        #expect(error?.pointer.description == "/sources/0/auth/timestampHeader")
        let signed = try configuration(
            #"{"sources": [{"name": "s", "auth": {"scheme": "hmac-sha256", "header": "X-Sig", "timestampHeader": "X-Ts", "signedContent": ["header:x-ts", "body"], "secretEnv": "K"}}]}"#
        )
        #expect(signed.sources[0].auth.isReplayable == false)
    }

    @Test func onlySignaturesWithoutATimestampAreRemembered() throws {
        let schemes: [(String, Bool)] = [
            (#"{"scheme": "github", "secretEnv": "K"}"#, true), (#"{"scheme": "alchemy", "secretEnv": "K"}"#, true),
            (#"{"scheme": "nansen", "secretEnv": "K"}"#, true), (#"{"scheme": "moralis", "secretEnv": "K"}"#, true),
            (#"{"scheme": "hmac-sha256", "header": "X-Sig", "secretEnv": "K"}"#, true),
            (#"{"scheme": "quicknode", "secretEnv": "K"}"#, false), (#"{"scheme": "tenderly", "secretEnv": "K"}"#, false),
            (#"{"scheme": "stripe", "secretEnv": "K"}"#, false), (#"{"scheme": "standard-webhooks", "secretEnv": "W"}"#, false),
            (#"{"scheme": "token", "secretEnv": "K"}"#, false),
        ]
        for (auth, replayable) in schemes {
            let parsed = try configuration(#"{"sources": [{"name": "s", "auth": \#(auth)}]}"#, environment: ["K": "k", "W": "whsec_a2V5"])
            #expect(parsed.sources[0].auth.isReplayable == replayable, "\(auth)")
            // Such a source without a checked payload time is named in a warning at start.
            #expect(parsed.replayWarnings.count == (replayable ? 1 : 0), "\(auth)")
        }
        let timed = try configuration(
            #"{"sources": [{"name": "s", "auth": {"scheme": "github", "secretEnv": "K"}, "timestampPointer": "/t", "maxLagSeconds": 600}]}"#
        )
        #expect(timed.replayWarnings.isEmpty)
    }

    @Test func forwardedForEntriesWithPortsAndGarbage() {
        let proxies = [IPRange("10.0.0.0/8")!]
        func client(_ header: String) -> String? { ClientAddress.resolve(peer: "10.0.0.2", forwardedFor: [header], trustedProxies: proxies) }
        #expect(client("52.89.214.238:5678") == "52.89.214.238")
        #expect(client("[2001:db8::1]:443, 10.0.0.9:80") == "2001:db8::1")
        #expect(client("[2001:db8::1]") == "2001:db8::1")
        #expect(client("1.2.3.4, 52.89.214.238:x") == "unparsable:52.89.214.238:x")
        #expect(client("1.2.3.4, evil\r\nX-Admin: yes\u{1F600}") == "unparsable:evilX-Admin:yes")
        #expect(client(String(repeating: "a", count: 1000))?.count == "unparsable:".count + 45)
        #expect(client("::ffff:10.0.0.5, 10.0.0.6") == "::ffff:10.0.0.5" || client("::ffff:10.0.0.5, 10.0.0.6") == "10.0.0.5")
    }

    @Test func theReplayWindowIsConfigurable() throws {
        func window(_ limits: String) throws -> TimeInterval {
            try BridgeConfiguration.parse(
                try JSONParser.parse(#"{"limits": \#(limits)}"#),
                baseDirectory: URL(fileURLWithPath: "/tmp"),
                environment: [:]
            ).replayWindow
        }
        #expect(try window("{}") == 7 * 86400)
        #expect(try window(#"{"replayWindowSeconds": 2592000}"#) == 30 * 86400)
        #expect(throws: DocumentError.self) { try window(#"{"replayWindowSeconds": 3600}"#) }
        #expect(throws: DocumentError.self) { try window(#"{"replayWindowSeconds": 1e20}"#) }
    }
}

/// A signal whose signature covers no timestamp, replayed after its answer has been forgotten.
@Suite struct ReplayWindowIntakeTests {
    static let configuration = try! BridgeConfiguration.parse(
        try! JSONParser.parse(
            #"""
            {"sources": [{"name": "gh", "auth": {"scheme": "github", "secretEnv": "K"}, "idPointer": "/id"},
                         {"name": "gh2", "auth": {"scheme": "github", "secretEnv": "K"}, "idPointer": "/id"}]}
            """#
        ),
        baseDirectory: URL(fileURLWithPath: "/tmp"),
        environment: ["K": "k"]
    )

    func intake(_ journal: Journal, _ records: [JournalRecord], _ dispatcher: RecordingDispatcher, now: Date = Date()) throws -> SignalIntake {
        let market = MarketData()
        market.update(instruments: [Fixture.btc])
        let gh = SignalIntakeTests.rules.replacingOccurrences(of: #""source": "tv""#, with: #""source": "gh""#)
        let gh2 = gh.replacingOccurrences(of: #""id": "buy", "source": "gh""#, with: #""id": "buy", "source": "gh2""#)
        let rules = RuleSet(
            rules: try Fixture.rules(gh).rules + Fixture.rules(gh2, file: "gh2.json").rules,
            files: [.init(path: "gh.json", sha256: Hex.sha256(gh.utf8)), .init(path: "gh2.json", sha256: Hex.sha256(gh2.utf8))]
        )
        return SignalIntake(
            configuration: Self.configuration,
            rules: rules,
            replay: JournalReplay(
                records: records,
                since: now.addingTimeInterval(-SignalIntake.duplicateRetention),
                rememberSince: now.addingTimeInterval(-Self.configuration.replayWindow)
            ),
            journal: journal,
            market: market,
            dispatcher: dispatcher,
            logger: Logger(label: "test")
        )
    }

    func request(_ body: String, source: String = "gh", at time: Date = Date()) -> InboundRequest {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: SymmetricKey(data: Array("k".utf8)))
        return InboundRequest(
            sourceName: source,
            headers: [(name: "X-Hub-Signature-256", value: "sha256=" + Hex.encode(mac))],
            body: Array(body.utf8),
            remoteAddress: nil,
            receivedAt: time
        )
    }

    @Test func aReplayBeyondTheDuplicateWindowOrdersNothingAfterARestart() async throws {
        let directory = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let threeDaysAgo = Date().addingTimeInterval(-3 * 86400)
        let body = #"{"id":"old","action":"buy"}"#
        do {
            let (journal, records) = try Journal.open(directory: directory, logger: Logger(label: "test"), clock: { threeDaysAgo })
            let first = RecordingDispatcher()
            #expect(!(try await intake(journal, records, first).handle(request(body, at: threeDaysAgo)).get()).isDuplicate)
            #expect(first.intents.withLock { $0.count } == 1)
            await journal.close()
        }
        let (journal, records) = try Journal.open(directory: directory, logger: Logger(label: "test"))
        defer { Task { await journal.close() } }
        let dispatcher = RecordingDispatcher()
        let restarted = try intake(journal, records, dispatcher)
        let answer = try await restarted.handle(request(body)).get()
        #expect(answer.isDuplicate)
        #expect(answer.body.objectValue?["message"]?.stringValue?.contains("48 h") == true)
        // The same id from another source is another signal, and another order.
        let other = try await restarted.handle(request(body, source: "gh2")).get()
        #expect(!other.isDuplicate)
        #expect(dispatcher.intents.withLock { $0.count } == 1)
    }

    /// Two sources with the same signal id (one Standard Webhooks message fanned out to two endpoints): after a
    /// restart each sender's resend is still its own duplicate.
    @Test func theSameIdFromTwoSourcesIsTwoSignalsAcrossARestart() async throws {
        let directory = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let body = #"{"id":"shared","action":"buy"}"#
        var first: [String: JSONValue] = [:]
        do {
            let (journal, records) = try Journal.open(directory: directory, logger: Logger(label: "test"))
            let running = try intake(journal, records, RecordingDispatcher())
            for source in ["gh", "gh2"] { first[source] = try await running.handle(request(body, source: source)).get().body }
            await journal.close()
        }
        // Two signals, two orders with two clOrdIds.
        let clOrdId = try JSONPointer("/decisions/0/clOrdId")
        #expect(first["gh"]?[clOrdId] != nil && first["gh2"]?[clOrdId] != nil && first["gh"]?[clOrdId] != first["gh2"]?[clOrdId])
        let (journal, records) = try Journal.open(directory: directory, logger: Logger(label: "test"))
        defer { Task { await journal.close() } }
        let dispatcher = RecordingDispatcher()
        let restarted = try intake(journal, records, dispatcher)
        for source in ["gh", "gh2"] {
            let resent = try await restarted.handle(request(body, source: source)).get()
            #expect(resent.isDuplicate && resent.body == first[source], "\(source)")
        }
        #expect(dispatcher.intents.withLock { $0.isEmpty })
    }

    @Test func aReplayBeyondTheDuplicateWindowOrdersNothingWhileRunning() async throws {
        let directory = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let start = Date().addingTimeInterval(-4 * 86400)
        let (journal, _) = try Journal.open(directory: directory, logger: Logger(label: "test"))
        defer { Task { await journal.close() } }
        let dispatcher = RecordingDispatcher()
        let running = try intake(journal, [], dispatcher, now: start)
        let body = #"{"id":"a","action":"buy"}"#
        #expect(!(try await running.handle(request(body, at: start)).get()).isDuplicate)
        // Three days later another signal pushes the first answer out of the 48-hour window.
        let later = start.addingTimeInterval(3 * 86400)
        #expect(!(try await running.handle(request(#"{"id":"b","action":"buy"}"#, at: later)).get()).isDuplicate)
        let replay = try await running.handle(request(body, at: later)).get()
        #expect(replay.isDuplicate && replay.body.objectValue?["decisions"] == .array([]))
        #expect(dispatcher.intents.withLock { $0.count } == 2)
    }
}
