import Foundation
import Testing

/// Every sample payload under rules/examples/samples goes through `signalbridge rules test` with the examples'
/// configuration, and gives the outcome its file name promises (`<source>.<name>.<order|skip|blocked>.json`).
@Suite(.timeLimit(.minutes(2)))
struct RuleExamplesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let samples = root.appendingPathComponent("rules/examples/samples")
    static let environment = [
        "ONCHAIN_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "ALCHEMY_SIGNING_KEY": "example", "TV_TOKEN": "example",
        "OKX_SIGNAL_TOKEN": "example",
    ]

    static var sampleFiles: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: samples.path)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
    }

    @Test func thereAreSamplesForEverySender() {
        let sources = Set(Self.sampleFiles.map { String($0.split(separator: ".")[0]) })
        #expect(sources == ["alchemy", "okx-bot", "onchain", "tradingview"])
    }

    @Test(arguments: sampleFiles)
    func sampleGivesItsOutcome(_ file: String) async throws {
        let parts = file.split(separator: ".")
        let (source, expected) = (String(parts[0]), String(parts[parts.count - 2]))
        let (status, output) = try await ChildProcess.run(
            [
                "rules", "test", "--config", "rules/examples/config/signalbridge.json", "--source", source, "--payload",
                "rules/examples/samples/\(file)",
            ],
            environment: Self.environment,
            directory: Self.root
        )
        #expect(status == 0, "\(output)")
        switch expected {
        case "order":
            #expect(
                output.contains(": order: ")
                    && (output.contains("would send: POST /api/v5/trade/order {") || output.contains("would send: POST /api/v5/trade/order-algo {")),
                "\(output)"
            )
        case "skip": #expect(output.contains("rule (none): skip: no rule matched"), "\(output)")
        default: #expect(output.contains(": blocked: ") && !output.contains("would send"), "\(output)")
        }
    }
}
