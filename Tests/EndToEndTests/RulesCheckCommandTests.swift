import Foundation
import Testing

/// `signalbridge rules check`: every mistake on a line naming file, JSON Pointer and rule; exit 1.
@Suite(.timeLimit(.minutes(1)))
struct RulesCheckCommandTests {
    @Test func mistakesAreListedAndExitIsOne() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("check-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try #"""
        {"rules": [
          {"id": "typo", "source": "tv", "when": {"pointer": "/a", "eq": 1}, "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"base": "0.01"}, "prize": 1}]},
          {"id": "regex", "source": "tv", "when": {"pointer": "/a", "matches": "(["}, "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"base": "0.01"}}]},
          {"id": "tiny", "source": "tv", "when": {"pointer": "/a", "exists": true}, "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"base": "0.000001"}}]}
        ]}
        """#.write(to: folder.appendingPathComponent("bad.json"), atomically: true, encoding: .utf8)
        let (status, output) = try await ChildProcess.run(["rules", "check", "bad.json"], directory: folder)
        #expect(status == 1)
        #expect(output.contains(#"bad.json: /rules/0/orders/0/prize: rule "typo": unknown key "prize""#), "\(output)")
        #expect(output.contains(#"bad.json: /rules/1/when/matches: rule "regex": "([" is not a valid regular expression"#), "\(output)")

        try
            #"{"rules": [{"id": "tiny", "source": "tv", "when": {"pointer": "/a", "exists": true}, "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"base": "0.000001"}}]}]}"#
            .write(to: folder.appendingPathComponent("bad.json"), atomically: true, encoding: .utf8)
        let (tinyStatus, tinyOutput) = try await ChildProcess.run(["rules", "check", "bad.json"], directory: folder)
        #expect(tinyStatus == 1)
        #expect(
            tinyOutput.contains(#"bad.json: /rules/0/orders/0/size: rule "tiny": 0.000001 BTC is below the minimum 0.00001 BTC of BTC-USDT"#),
            "\(tinyOutput)"
        )

        let (goodStatus, goodOutput) = try await ChildProcess.run(["rules", "check", "rules", "rules/examples"], directory: RuleExamplesTests.root)
        #expect(goodStatus == 0 && goodOutput.hasPrefix("rules OK: "), "\(goodOutput)")
    }
}
