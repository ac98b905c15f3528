import Foundation
import Logging
import Synchronization
import Testing

@testable import OKXSimulator
@testable import SignalBridgeCore
@testable import SignalBridgeServer

/// The ways to lose or double an order that issue 10 lists, each against the real executor, journal and simulator:
/// an outage longer than a few lookups, a restart while a resend is in flight, the kill switch with orders queued,
/// and an exchange whose clock is ahead of ours.
@Suite struct ExactlyOnceOutageTests {
    typealias Setup = ExactlyOnceTests.Harness

    /// Whether `condition` holds within 10 s, asked every 10 ms.
    static func eventually(_ condition: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while !condition() {
            guard Date() < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    static func intent(_ name: String) -> OrderIntent { ExactlyOnceTests.intent(name) }

    /// Case 1: the answer is lost, then the exchange is down for longer than the five lookups of old (10 s then; a
    /// second here, against 20 ms backoff): the order is looked up until it answers, and the next order of the
    /// instrument waits for it.
    @Test func anUnknownOrderOutlivesAnOutageAndLaterOrdersWait() async throws {
        let s = try Setup(maxLookupBackoff: 0.1)
        defer { try? FileManager.default.removeItem(atPath: s.directory) }
        let first = Self.intent("lost")
        let second = Self.intent("next")
        try await s.journal.append([.intent(first), .intent(second)])
        // While the exchange is down the first order stays unresolved and is counted as such.
        #expect(await s.strandFirst(of: [first, second], outage: 3))
        await s.executor.waitUntilIdle()
        #expect(s.placed(first.clOrdId) == 1 && s.placed(second.clOrdId) == 1)
        let records = s.records
        let firstFilled = records.firstIndex { $0["clOrdId"] == .string(first.clOrdId) && $0["state"] == "filled" }
        let secondAcked = records.firstIndex { $0["clOrdId"] == .string(second.clOrdId) && $0.type == "order.ack" }
        #expect(firstFilled != nil && secondAcked != nil && firstFilled! < secondAcked!, "the second order waited for the first")
        #expect(s.executor.unresolvedOrders == 0)
        #expect(JournalReplay(records: records, since: .distantPast).openOrders.isEmpty)
    }

    /// Case 2: a restart while a resend is in flight. The journal says the resend was sent with a later `expTime`;
    /// the restarted executor waits for it, and when the in-flight request lands meanwhile, it finds that order and
    /// sends nothing. (Looking up at once, as before, found nothing, sent a third time, and the market order existed
    /// twice once the in-flight one landed.)
    @Test func aRestartWaitsForTheInFlightResend() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("inflight-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let simulator = Simulator(credentials: .random())
        let intent = Self.intent("inflight")
        // The in-flight resend lands 2 s before its expTime, on a Dispatch thread whatever the test load: after the
        // restart began (so a lookup at once finds nothing) and before the restarted executor may look it up.
        let expTime = Date().addingTimeInterval(6)
        DispatchQueue.global().asyncAfter(wallDeadline: .now() + 4) {
            _ = simulator.processOrderRequest([intent.request], expiresAt: expTime)
        }
        // The previous process: intent, a lost first answer, then a resend journaled and sent, still in flight.
        let report = try await Self.restart(
            directory: directory,
            simulator: simulator,
            previousRun: [
                [.intent(intent)], [.unknown(clOrdId: intent.clOrdId, error: "no answer", expTime: Date().addingTimeInterval(-5))],
                [.retry(clOrdId: intent.clOrdId, attempt: 1, expTime: expTime, reason: "resend")],
            ]
        )
        #expect(report.checked == 1 && report.resubmitted == 0)
        #expect(simulator.account.allOrders().filter { $0.clOrdId == intent.clOrdId }.count == 1)
        let final = try JournalReader.read(directory: directory, allowTornTail: false).records
        #expect(final.last?.type == "order.update" && final.last?["state"] == "filled")
    }

    /// Case 3: the kill switch is engaged while orders wait behind the rate limit: nothing more is sent, each
    /// waiting order ends `order.abandoned` with the reason, and releasing it lets orders through again.
    @Test func theKillSwitchStopsQueuedOrders() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kill-\(UUID())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let kill = folder + "/KILL"
        let s = try Setup(directory: folder + "/journal", requestLifetime: 2, killSwitchFile: kill)
        let intents = (0..<150).map { Self.intent("queued-\($0)") }
        try await s.journal.append(intents.map(JournalEntry.intent))
        s.executor.submit(intents)
        #expect(await Self.eventually { s.simulator.account.allOrders().count >= 10 })
        #expect(FileManager.default.createFile(atPath: kill, contents: Data()))
        let sentWhenEngaged = s.simulator.account.allOrders().count
        await s.executor.waitUntilIdle()
        let sent = s.simulator.account.allOrders().count
        // At most the one request already on its way when the file appeared.
        #expect(sent <= sentWhenEngaged + 1 && sent < 70, "\(sent) sent, \(sentWhenEngaged) when engaged")
        let records = s.records
        let abandoned = records.filter { $0.type == "order.abandoned" }
        #expect(abandoned.count == 150 - sent)
        #expect(abandoned.allSatisfy { $0["reason"]?.stringValue?.contains("kill switch") == true })
        #expect(JournalReplay(records: records, since: .distantPast).openOrders.isEmpty)

        try FileManager.default.removeItem(atPath: kill)
        let after = Self.intent("after-release")
        try await s.journal.append([.intent(after)])
        s.executor.submit([after])
        await s.executor.waitUntilIdle()
        #expect(s.placed(after.clOrdId) == 1)
    }

    /// A short engagement while the lane is blocked by an unresolved order (an outage): the orders queued behind it end
    /// `order.abandoned` at once, and none of them is sent once the switch is released and the exchange is back.
    @Test func ordersQueuedBehindABusyLaneEndWhenTheKillSwitchIsEngaged() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kill-busy-\(UUID())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let kill = folder + "/KILL"
        let s = try Setup(directory: folder + "/journal", maxLookupBackoff: 0.1, killSwitchFile: kill)
        let first = Self.intent("busy-first")
        let queued = (0..<10).map { Self.intent("busy-\($0)") }
        try await s.journal.append(([first] + queued).map(JournalEntry.intent))
        #expect(await s.strandFirst(of: [first] + queued, outage: 3))
        #expect(FileManager.default.createFile(atPath: kill, contents: Data()))
        await s.executor.abandonQueuedOrders()
        try FileManager.default.removeItem(atPath: kill)
        await s.executor.waitUntilIdle()
        #expect(s.placed(first.clOrdId) == 1)
        #expect(queued.allSatisfy { s.placed($0.clOrdId) == 0 })
        let records = s.records
        for intent in queued {
            let finals = records.filter { $0["clOrdId"] == .string(intent.clOrdId) && $0.type != "order.intent" }
            #expect(finals.map(\.type) == ["order.abandoned"] && finals[0]["reason"]?.stringValue?.contains("kill switch") == true)
        }
        #expect(JournalReplay(records: records, since: .distantPast).openOrders.isEmpty)
    }

    @Test func theKillSwitchCancelsRestingOrdersWhenAsked() async throws {
        let s = try Setup(requestLifetime: 2)
        defer { try? FileManager.default.removeItem(atPath: s.directory) }
        let resting = OrderIntent(
            signalId: "rest",
            ruleId: "r",
            request: OrderRequest(instId: "BTC-USDT", clOrdId: "sbresting", side: .buy, ordType: .limit, sz: Decimal(string: "0.001")!, px: 1000)
        )
        try await s.journal.append([.intent(resting)])
        s.executor.submit([resting])
        await s.executor.waitUntilIdle()
        #expect(s.simulator.account.order(instId: "BTC-USDT", ordId: nil, clOrdId: "sbresting")?.state == "live")
        await s.executor.cancelRestingOrders()
        #expect(s.simulator.account.order(instId: "BTC-USDT", ordId: nil, clOrdId: "sbresting")?.state == "canceled")
        #expect(s.records.last?.type == "order.update" && s.records.last?["state"] == "canceled")
        #expect(s.executor.book.open.isEmpty)
    }

    /// The restart wait in the exchange's clock when it was not measured before the lookups were queued: the exchange
    /// is 5 s behind us, so the in-flight resend lands after the journaled expTime has passed in our clock, but before
    /// it has in the exchange's. The first lookup finds nothing; the offset is measured then, and the order is looked
    /// up again once the deadline has passed in the exchange's clock: found, not sent a second time.
    @Test func aLookupThatFindsNothingWaitsForTheDeadlineInTheExchangesClock() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("offset-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let simulator = Simulator(credentials: .random(), clock: { Date().addingTimeInterval(-5) })
        let intent = Self.intent("behind")
        // In the exchange's clock: valid for 6 s more; in ours, its value is only 1 s away.
        let expTime = simulator.clock().addingTimeInterval(6)
        DispatchQueue.global().asyncAfter(wallDeadline: .now() + 4) {
            _ = simulator.processOrderRequest([intent.request], expiresAt: expTime)
        }
        let report = try await Self.restart(
            directory: directory,
            simulator: simulator,
            previousRun: [[.intent(intent), .retry(clOrdId: intent.clOrdId, attempt: 1, expTime: expTime, reason: "resend")]]
        )
        #expect(report.resubmitted == 0)
        #expect(simulator.account.allOrders().filter { $0.clOrdId == intent.clOrdId }.count == 1)
    }

    /// Journals `previousRun` (one append per element) as a process that then died, and reconciles what it left open
    /// with a new executor, started now.
    static func restart(directory: String, simulator: Simulator, previousRun: [[JournalEntry]]) async throws -> OrderExecutor.Report {
        do {
            let (journal, _) = try Journal.open(directory: directory, logger: Logger(label: "test"))
            for entries in previousRun { try await journal.append(entries) }
            await journal.close()
        }
        let (journal, records) = try Journal.open(directory: directory, logger: Logger(label: "test"))
        let executor = OrderExecutor(
            exchange: SimulatorExchange(simulator: simulator),
            journal: journal,
            logger: Logger(label: "test"),
            requestLifetime: 0.2,
            backoff: .milliseconds(20)
        )
        let report = await executor.reconcile(JournalReplay(records: records, since: .distantPast).openOrders, startedAt: Date())
        await journal.close()
        return report
    }

    /// The kill switch as the server watches it: a file that appears is noticed within the poll, and an order that
    /// comes to rest only after the engagement (here found live by the lookup of an order a previous run left
    /// unknown) is canceled on a later poll.
    @Test func theWatchedKillSwitchCancelsAnOrderThatComesToRestLater() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kill-watch-\(UUID())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let kill = folder + "/KILL"
        let s = try Setup(directory: folder + "/journal", requestLifetime: 0.2, killSwitchFile: kill)
        let resting = OrderIntent(
            signalId: "rest",
            ruleId: "r",
            request: OrderRequest(instId: "BTC-USDT", clOrdId: "sblater", side: .buy, ordType: .limit, sz: Decimal(string: "0.001")!, px: 1000)
        )
        // The previous run sent it and never heard back: on the exchange it rests; the journal calls it unknown.
        try await s.journal.append([.intent(resting), .unknown(clOrdId: "sblater", error: "timeout", expTime: Date())])
        _ = await SimulatorExchange(simulator: s.simulator).place(resting.request, expiresAt: Date().addingTimeInterval(5))
        let open = JournalReplay(records: s.records, since: .distantPast).openOrders
        #expect(open.map(\.state) == [.unknown])

        #expect(FileManager.default.createFile(atPath: kill, contents: Data()))
        let watch = Task {
            await ExecutionWatchService(
                executor: s.executor,
                cancelsOpenOrders: true,
                notifier: Notifier(targets: [], logger: Logger(label: "test"), metrics: BridgeMetrics()),
                logger: Logger(label: "test"),
                killSwitchInterval: .milliseconds(50)
            )
            .run()
        }
        defer { watch.cancel() }
        s.executor.enqueueReconciliation(open, startedAt: Date())
        #expect(await Self.eventually { s.simulator.account.order(instId: "BTC-USDT", ordId: nil, clOrdId: "sblater")?.state == "canceled" })
        #expect(await Self.eventually { s.records.last?["state"] == "canceled" })
        #expect(s.simulator.account.allOrders().count == 1)
    }

    /// An answer of the exchange's clock that cannot be a clock (an hour off: OKX itself refuses 30 s) is not
    /// believed; the last offset stays.
    @Test func anImpossibleClockOffsetIsRefused() async throws {
        let s = try Setup(simulator: Simulator(credentials: .random(), clock: { Date().addingTimeInterval(3600) }))
        defer { try? FileManager.default.removeItem(atPath: s.directory) }
        #expect(await s.executor.measureClockOffset() == nil)
        #expect(s.executor.exchangeClockOffset == 0)
    }

    /// An intent that waited longer than `maxQueueAge` for its first send (behind an outage) is not sent late.
    @Test func anIntentThatWaitedTooLongIsNotSentLate() async throws {
        // The blocker's unknown outcome holds the lane for its expTime (1 s) + 1 s: the next intent waits 2 s.
        let s = try Setup(requestLifetime: 1, maxQueueAge: 1)
        defer { try? FileManager.default.removeItem(atPath: s.directory) }
        let blocker = Self.intent("blocker")
        let late = Self.intent("late")
        try await s.journal.append([.intent(blocker), .intent(late)])
        s.simulator.faults.inject(.dropAnswer)
        s.executor.submit([blocker, late])
        await s.executor.waitUntilIdle()
        #expect(s.placed(blocker.clOrdId) == 1 && s.placed(late.clOrdId) == 0)
        #expect(s.records.last { $0["clOrdId"] == .string(late.clOrdId) }?["reason"]?.stringValue?.contains("waited") == true)
    }

    /// `expTime` and lookups follow the exchange's clock: with the exchange 5 s ahead, a request stamped by our
    /// clock would arrive expired (50037); measured, it is accepted.
    @Test func expTimeFollowsTheExchangesClock() async throws {
        let s = try Setup(simulator: Simulator(credentials: .random(), clock: { Date().addingTimeInterval(5) }), requestLifetime: 2)
        defer { try? FileManager.default.removeItem(atPath: s.directory) }
        let offset = try #require(await s.executor.measureClockOffset())
        #expect(abs(offset - 5) < 0.5)
        let intent = Self.intent("skewed")
        try await s.journal.append([.intent(intent)])
        s.executor.submit([intent])
        await s.executor.waitUntilIdle()
        #expect(s.placed(intent.clOrdId) == 1)
        #expect(s.records.last?["state"] == "filled")
    }
}
