import Benchmark
import Foundation
import Logging
import SignalBridgeCore
import SignalBridgeFuzzing

/// The hot paths of a webhook and of the journal, each measured for wall time and allocations:
/// - `verify/<scheme>`: a signed request of each inbound signature scheme and preset through admission (source,
///   allowlist, authentication on the raw bytes, parsing, signal id), as the fuzz harness's seeds sign them;
/// - `decide/100 rules, 1 KiB payload`: parsing a 1 KiB payload and evaluating 100 rules against it, none matching;
/// - `parse/1 KiB payload`: the parsing part of that alone;
/// - `okx/sign`: signing an OKX order request;
/// - `journal/append, 32 at once`: 32 concurrent appends sharing fsyncs (group commit), per append;
/// - `journal/verify`: the streaming check of a 10,000-record journal, per record.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .mallocCountTotal, .throughput], maxDuration: .seconds(2))

    let harness = WebhookFuzzHarness()
    let admission = WebhookAdmission(configuration: harness.configuration)
    for (name, input) in WebhookFuzzHarness.seeds where !name.hasPrefix("edge") {
        // Signed once, outside the measurement.
        let request = harness.request(Array(input.utf8), now: Date())
        Benchmark("verify/\(name)") { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try? admission.admit(request)) }
        }
    }

    Benchmark("decide/100 rules, 1 KiB payload") { benchmark in
        let ruleSet = HundredRules.set
        let payload = OneKiB.payload
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            guard let value = try? JSONParser.parse(payload) else { continue }
            blackHole(Decider.matching(ruleSet, source: "tv", payload: value))
        }
    }

    Benchmark("match/100 rules, none matching") { benchmark in
        let ruleSet = HundredRules.set
        guard let value = try? JSONParser.parse(OneKiB.payload) else { fatalError("the benchmark's payload is invalid") }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(Decider.matching(ruleSet, source: "tv", payload: value)) }
    }

    Benchmark("parse/1 KiB payload") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try? JSONParser.parse(OneKiB.payload)) }
    }

    Benchmark("okx/sign") { benchmark in
        let body = Array(
            #"{"instId":"BTC-USDT","tdMode":"cash","clOrdId":"sb0123456789abcdef0123456789abcd","side":"buy","ordType":"market","sz":"50","tgtCcy":"quote_ccy"}"#
                .utf8
        )
        let secret = Secret("22582BD0CFF14C41EDBF1AB98506286D")
        for _ in benchmark.scaledIterations {
            blackHole(
                OKXSignature.sign(
                    timestamp: "2026-12-01T12:00:00.000Z",
                    method: "POST",
                    requestPath: "/api/v5/trade/order",
                    body: body,
                    secret: secret
                )
            )
        }
    }

    Benchmark("journal/append, 32 at once", configuration: .init(scalingFactor: .one)) { benchmark in
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-journal-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        guard let (journal, _) = try? Journal.open(directory: directory, logger: Logger(label: "bench")) else { fatalError("no journal") }
        let entry = JournalEntry.rejected(source: "bench", status: 401, error: "signature mismatch", remoteAddr: "127.0.0.1", bodySha256: nil)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<32 { group.addTask { _ = try? await journal.append([entry]) } }
            }
        }
        benchmark.stopMeasurement()
        await journal.close()
    }

    Benchmark("journal/verify, 10,000 records", configuration: .init(scalingFactor: .one)) { benchmark in
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-verify-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        guard let (journal, _) = try? Journal.open(directory: directory, logger: Logger(label: "bench")) else { fatalError("no journal") }
        let payload = JSONValue.object(
            JSONObject([("id", .string("x")), ("action", .string("buy")), ("note", .string(String(repeating: "n", count: 120)))])
        )
        for index in 0..<5_000 {
            let signal = JournalEntry.signal(
                signalId: "s\(index)",
                source: "bench",
                remoteAddr: "127.0.0.1",
                bodySha256: "00",
                receivedAt: nil,
                payload: payload
            )
            let decision = JournalEntry(
                .decision,
                [("signalId", .string("s\(index)")), ("ruleId", .null), ("outcome", .string("skip")), ("reason", .string("no rule matched"))]
            )
            _ = try? await journal.append([signal, decision])
        }
        await journal.close()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try? JournalScanner.scan(directory: directory, allowTornTail: false) { _ in })
        }
    }
}

/// A 1 KiB webhook payload.
enum OneKiB {
    static let payload = Array((#"{"action": "buy", "px": "60000", "note": ""# + String(repeating: "x", count: 960) + #""}"#).utf8)
}

/// 100 rules of one source, each requiring `/action` to be a value no payload here has.
enum HundredRules {
    static let set: RuleSet = {
        let rules = (0..<100).map { index in
            #"{"id": "r\#(index)", "source": "tv", "when": {"all": [{"pointer": "/action", "eq": "never-\#(index)"}, {"pointer": "/px", "gte": "1"}]}, "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"quote": "10"}}]}"#
        }
        let document = #"{"rules": ["# + rules.joined(separator: ",") + "]}"
        guard let parsed = try? RuleParser.parse(try JSONParser.parse(document), file: "bench.json").get() else {
            fatalError("the benchmark's rules are invalid")
        }
        return RuleSet(rules: parsed, files: [])
    }()
}
