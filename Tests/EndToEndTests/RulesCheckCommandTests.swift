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

/// `signalbridge config check`: loads a configuration as `serve` would, secrets included, and never prints one.
@Suite(.timeLimit(.minutes(1)))
struct ConfigCheckCommandTests {
    @Test func aGoodConfigurationPassesAndASecretFileOthersCanReadIsRefused() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("config-check-\(UUID())")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("rules"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let secret = "config-check-secret-\(UUID())"
        let secretFile = folder.appendingPathComponent("token")
        try secret.write(to: secretFile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: secretFile.path)
        try #"""
        {"sources": [{"name": "tv", "auth": {"scheme": "token", "in": "body", "pointer": "/token", "secretFile": "token"}}],
         "rules": ["rules"], "journal": {"directory": "journal"}}
        """#.write(to: folder.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try
            #"{"rules": [{"id": "buy", "source": "tv", "when": {"pointer": "/a", "exists": true}, "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"quote": "10"}}]}]}"#
            .write(to: folder.appendingPathComponent("rules/buy.json"), atomically: true, encoding: .utf8)

        let (status, output) = try await ChildProcess.run(["config", "check", "--config", "config.json"], directory: folder, withStandardError: true)
        #expect(
            status == 0 && output.hasPrefix("configuration OK") && output.contains("sources: tv") && output.contains("rules: 1 in 1 files"),
            "\(output)"
        )
        #expect(!output.contains(secret))

        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: secretFile.path)
        let (refused, refusal) = try await ChildProcess.run(
            ["config", "check", "--config", "config.json"],
            directory: folder,
            withStandardError: true
        )
        #expect(refused == 1 && refusal.contains("token") && refusal.contains("config.json"), "\(refusal)")
        #expect(!refusal.contains(secret))
    }
}
