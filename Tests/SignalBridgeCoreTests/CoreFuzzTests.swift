import Foundation
import Testing

@testable import SignalBridgeCore
@testable import SignalBridgeFuzzing

/// The fuzz harness and its seed corpus, and a randomized run of it on every scheme with numbers at the edges of
/// every type. `SIGNALBRIDGE_FUZZ_ITERATIONS=100000 swift test --filter Fuzz` runs longer (default 3000); the
/// coverage-guided run is in Fuzz/ (README, "Hostile input").
@Suite struct CoreFuzzTests {
    static let harness = WebhookFuzzHarness()
    static let now = Date()
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Fuzz/corpus").standardized

    static var iterations: Int {
        ProcessInfo.processInfo.environment["SIGNALBRIDGE_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 3000
    }

    @Test(arguments: WebhookFuzzHarness.seeds.map(\.name))
    func everySeedIsSignedAndReachesTheRules(_ name: String) throws {
        let seed = try #require(WebhookFuzzHarness.seeds.first { $0.name == name })
        let outcome = try Self.harness.run(Array(seed.input.utf8), now: Self.now)
        guard case .accepted(let outcomes) = outcome else {
            Issue.record("\(name): \(outcome)")
            return
        }
        if name.hasPrefix("edge-") {
            #expect(outcomes.contains(.blocked) && !outcomes.contains(.order), "\(name): \(outcomes)")
        } else {
            #expect(outcomes.contains(.order), "\(name): \(outcomes)")
        }
        // Unsigned, the same request is refused by every scheme that authenticates.
        let unsigned = seed.input.replacingOccurrences(of: " st\n", with: " t\n", options: [], range: seed.input.range(of: " st\n"))
        let refused = try Self.harness.run(Array(unsigned.utf8), now: Self.now)
        #expect(name == "none-allowlisted" || refused == .refused(.unauthorized), "\(name) unsigned: \(refused)")
    }

    /// The committed corpus is exactly the seeds (`SIGNALBRIDGE_WRITE_FUZZ_CORPUS=1` writes it).
    @Test func theCommittedCorpusIsTheSeeds() throws {
        if ProcessInfo.processInfo.environment["SIGNALBRIDGE_WRITE_FUZZ_CORPUS"] == "1" {
            try FileManager.default.createDirectory(at: Self.corpus, withIntermediateDirectories: true)
            for seed in WebhookFuzzHarness.seeds {
                try Data(seed.input.utf8).write(to: Self.corpus.appendingPathComponent(seed.name))
            }
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).sorted()
        #expect(files == WebhookFuzzHarness.seeds.map(\.name).sorted())
        for seed in WebhookFuzzHarness.seeds {
            #expect(try String(contentsOf: Self.corpus.appendingPathComponent(seed.name), encoding: .utf8) == seed.input, "\(seed.name)")
        }
    }

    @Test func mutatedSeedsNeverBreakAPromise() throws {
        var rng = SystemRandomNumberGenerator()
        var statuses: [String: Int] = [:]
        for _ in 0..<Self.iterations {
            let input = WebhookFuzzHarness.mutant(&rng)
            do {
                switch try Self.harness.run(input, now: Self.now) {
                case .refused(let kind): statuses[kind.rawValue, default: 0] += 1
                case .accepted(let outcomes): statuses[outcomes.map(\.rawValue).joined(separator: ","), default: 0] += 1
                }
            } catch {
                Issue.record("\(error) for input \(String(decoding: input, as: UTF8.self))")
            }
        }
        // The run reached every layer: refusals of authentication, parsing and lag, and blocked and placed orders.
        #expect(statuses["unauthorized", default: 0] > 0 && statuses["bad_request", default: 0] > 0, "\(statuses)")
        #expect(statuses.keys.contains { $0.contains("blocked") } && statuses.keys.contains { $0.contains("order") }, "\(statuses)")
    }
}
