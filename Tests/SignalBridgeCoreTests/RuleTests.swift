import Foundation
import Testing

@testable import SignalBridgeCore

/// Helpers shared by the rule, order and decision tests.
enum Fixture {
    static let btc = Instrument.okxBTCUSDT
    static let eth = Instrument.okxETHUSDT
    static let now = Date(timeIntervalSince1970: 1_795_600_000)

    static func market(withTickers: Bool = true) -> MarketSnapshot {
        var market = MarketSnapshot()
        market.instruments = ["BTC-USDT": btc, "ETH-USDT": eth]
        if withTickers {
            market.tickers["BTC-USDT"] = Ticker(
                instId: "BTC-USDT",
                last: 60000,
                bid: Decimal(string: "59999.9")!,
                ask: Decimal(string: "60000.1")!,
                time: now
            )
            market.tickerFetchedAt["BTC-USDT"] = now
        }
        return market
    }

    static func rules(_ json: String, file: String = "test.json") throws -> RuleSet {
        switch RuleParser.parse(try JSONParser.parse(json), file: file) {
        case .success(let rules): return RuleSet(rules: rules, files: [.init(path: file, sha256: Hex.sha256(json.utf8))])
        case .failure(let errors): throw errors
        }
    }

    /// A rule file of one rule (`r`, source `s`, matching every signal) that places `order`.
    static func ruleFile(ordering order: String) -> String {
        #"{"rules":[{"id":"r","source":"s","when":{"pointer":"/x","exists":false},"orders":[\#(order)]}]}"#
    }

    /// `order` (the JSON of one order) built by `builder` for `payload`, as clOrdId `sb1`.
    static func build(_ order: String, with builder: OrderBuilder, payload: String = "{}") throws -> PlannedOrder {
        let template = try rules(ruleFile(ordering: order)).rules[0].orders[0]
        return try builder.build(template, payload: try JSONParser.parse(payload), clOrdId: "sb1")
    }

    static func ruleErrors(_ json: String) throws -> [DocumentError] {
        guard case .failure(let errors) = RuleParser.parse(try JSONParser.parse(json), file: "bad.json") else { return [] }
        return errors.errors
    }
}

@Suite struct RuleParserTests {
    @Test func mistakesNameFileRuleAndPointer() throws {
        let errors = try Fixture.ruleErrors(
            #"""
            {"rules": [
              {"id": "ok", "source": "s", "when": {"pointer": "/a", "eq": 1}, "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"base": "1"}}]},
              {"id": "typo", "source": "s", "when": {"pointer": "/a", "eq": 1}, "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"base": "1"}, "prise": 1}]},
              {"id": "nolimitprice", "source": "s", "when": {"all": [{"pointer": "/a", "gt": "x"}]}, "orders": []},
              {"id": "badpointer", "source": "s", "when": {"pointer": "a", "eq": 1}, "orders": [{"instId": "X", "side": "buy", "ordType": "market", "size": {"base": "1"}}]},
              {"id": "limit", "source": "s", "when": {"pointer": "/a", "exists": true}, "orders": [{"instId": "X", "side": "buy", "ordType": "limit", "size": {"base": "1"}}]}
            ]}
            """#
        )
        #expect(errors.count == 4)
        #expect(errors[0].file == "bad.json")
        #expect(errors[0].pointer.description == "/rules/1/orders/0/prise")
        #expect(errors[0].message.contains("rule \"typo\"") && errors[0].message.contains("unknown key"))
        #expect(errors[1].pointer.description == "/rules/2/orders")
        #expect(errors[2].pointer.description == "/rules/3/when/pointer")
        #expect(errors[3].pointer.description == "/rules/4/orders/0/price")
        #expect(errors[3].description.hasPrefix("bad.json: /rules/4/orders/0/price: rule \"limit\""))
    }

    @Test func duplicateIdsAndUnknownSourcesAcrossFiles() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let rule =
            #"{"rules": [{"id": "same", "source": "%@", "when": {"pointer": "/a", "eq": 1}, "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"base": "1"}}]}]}"#
        try rule.replacingOccurrences(of: "%@", with: "tv").write(to: folder.appendingPathComponent("a.json"), atomically: true, encoding: .utf8)
        try rule.replacingOccurrences(of: "%@", with: "nope").write(to: folder.appendingPathComponent("b.json"), atomically: true, encoding: .utf8)
        try "{}".write(to: folder.appendingPathComponent("schema.json"), atomically: true, encoding: .utf8)
        do {
            _ = try RuleSet.load(paths: [folder.path], knownSources: ["tv"])
            Issue.record("expected errors")
        } catch {
            #expect(error.errors.count == 2)
            #expect(error.errors[0].message.contains("also used in"))
            #expect(error.errors[0].pointer.description == "/rules/0/id")
            #expect(error.errors[1].message.contains("unknown source \"nope\""))
        }
        let loaded = try RuleSet.load(paths: [folder.appendingPathComponent("a.json").path], knownSources: nil)
        #expect(loaded.rules.count == 1 && loaded.files.count == 1 && loaded.hash.count == 64)
    }

    @Test func conditionsCompareExactDecimals() throws {
        let rules = try Fixture.rules(
            #"""
            {"rules": [{"id": "r", "source": "s", "when": {"all": [
                {"pointer": "/amount", "gte": "1000"},
                {"pointer": "/asset", "in": ["BTC", "ETH"]},
                {"not": {"pointer": "/type", "eq": "test"}},
                {"any": [{"pointer": "/flag", "exists": true}, {"pointer": "/price", "eq": 0.30}]}
            ]}, "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"base": "1"}}]}]}
            """#
        )
        let when = rules.rules[0].when
        #expect(when.matches(try JSONParser.parse(#"{"amount":"1000.0","asset":"BTC","price":"0.3"}"#)))
        #expect(when.matches(try JSONParser.parse(#"{"amount":1e3,"asset":"ETH","flag":false}"#)))
        #expect(!when.matches(try JSONParser.parse(#"{"amount":"999.99999999","asset":"BTC","flag":1}"#)))
        #expect(!when.matches(try JSONParser.parse(#"{"amount":5000,"asset":"BTC","type":"test","flag":1}"#)))
        #expect(!when.matches(try JSONParser.parse(#"{"amount":"lots","asset":"BTC","flag":1}"#)))
        #expect(!when.matches(try JSONParser.parse(#"{"amount":5000,"asset":"DOGE","flag":1}"#)))
    }

    @Test func templatesInterpolatePayloadValues() throws {
        let template = try Template("${/asset}-USDT")
        #expect(try template.render(try JSONParser.parse(#"{"asset":"ETH"}"#)) == "ETH-USDT")
        #expect(throws: DecisionBlock.self) { try template.render(try JSONParser.parse("{}")) }
        #expect(try Template("plain").literal == "plain")
        #expect(throws: JSONPointerError.self) { try Template("${/open") }
    }
}

@Suite struct ClOrdIdTests {
    @Test func deterministicLowercaseAlphanumericAtMost32() {
        let a = ClOrdId.make(source: "s", signalId: "sig-1", ruleId: "r", orderIndex: 0)
        #expect(a == ClOrdId.make(source: "s", signalId: "sig-1", ruleId: "r", orderIndex: 0))
        #expect(a != ClOrdId.make(source: "s", signalId: "sig-1", ruleId: "r", orderIndex: 1))
        #expect(a != ClOrdId.make(source: "s", signalId: "sig-2", ruleId: "r", orderIndex: 0))
        // The same signal id from another source is another order.
        #expect(a != ClOrdId.make(source: "t", signalId: "sig-1", ruleId: "r", orderIndex: 0))
        #expect(a.count == 32)
        #expect(a.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) })
    }
}
