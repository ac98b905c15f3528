import Foundation
import Logging
import Testing

@testable import OKXSimulator
@testable import SignalBridgeCore

/// Every fault the simulator can inject, against the executor: no clOrdId reaches the exchange twice as a new
/// order, and every intent ends with a final record (or rests acknowledged on the book).
@Suite struct ExactlyOnceTests {
    struct Harness {
        let simulator: Simulator
        let executor: OrderExecutor
        let journal: Journal
        let directory: String

        init(
            directory: String = FileManager.default.temporaryDirectory.appendingPathComponent("exactly-once-\(UUID())").path,
            simulator: Simulator = Simulator(credentials: .random()),
            requestLifetime: TimeInterval = 0.2,
            resubmitWindow: TimeInterval = 60,
            maxLookupBackoff: TimeInterval = 30,
            maxQueueAge: TimeInterval = 60,
            killSwitchFile: String? = nil,
            metrics: BridgeMetrics = BridgeMetrics()
        ) throws {
            self.directory = directory
            self.simulator = simulator
            let (journal, _) = try Journal.open(directory: directory, logger: Logger(label: "test"))
            self.journal = journal
            executor = OrderExecutor(
                exchange: SimulatorExchange(simulator: simulator),
                journal: journal,
                logger: Logger(label: "test"),
                requestLifetime: requestLifetime,
                resubmitWindow: resubmitWindow,
                maxQueueAge: maxQueueAge,
                throttleRetries: 3,
                backoff: .milliseconds(20),
                maxLookupBackoff: maxLookupBackoff,
                killSwitch: KillSwitch(file: killSwitchFile),
                metrics: metrics
            )
        }

        var records: [JournalRecord] { (try? JournalReader.read(directory: directory, allowTornTail: false).records) ?? [] }

        /// Submits `intents` (already journaled) with the first one's answer lost, then takes the exchange down for
        /// `seconds` once that order is placed: its lane is left looking it up, the others waiting behind it.
        /// - Returns: whether it came to that.
        func strandFirst(of intents: [OrderIntent], outage seconds: TimeInterval) async -> Bool {
            simulator.faults.inject(.dropAnswer)
            executor.submit(intents)
            guard await ExactlyOnceOutageTests.eventually({ placed(intents[0].clOrdId) == 1 }) else { return false }
            simulator.faults.startOutage(seconds: seconds)
            return await ExactlyOnceOutageTests.eventually { executor.unresolvedOrders == 1 }
        }

        /// How many orders with `clOrdId` reached the simulator.
        func placed(_ clOrdId: String) -> Int { simulator.account.allOrders().filter { $0.clOrdId == clOrdId }.count }

        func run(_ intents: [OrderIntent]) async throws -> (placed: [String: Int], records: [JournalRecord]) {
            for intent in intents { try await journal.append([.intent(intent)]) }
            executor.submit(intents)
            await executor.waitUntilIdle()
            let placed = Dictionary(grouping: simulator.account.allOrders(), by: \.clOrdId).mapValues(\.count)
            return (placed, try JournalReader.read(directory: directory, allowTornTail: false).records)
        }

        /// The last record of `clOrdId` after its intent.
        func final(_ records: [JournalRecord], _ clOrdId: String) -> String? {
            records.last { $0["clOrdId"] == .string(clOrdId) }.map { record in
                record.type == "order.update" ? "order.update:\(record["state"]?.stringValue ?? "")" : record.type
            }
        }
    }

    static func intent(_ name: String) -> OrderIntent {
        OrderIntent(
            signalId: name,
            ruleId: "r",
            request: OrderRequest(
                instId: "BTC-USDT",
                clOrdId: ClOrdId.make(source: "test", signalId: name, ruleId: "r", orderIndex: 0),
                side: .buy,
                ordType: .market,
                sz: 50,
                tgtCcy: "quote_ccy"
            )
        )
    }

    @Test(arguments: [
        ("dropAnswer", SimulatedFault.dropAnswer, 1, "order.update:filled"),
        ("serverError placed", SimulatedFault.serverError(placed: true), 1, "order.update:filled"),
        ("serverError not placed", SimulatedFault.serverError(placed: false), 1, "order.update:filled"),
        ("busy", SimulatedFault.busy, 1, "order.update:filled"),
        ("rateLimited", SimulatedFault.rateLimited, 1, "order.update:filled"),
    ])
    func eachFaultEndsInExactlyOneOrder(_ name: String, _ fault: SimulatedFault, _ expectedOrders: Int, _ expectedFinal: String) async throws {
        let h = try Harness()
        defer { try? FileManager.default.removeItem(atPath: h.directory) }
        h.simulator.faults.inject(fault, count: 2)
        let intents = [Self.intent("\(name)-1"), Self.intent("\(name)-2"), Self.intent("\(name)-3")]
        let (placed, records) = try await h.run(intents)
        for intent in intents {
            #expect(placed[intent.clOrdId] == expectedOrders, "\(name): \(intent.clOrdId) placed \(placed[intent.clOrdId] ?? 0) times")
            #expect(h.final(records, intent.clOrdId) == expectedFinal, "\(name)")
        }
        #expect(JournalReplay(records: records, since: .distantPast).openOrders.isEmpty)
        #expect(h.executor.book.open.isEmpty)
    }

    @Test func persistentRateLimitingAbandonsWithoutPlacing() async throws {
        let h = try Harness()
        defer { try? FileManager.default.removeItem(atPath: h.directory) }
        h.simulator.faults.inject(.rateLimited, count: 4)
        let intent = Self.intent("throttled")
        let (placed, records) = try await h.run([intent])
        #expect(placed[intent.clOrdId] == nil)
        #expect(h.final(records, intent.clOrdId) == "order.abandoned")
    }

    @Test func anUnplacedOrderPastTheResubmitWindowIsAbandoned() async throws {
        let h = try Harness(resubmitWindow: 0)
        defer { try? FileManager.default.removeItem(atPath: h.directory) }
        h.simulator.faults.inject(.serverError(placed: false))
        let intent = Self.intent("late")
        let (placed, records) = try await h.run([intent])
        #expect(placed[intent.clOrdId] == nil)
        #expect(h.final(records, intent.clOrdId) == "order.abandoned")
        #expect(records.last?["reason"]?.stringValue?.contains("resubmit window") == true)
    }

    @Test func aRequestThatArrivesAfterItsExpTimeIsDiscarded() async throws {
        let h = try Harness()
        defer { try? FileManager.default.removeItem(atPath: h.directory) }
        h.simulator.faults.setLatency(.milliseconds(400))
        let intent = Self.intent("slow")
        let (placed, records) = try await h.run([intent])
        #expect(placed[intent.clOrdId] == nil)
        #expect(h.final(records, intent.clOrdId) == "order.reject")
        #expect(records.last?["sCode"] == .string("50037"))
    }

    @Test func theClientKeepsToSixtyOrdersPerTwoSecondsPerInstrument() async throws {
        let h = try Harness()
        defer { try? FileManager.default.removeItem(atPath: h.directory) }
        let intents = (0..<65).map { Self.intent("burst-\($0)") }
        let (placed, records) = try await h.run(intents)
        // Had the executor sent them all at once, the simulator would have refused five with 50011.
        #expect(placed.count == 65 && placed.values.allSatisfy { $0 == 1 })
        #expect(!records.contains { $0.type == "order.abandoned" })
    }

    @Test func aFullQueueBlocksDecisions() async throws {
        let simulator = Simulator(credentials: .random())
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("queue-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (journal, _) = try Journal.open(directory: directory, logger: Logger(label: "test"))
        let executor = OrderExecutor(
            exchange: SimulatorExchange(simulator: simulator),
            journal: journal,
            logger: Logger(label: "test"),
            maxQueuedPerInstrument: 2
        )
        simulator.faults.setLatency(.milliseconds(200))
        executor.submit([Self.intent("q1"), Self.intent("q2")])
        #expect(!executor.hasRoom(for: "BTC-USDT"))
        #expect(executor.hasRoom(for: "ETH-USDT"))
        var market = MarketSnapshot()
        market.instruments = Dictionary(uniqueKeysWithValues: simulator.account.instruments().map { ($0.instId, $0) })
        let rules = try RuleSet(
            rules: { () throws -> [Rule] in
                guard
                    case .success(let rules) = RuleParser.parse(
                        try JSONParser.parse(
                            #"{"rules":[{"id":"r","source":"s","when":{"pointer":"/x","exists":false},"orders":[{"instId":"BTC-USDT","side":"buy","ordType":"market","size":{"quote":"10"}}]}]}"#
                        ),
                        file: "r.json"
                    )
                else { return [] }
                return rules
            }(),
            files: []
        )
        let decider = Decider(
            rules: rules,
            guards: GlobalGuards(risk: RiskSettings(), killSwitchEngaged: false, queueHasRoom: { executor.hasRoom(for: $0) }),
            builder: OrderBuilder(market: market, now: Date(), maxPriceAgeSeconds: 60)
        )
        let decision = decider.decide(signalId: "x", source: "s", payload: .object(JSONObject()), ledger: RiskLedger())[0]
        #expect(decision.outcome == .blocked && decision.reason.hasPrefix("execution queue"))
        await executor.waitUntilIdle()
        #expect(executor.hasRoom(for: "BTC-USDT"))
    }
}
