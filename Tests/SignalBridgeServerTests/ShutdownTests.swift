import Foundation
import Logging
import Testing

@testable import OKXSimulator
@testable import SignalBridgeCore
@testable import SignalBridgeServer

/// `OrderExecutor.shutdown(grace:)`: what is being sent finishes, what is queued is left journaled, and the next
/// start sends each of those exactly once. (e2e/fault_test.py does the same with real processes and SIGTERM.)
@Suite(.timeLimit(.minutes(1))) struct ShutdownTests {
    typealias Setup = ExactlyOnceTests.Harness

    /// The intents of `names`, journaled.
    static func journaled(_ names: [String], in setup: Setup) async throws -> [OrderIntent] {
        let intents = names.map(ExactlyOnceTests.intent)
        try await setup.journal.append(intents.map(JournalEntry.intent))
        return intents
    }

    /// The order intent of signal `name` on `instId`.
    static func intent(_ name: String, instId: String) -> OrderIntent {
        var intent = ExactlyOnceTests.intent(name)
        intent.request.instId = instId
        return intent
    }

    /// A restart on the same journal and exchange: the open orders resolved as `serve` does on start.
    static func restart(_ previous: Setup) async throws -> Setup {
        let restarted = try Setup(directory: previous.directory, simulator: previous.simulator)
        let open = JournalReplay(records: restarted.records, since: .distantPast).openOrders
        _ = await restarted.executor.reconcile(open, startedAt: Date())
        return restarted
    }

    @Test func theOrderBeingSentFinishesAndTheQueuedAreSentOnceAfterTheNextStart() async throws {
        let s = try Setup(requestLifetime: 5)
        defer { try? FileManager.default.removeItem(atPath: s.directory) }
        let intents = try await Self.journaled(["a", "b", "c", "d"], in: s)
        s.simulator.faults.setLatency(.milliseconds(300))
        s.executor.submit(intents)
        // The first is being sent (no longer queued) while the other three wait behind it.
        #expect(await ExactlyOnceOutageTests.eventually { s.executor.queuedOrders == 3 })
        #expect(await s.executor.shutdown(grace: .seconds(10)) == 3)
        #expect(s.placed(intents[0].clOrdId) == 1)
        #expect(s.records.contains { $0.type == "order.ack" && $0["clOrdId"] == .string(intents[0].clOrdId) })
        #expect(intents.dropFirst().allSatisfy { s.placed($0.clOrdId) == 0 })
        // Submitted after shutdown began, on an instrument without a lane yet: not queued, no lane started (a second
        // shutdown waits for every lane there is), not sent in this run.
        let late = Self.intent("late", instId: "ETH-USDT")
        try await s.journal.append([.intent(late)])
        s.executor.submit([late])
        await s.executor.shutdown(grace: .seconds(10))
        #expect(s.placed(late.clOrdId) == 0 && s.executor.queueDepths.isEmpty)
        await s.executor.waitUntilIdle()
        await s.journal.close()

        s.simulator.faults.reset()
        let restarted = try await Self.restart(s)
        for intent in intents + [late] {
            #expect(s.placed(intent.clOrdId) == 1, "\(intent.signalId)")
        }
        #expect(JournalReplay(records: restarted.records, since: .distantPast).openOrders.isEmpty)
    }

    @Test func anOrderStillUnresolvedWhenTheGraceEndsIsLeftToTheNextStart() async throws {
        let s = try Setup(maxLookupBackoff: 0.1)
        defer { try? FileManager.default.removeItem(atPath: s.directory) }
        let intents = try await Self.journaled(["lost", "behind"], in: s)
        // Placed, but the answer is lost; then the exchange is down for far longer than the grace (and than the
        // suite's time limit): the lane is looking the first order up when shutdown begins.
        #expect(await s.strandFirst(of: intents, outage: 300))
        await s.executor.shutdown(grace: .milliseconds(300))
        #expect(s.records.contains { $0.type == "order.unknown" && $0["clOrdId"] == .string(intents[0].clOrdId) })
        #expect(s.placed(intents[0].clOrdId) == 1 && s.placed(intents[1].clOrdId) == 0)
        await s.journal.close()

        s.simulator.faults.reset()
        let restarted = try await Self.restart(s)
        // Found, not sent again; the one behind it sent once.
        #expect(s.placed(intents[0].clOrdId) == 1 && s.placed(intents[1].clOrdId) == 1)
        #expect(JournalReplay(records: restarted.records, since: .distantPast).openOrders.isEmpty)
    }

    @Test func aShutdownFromACancelledTaskDoesNotWaitForTheGrace() async throws {
        let s = try Setup(maxLookupBackoff: 0.1)
        defer { try? FileManager.default.removeItem(atPath: s.directory) }
        let intents = try await Self.journaled(["stuck"], in: s)
        #expect(await s.strandFirst(of: intents, outage: 300))
        // As when another service of the group fails: the executor's service is cancelled, not shut down gracefully.
        // A grace far beyond the suite's time limit: it must not be waited for.
        let shutdown = Task { _ = await s.executor.shutdown(grace: .seconds(3600)) }
        shutdown.cancel()
        await shutdown.value
        #expect(s.records.contains { $0.type == "order.unknown" && $0["clOrdId"] == .string(intents[0].clOrdId) })
    }
}
