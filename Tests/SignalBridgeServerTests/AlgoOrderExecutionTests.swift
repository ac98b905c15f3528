import Foundation
import Logging
import Testing

@testable import OKXSimulator
@testable import SignalBridgeCore
@testable import SignalBridgeServer

/// Algo orders through the real executor, journal and simulator (issue 13): placed once under their deterministic
/// `algoClOrdId`, an unknown outcome looked up by it and never posted blindly, followed until the order they place
/// when triggered is final, with that order linked in the journal and the report, and canceled by the kill switch.
@Suite struct AlgoOrderExecutionTests {
    typealias Setup = ExactlyOnceTests.Harness

    static func stop(_ name: String, trigger: Decimal = 58000) -> OrderIntent {
        let algo = AlgoOrderRequest(
            instId: "BTC-USDT",
            algoClOrdId: ClOrdId.make(source: "test", signalId: name, ruleId: "r", orderIndex: 0),
            side: .sell,
            ordType: .trigger,
            sz: Decimal(string: "0.01")!,
            tgtCcy: "base_ccy",
            triggerPx: trigger,
            orderPx: AttachedAlgo.market
        )
        return OrderIntent(signalId: name, ruleId: "r", algo: algo)
    }

    /// The order follower of `s`'s book and journal, its REST catch-up a minute apart (tests call it themselves).
    static func follower(_ s: Setup) -> OrderFollowService {
        OrderFollowService(
            exchange: SimulatorExchange(simulator: s.simulator),
            book: s.executor.book,
            journal: s.journal,
            logger: Logger(label: "t"),
            catchUpInterval: .seconds(60)
        )
    }

    /// How many algo orders with `algoClOrdId` reached the simulator.
    static func algos(_ simulator: Simulator, _ algoClOrdId: String) -> Int {
        (simulator.account.algos(live: true, ordTypes: []) + simulator.account.algos(live: false, ordTypes: [])).count {
            $0.algoClOrdId == algoClOrdId
        }
    }

    @Test func aStopIsPlacedOnceAndTheOrderItPlacesIsJournaledAndLinked() async throws {
        let s = try Setup()
        defer { try? FileManager.default.removeItem(atPath: s.directory) }
        let stop = Self.stop("stop")
        let signal = JournalEntry.signal(signalId: "stop", source: "test", remoteAddr: nil, bodySha256: "", receivedAt: nil, payload: .null)
        try await s.journal.append([signal])
        let (_, records) = try await s.run([stop])
        #expect(Self.algos(s.simulator, stop.clOrdId) == 1 && s.simulator.account.allOrders().isEmpty)
        let intent = try #require(records.first { $0.type == "algo.intent" })
        #expect(intent["algoClOrdId"] == .string(stop.clOrdId) && intent["request"] == stop.algo?.json)
        let ack = try #require(records.first { $0.type == "algo.ack" })
        let algoId = try #require(ack["algoId"]?.stringValue)
        #expect(s.executor.book.order(stop.clOrdId)?.isResting == true)

        // The price falls to the trigger: OKX places a market sell; the follower journals it, linked to the stop.
        s.simulator.account.setPrice("BTC-USDT", last: 58000)
        let placed = try #require(s.simulator.account.allOrders().first)
        let follower = Self.follower(s)
        await follower.catchUp()
        let update = try #require(s.records.last)
        #expect(update.type == "algo.update")
        #expect(update["algoClOrdId"] == .string(stop.clOrdId) && update["algoId"] == .string(algoId) && update["state"] == "effective")
        #expect(update["ordId"] == .string(placed.ordId) && update["ordState"] == "filled" && update["accFillSz"] == "0.01")
        #expect(update["avgPx"]?.decimalValue == placed.status.avgPx && update["feeCcy"] == "USDT")
        #expect(s.executor.book.order(stop.clOrdId) == nil, "final once the order it placed is filled")
        #expect(JournalReplay(records: s.records, since: .distantPast).openOrders.isEmpty)

        // The report shows the stop with the order it placed.
        var report = JournalReport()
        for record in s.records { report.add(record) }
        let order = try #require(report.rows.first?.orders.first)
        #expect(order.algoType == "trigger" && order.state == "filled")
        #expect(order.json["algoId"] == .string(algoId) && order.json["ordId"] == .string(placed.ordId) && order.json["algoState"] == "effective")
        // Journaled records read back to the same life (restart, replay).
        var lifecycle = OrderLifecycle()
        for record in s.records { if let (id, event) = OrderEvent.decode(record), id == stop.clOrdId { _ = lifecycle.apply(event) } }
        #expect(lifecycle.state == .filled && lifecycle.algo == AlgoProgress(state: "effective", ordId: placed.ordId, ordState: "filled"))
    }

    /// The `orders-algo` push (the simulator's in process; OKX's business WebSocket) journals the trigger at once,
    /// with REST a minute away.
    @Test func theAlgoFeedJournalsTheTriggerWithoutWaitingForREST() async throws {
        let s = try Setup()
        defer { try? FileManager.default.removeItem(atPath: s.directory) }
        let stop = Self.stop("pushed")
        _ = try await s.run([stop])
        let exchange = SimulatorExchange(simulator: s.simulator)
        let follower = Self.follower(s)
        let feed = try #require(exchange.algoFeed())
        let following = Task {
            await follower.keepFollowing("algo order feed") { try await feed.follow(connected: $0, update: { await follower.apply($0) }) }
        }
        defer { following.cancel() }
        // Connected once it has caught up: nothing new to journal then.
        #expect(await ExactlyOnceOutageTests.eventually { s.simulator.account.algoObserverCount > 0 })
        s.simulator.account.setPrice("BTC-USDT", last: 57990)
        #expect(await ExactlyOnceOutageTests.eventually { s.records.last?["ordState"] == "filled" })
        #expect(s.records.last?.type == "algo.update" && s.records.last?["state"] == "effective")
    }

    /// A stop whose limit order rests when triggered: the order feed's push of that order's fill (it carries the
    /// stop's `algoClOrdId`, no `clOrdId` of ours) journals the stop's final `algo.update` at once.
    @Test func theOrderFeedFollowsTheLimitOrderAStopPlaced() async throws {
        let s = try Setup()
        defer { try? FileManager.default.removeItem(atPath: s.directory) }
        var stop = Self.stop("limit")
        stop.algo?.orderPx = 58100
        stop = OrderIntent(signalId: "limit", ruleId: "r", algo: try #require(stop.algo))
        _ = try await s.run([stop])
        let exchange = SimulatorExchange(simulator: s.simulator)
        let follower = Self.follower(s)
        s.simulator.account.setPrice("BTC-USDT", last: 58000)
        let placed = try #require(s.simulator.account.allOrders().first)
        #expect(placed.state == "live" && placed.algoClOrdId == stop.clOrdId)
        await follower.catchUp()
        #expect(s.records.last?["state"] == "effective" && s.records.last?["ordState"] == "live")
        let following = Task { await follower.follow(try! #require(exchange.orderFeed())) }
        defer { following.cancel() }
        #expect(await ExactlyOnceOutageTests.eventually { s.simulator.account.observerCount > 0 })
        s.simulator.account.setPrice("BTC-USDT", last: 58200)
        #expect(await ExactlyOnceOutageTests.eventually { s.records.last?["ordState"] == "filled" })
        #expect(s.records.last?.type == "algo.update" && s.records.last?["ordId"] == .string(placed.ordId))
        #expect(s.executor.book.order(stop.clOrdId) == nil)
    }

    @Test func aLostAnswerIsLookedUpByAlgoClOrdIdAndNeverPostedTwice() async throws {
        let s = try Setup()
        defer { try? FileManager.default.removeItem(atPath: s.directory) }
        let stop = Self.stop("lost")
        s.simulator.faults.inject(.dropAnswer)
        let (_, records) = try await s.run([stop])
        #expect(Self.algos(s.simulator, stop.clOrdId) == 1)
        #expect(records.map(\.type) == ["algo.intent", "algo.unknown", "algo.ack", "algo.update"], "\(records.map(\.type))")
        #expect(!records.contains { $0.type == "algo.retry" })
    }

    @Test func aRequestTheExchangeNeverTookIsSentAgainUnderTheSameAlgoClOrdId() async throws {
        let s = try Setup()
        defer { try? FileManager.default.removeItem(atPath: s.directory) }
        let stop = Self.stop("refused")
        s.simulator.faults.inject(.serverError(placed: false))
        let (_, records) = try await s.run([stop])
        #expect(Self.algos(s.simulator, stop.clOrdId) == 1)
        #expect(records.map(\.type) == ["algo.intent", "algo.unknown", "algo.retry", "algo.ack", "algo.update"], "\(records.map(\.type))")
    }

    /// A restart after a crash between the send and its journaled answer: the stop the previous run placed is found
    /// by its `algoClOrdId` and acknowledged; nothing is sent again.
    @Test func aRestartFindsTheStopThePreviousRunPlaced() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("algo-restart-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let simulator = Simulator(credentials: .random())
        let stop = Self.stop("crashed")
        _ = await SimulatorExchange(simulator: simulator).place(stop, expiresAt: Date().addingTimeInterval(5))
        let report = try await ExactlyOnceOutageTests.restart(directory: directory, simulator: simulator, previousRun: [[.intent(stop)]])
        #expect(report.checked == 1 && report.resubmitted == 0)
        #expect(Self.algos(simulator, stop.clOrdId) == 1)
        let records = try JournalReader.read(directory: directory, allowTornTail: false).records
        #expect(records.map(\.type) == ["algo.intent", "algo.ack", "algo.update"], "\(records.map(\.type))")
        #expect(JournalReplay(records: records, since: .distantPast).openOrders.map(\.state) == [.live])
    }

    @Test func theKillSwitchCancelsALiveStop() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("algo-kill-\(UUID())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let kill = folder + "/KILL"
        let s = try Setup(directory: folder + "/journal", killSwitchFile: kill)
        let stop = Self.stop("killed")
        _ = try await s.run([stop])
        #expect(FileManager.default.createFile(atPath: kill, contents: Data()))
        await s.executor.cancelRestingOrders()
        #expect(s.simulator.account.algo(algoId: nil, algoClOrdId: stop.clOrdId)?.state == "canceled")
        let last = try #require(s.records.last)
        #expect(last.type == "algo.update" && last["state"] == "canceled")
        #expect(s.executor.book.order(stop.clOrdId) == nil)
        s.simulator.account.setPrice("BTC-USDT", last: 57000)
        #expect(s.simulator.account.allOrders().isEmpty, "a canceled stop places nothing")
    }
}
