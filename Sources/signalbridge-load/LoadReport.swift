import Foundation
import SignalBridgeCore

/// What one run measured, with every figure also as a ratio to the bare endpoint's, and the issue's targets.
struct LoadReport {
    struct Mode {
        var requests: Int
        var concurrency: Int
        var rate: Double?
        var orders: Bool
    }

    /// Throughput and latency of one endpoint.
    struct Figures {
        var perSecond: Double
        var latency: Latencies
        var answered: Int
        /// Answers other than 2xx.
        var failed: Int

        init(_ samples: [HTTPLoad.Sample], seconds: Double) {
            answered = samples.count
            failed = samples.filter { !(200..<300).contains($0.status) }.count
            perSecond = seconds > 0 ? Double(samples.count) / seconds : 0
            latency = Latencies(nanoseconds: samples.map(\.latencyNanoseconds))
        }
    }

    /// A target of issue 11, and whether this run met it.
    struct Target {
        var name: String
        var value: Double
        var limit: Double
        var atLeast: Bool
        var met: Bool { atLeast ? value >= limit : value <= limit }
    }

    var mode: Mode
    var bare: Figures
    var intake: Figures
    var fsync: Latencies
    var webhookToOrder: Latencies?

    /// The target that applies to the run's shape: the burst's throughput ratio, the steady rate's ack latency, or
    /// webhook-to-order.
    var targets: [Target] {
        if let toOrder = webhookToOrder {
            return [Target(name: "webhook-to-order p50 (ms) <= ack p50 + 1 ms", value: toOrder.p50, limit: intake.latency.p50 + 1, atLeast: false)]
        }
        if mode.rate != nil {
            return [
                Target(
                    name: "ack p50 (ms) <= bare p50 + fsync p50 + 0.5 ms",
                    value: intake.latency.p50,
                    limit: bare.latency.p50 + fsync.p50 + 0.5,
                    atLeast: false
                )
            ]
        }
        return [Target(name: "acks/s ÷ bare req/s >= 0.60", value: ratio(intake.perSecond, bare.perSecond), limit: 0.60, atLeast: true)]
    }

    private func ratio(_ a: Double, _ b: Double) -> Double { b > 0 ? a / b : 0 }

    private static func format(_ value: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }

    var table: String {
        var rows: [[String]] = [["", "per s", "p50 ms", "p99 ms", "p99.9 ms", "answers", "not 2xx"]]
        func row(_ name: String, _ figures: Figures) -> [String] {
            [
                name, Self.format(figures.perSecond, 0), Self.format(figures.latency.p50), Self.format(figures.latency.p99),
                Self.format(figures.latency.p999), "\(figures.answered)", "\(figures.failed)",
            ]
        }
        rows.append(row("bare Hummingbird", bare))
        rows.append(row("bridge acks", intake))
        rows.append([
            "ratio bridge/bare", Self.format(ratio(intake.perSecond, bare.perSecond)), Self.format(ratio(intake.latency.p50, bare.latency.p50)),
            Self.format(ratio(intake.latency.p99, bare.latency.p99)), Self.format(ratio(intake.latency.p999, bare.latency.p999)), "", "",
        ])
        rows.append(["bare fsync", "", Self.format(fsync.p50, 3), Self.format(fsync.p99, 3), Self.format(fsync.p999, 3), "", ""])
        if let toOrder = webhookToOrder {
            rows.append(["webhook to order", "", Self.format(toOrder.p50), Self.format(toOrder.p99), Self.format(toOrder.p999), "", ""])
            rows.append([
                "ratio order/ack", "", Self.format(ratio(toOrder.p50, intake.latency.p50)), Self.format(ratio(toOrder.p99, intake.latency.p99)),
                Self.format(ratio(toOrder.p999, intake.latency.p999)), "", "",
            ])
        }
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        var lines = [
            "\(mode.requests) webhooks, \(mode.concurrency) connections, "
                + (mode.rate.map { "\(Self.format($0, 0)) per second" } ?? "as fast as possible")
                + (mode.orders ? ", one order each over 3 instruments" : ", 100 rules none of which match")
        ]
        for row in rows {
            lines.append(
                row.enumerated().map { index, cell in
                    index == 0
                        ? cell.padding(toLength: widths[0], withPad: " ", startingAt: 0)
                        : String(repeating: " ", count: widths[index] - cell.count) + cell
                }.joined(separator: "  ")
            )
        }
        for target in targets {
            lines.append(
                "target: \(target.name): \(Self.format(target.value)) against \(Self.format(target.limit)): \(target.met ? "met" : "NOT met")"
            )
        }
        return lines.joined(separator: "\n")
    }

    var json: String {
        func figures(_ f: Figures) -> JSONValue {
            [
                "perSecond": .number(Self.format(f.perSecond, 1)), "answered": .integer(f.answered), "failed": .integer(f.failed),
                "latencyMs": latencies(f.latency),
            ]
        }
        func latencies(_ l: Latencies) -> JSONValue {
            ["p50": .number(Self.format(l.p50, 3)), "p99": .number(Self.format(l.p99, 3)), "p999": .number(Self.format(l.p999, 3))]
        }
        var object = JSONObject([
            (
                "mode",
                [
                    "requests": .integer(mode.requests), "concurrency": .integer(mode.concurrency),
                    "rate": mode.rate.map { .number(Self.format($0, 1)) } ?? .null, "orders": .bool(mode.orders),
                ]
            ),
            ("bare", figures(bare)), ("bridge", figures(intake)), ("fsyncMs", latencies(fsync)),
            (
                "ratios",
                [
                    "perSecond": .number(Self.format(ratio(intake.perSecond, bare.perSecond), 3)),
                    "p50": .number(Self.format(ratio(intake.latency.p50, bare.latency.p50), 3)),
                    "p99": .number(Self.format(ratio(intake.latency.p99, bare.latency.p99), 3)),
                    "p999": .number(Self.format(ratio(intake.latency.p999, bare.latency.p999), 3)),
                ]
            ),
        ])
        if let toOrder = webhookToOrder { object["webhookToOrderMs"] = latencies(toOrder) }
        object["targets"] = .array(
            targets.map {
                [
                    "name": .string($0.name), "value": .number(Self.format($0.value, 3)), "limit": .number(Self.format($0.limit, 3)),
                    "met": .bool($0.met),
                ]
            }
        )
        return JSONValue.object(object).jsonText
    }
}
