import Foundation
import Testing

@testable import SignalBridgeCore

/// rules/schema.json stays in step with the parser: every example validates, the same mistakes are refused by
/// both, and the schema names exactly the keys the parser knows.
@Suite struct RuleSchemaTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func schema() throws -> SchemaValidator {
        let data = try Data(contentsOf: root.appendingPathComponent("rules/schema.json"))
        return SchemaValidator(root: try #require(try JSONParser.parse(Array(data)).objectValue))
    }

    static var exampleFiles: [String] {
        ["rules", "rules/examples"].flatMap { folder in
            ((try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)) ?? [])
                .filter { $0.hasSuffix(".json") && $0 != "schema.json" }.map { "\(folder)/\($0)" }
        }.sorted()
    }

    @Test func theSchemaUsesOnlyKeywordsTheValidatorChecks() throws {
        let schema = try Self.schema()
        #expect(schema.usedKeywords().subtracting(SchemaValidator.keywords).isEmpty)
        #expect(schema.root["$schema"] == .string("https://json-schema.org/draft/2020-12/schema"))
    }

    @Test func everyExampleIsValidForSchemaAndParser() throws {
        let schema = try Self.schema()
        #expect(Self.exampleFiles.count >= 4)
        for file in Self.exampleFiles {
            let document = try JSONParser.parse(Array(try Data(contentsOf: Self.root.appendingPathComponent(file))))
            #expect(schema.isValid(document), "\(file) does not match rules/schema.json")
            guard case .success = RuleParser.parse(document, file: file) else {
                Issue.record("\(file) does not parse")
                continue
            }
        }
    }

    static let order = #"{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"base": "0.01"}}"#

    /// Documents both must refuse: each is a one-rule file with one mistake.
    static let mistakes: [String] = [
        #"{"rules": [{"id": "r", "source": "s", "when": {"pointer": "/a", "eq": 1}, "orders": [\#(order)], "extra": 1}]}"#,
        #"{"rules": [{"id": "r", "source": "s", "when": {"pointer": "/a", "eq": 1}, "orders": []}]}"#,
        #"{"rules": [{"id": "r", "source": "s", "orders": [\#(order)]}]}"#,
        #"{"rules": [{"id": "r x", "source": "s", "when": {"pointer": "/a", "eq": 1}, "orders": [\#(order)]}]}"#,
        #"{"rules": [{"id": "r", "source": "s", "when": {"pointer": "a", "eq": 1}, "orders": [\#(order)]}]}"#,
        #"{"rules": [{"id": "r", "source": "s", "when": {"pointer": "/a", "eq": 1, "ne": 2}, "orders": [\#(order)]}]}"#,
        #"{"rules": [{"id": "r", "source": "s", "when": {"pointer": "/a"}, "orders": [\#(order)]}]}"#,
        #"{"rules": [{"id": "r", "source": "s", "when": {"pointer": "/a", "gte": "lots"}, "orders": [\#(order)]}]}"#,
        #"{"rules": [{"id": "r", "source": "s", "when": {"pointer": "/a", "exists": "yes"}, "orders": [\#(order)]}]}"#,
        #"{"rules": [{"id": "r", "source": "s", "when": {"all": {"pointer": "/a", "eq": 1}}, "orders": [\#(order)]}]}"#,
        #"{"rules": [{"id": "r", "source": "s", "when": {"pointer": "/a", "eq": 1}, "orders": [{"instId": "BTC-USDT", "side": "hold", "ordType": "market", "size": {"base": "1"}}]}]}"#,
        #"{"rules": [{"id": "r", "source": "s", "when": {"pointer": "/a", "eq": 1}, "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "stop", "size": {"base": "1"}}]}]}"#,
        #"{"rules": [{"id": "r", "source": "s", "when": {"pointer": "/a", "eq": 1}, "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "limit", "size": {"base": "1"}}]}]}"#,
        #"{"rules": [{"id": "r", "source": "s", "when": {"pointer": "/a", "eq": 1}, "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"base": "1"}, "price": {"fixed": "1"}}]}]}"#,
        #"{"rules": [{"id": "r", "source": "s", "when": {"pointer": "/a", "eq": 1}, "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"base": "1", "quote": "2"}}]}]}"#,
        #"{"rules": [{"id": "r", "source": "s", "when": {"pointer": "/a", "eq": 1}, "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"base": "-1"}}]}]}"#,
        #"{"rules": [{"id": "r", "source": "s", "when": {"pointer": "/a", "eq": 1}, "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"pointer": "/q", "unit": "base"}}]}]}"#,
        #"{"rules": [{"id": "r", "source": "s", "when": {"pointer": "/a", "eq": 1}, "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "limit", "size": {"base": "1"}, "price": {"from": "mid"}}]}]}"#,
        #"{"rules": [{"id": "r", "source": "s", "when": {"pointer": "/a", "eq": 1}, "orders": [\#(order)], "cooldownSeconds": 1.5}]}"#,
        #"{"rules": [{"id": "r", "source": "s", "when": {"pointer": "/a", "eq": 1}, "orders": [\#(order)], "dryRun": "no"}]}"#,
        #"{"rules": [{"id": "r", "source": "s", "when": {"pointer": "/a", "eq": 1}, "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"quote": "1"}, "takeProfit": {"order": "market"}}]}]}"#,
        #"{"rules": [{"id": "r", "source": "s", "when": {"pointer": "/a", "eq": 1}, "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"quote": "1"}, "stopLoss": {"trigger": {"fixed": "1"}, "order": "limit"}}]}]}"#,
        #"{"rules": [{"id": "r", "source": "s", "when": {"pointer": "/a", "eq": 1}, "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"quote": "1"}, "stopLoss": {"trigger": {"from": "bid"}, "order": "market"}}]}]}"#,
        #"{"rules": [{"id": "r", "source": "s", "when": {"pointer": "/a", "eq": 1}, "orders": [{"instId": "BTC-USDT", "side": "sell", "ordType": "trigger", "size": {"base": "1"}, "trigger": {"fixed": "1"}, "order": "market", "price": {"fixed": "1"}}]}]}"#,
        #"{"rules": [{"id": "r", "source": "s", "when": {"pointer": "/a", "eq": 1}, "orders": [{"instId": "BTC-USDT", "side": "sell", "ordType": "trigger", "size": {"base": "1"}, "order": "market"}]}]}"#,
        #"{"rules": [{"id": "r", "source": "s", "when": {"pointer": "/a", "eq": 1}, "orders": [{"instId": "BTC-USDT", "side": "sell", "ordType": "move_order_stop", "size": {"base": "1"}, "callbackRatio": "0.01", "callbackSpread": "5"}]}]}"#,
        #"{"rules": [{"id": "r", "source": "s", "when": {"pointer": "/a", "eq": 1}, "orders": [{"instId": "BTC-USDT", "side": "sell", "ordType": "oco", "size": {"base": "1"}, "stopLoss": {"trigger": {"fixed": "1"}, "order": "market"}}]}]}"#,
        #"{"rules": [{"id": "r", "source": "s", "when": {"pointer": "/a", "eq": 1}, "orders": [{"instId": "BTC-USDT", "side": "sell", "ordType": "market", "size": {"base": "1"}, "callbackRatio": "0.01"}]}]}"#,
        #"{"rules": [{"id": "r", "source": "s", "when": {"pointer": "/a", "eq": 1}, "orders": [{"instId": "BTC-USDT", "side": "sell", "ordType": "trigger", "size": {"base": "1"}, "trigger": {"fixed": "1"}, "order": "market", "takeProfit": {"trigger": {"fixed": "1"}, "order": "market"}}]}]}"#,
        #"{"rules": {}}"#,
        #"{"rule": []}"#,
    ]

    @Test(arguments: mistakes)
    func bothRefuseTheSameMistakes(_ text: String) throws {
        let document = try JSONParser.parse(text)
        #expect(!(try Self.schema()).isValid(document), "the schema accepts \(text)")
        guard case .failure = RuleParser.parse(document, file: "m.json") else {
            Issue.record("the parser accepts \(text)")
            return
        }
    }

    @Test func theSchemaNamesExactlyTheParsersKeys() throws {
        let schema = try Self.schema()
        func keys(_ path: String) -> Set<String> {
            Set(schema.resolve(path).objectValue?["properties"]?.objectValue?.keys ?? [])
        }
        #expect(keys("#/$defs/rule") == RuleParser.ruleKeys)
        #expect(keys("#/$defs/order") == RuleParser.orderKeys)
        #expect(keys("#/$defs/test") == Set(RuleParser.comparisonKeys + ["pointer"]))
        let sizeKeys = schema.resolve("#/$defs/size").objectValue?["oneOf"]?.arrayValue?.flatMap {
            $0.objectValue?["properties"]?.objectValue?.keys ?? []
        }
        #expect(Set(sizeKeys ?? []) == RuleParser.sizeKeys)
        let priceKeys = schema.resolve("#/$defs/price").objectValue?["oneOf"]?.arrayValue?.flatMap {
            $0.objectValue?["properties"]?.objectValue?.keys ?? []
        }
        #expect(Set(priceKeys ?? []) == RuleParser.priceKeys)
        #expect(keys("#/$defs/exit") == RuleParser.exitKeys)
        let exitPriceKeys = schema.resolve("#/$defs/exitPrice").objectValue?["oneOf"]?.arrayValue?.flatMap {
            $0.objectValue?["properties"]?.objectValue?.keys ?? []
        }
        #expect(Set(exitPriceKeys ?? []) == RuleParser.exitPriceKeys)
    }
}
