import Foundation
import Logging
import Testing

@testable import SignalBridgeCore
@testable import SignalBridgeServer

@Suite struct RulesReloadTests {
    @Test func aBadSetIsRefusedAndTheLastGoodOneStays() async throws {
        let test = try await TestBridge.make()
        defer { try? FileManager.default.removeItem(atPath: test.directory) }
        let rules = test.directory + "/rules"
        let service = RulesReloadService(
            rulePaths: [rules],
            knownSources: ["alchemy"],
            intake: test.bridge.intake,
            logger: Logger(label: "test"),
            metrics: test.bridge.metrics.metrics,
            notifier: test.bridge.notifier
        )
        let before = test.bridge.intake.ruleSet.hash
        let fingerprint = RulesReloadService.fingerprint(of: [rules])

        try #"{"rules": [{"id": "broken", "source": "alchemy"}]}"#.write(toFile: rules + "/broken.json", atomically: true, encoding: .utf8)
        #expect(RulesReloadService.fingerprint(of: [rules]) != fingerprint)
        await service.reload(force: true)
        #expect(test.bridge.intake.ruleSet.hash == before)

        try FileManager.default.removeItem(atPath: rules + "/broken.json")
        let second =
            #"{"rules": [{"id": "second", "source": "alchemy", "when": {"pointer": "/x", "exists": true}, "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"quote": "10"}}]}]}"#
        try second.write(toFile: rules + "/second.json", atomically: true, encoding: .utf8)
        await service.reload(force: false)
        let after = test.bridge.intake.ruleSet
        #expect(after.hash != before && after.rules.map(\.id) == ["second", "whale"])
        await service.reload(force: false)
        let loads = try JournalReader.read(directory: test.directory + "/journal", allowTornTail: false).records.filter { $0.type == "rules.loaded" }
        #expect(loads.count == 2)
        #expect(loads.last?["ruleSetHash"] == .string(after.hash))
        // Counted in /metrics: the refused set, and the one put in force (the unchanged one is not a reload).
        let samples = MetricsTests.samples(test.bridge.metrics)
        #expect(samples[#"signalbridge_rule_reloads_total{outcome="loaded"}"#] == 1)
        #expect(samples[#"signalbridge_rule_reloads_total{outcome="refused"}"#] == 1)
    }
}
