import Foundation
import Logging
import ServiceLifecycle
import Testing

@testable import OKXSimulator
@testable import SignalBridgeCore
@testable import SignalBridgeServer

@Suite(.timeLimit(.minutes(1)))
struct OrderFollowTests {
    /// Waits (bounded) until `condition` holds.
    static func eventually(_ condition: () throws -> Bool) async throws -> Bool {
        for _ in 0..<200 {
            if try condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try condition()
    }

    @Test func fillsArePushedAndMissedOnesCaughtUpAfterAReconnect() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("follow-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let simulator = Simulator(credentials: .random())
        let exchange = SimulatorExchange(simulator: simulator)
        let (journal, _) = try Journal.open(directory: directory, logger: Logger(label: "test"))
        let executor = OrderExecutor(exchange: exchange, journal: journal, logger: Logger(label: "test"))
        let follower = OrderFollowService(
            exchange: exchange,
            book: executor.book,
            journal: journal,
            logger: Logger(label: "test"),
            catchUpInterval: .seconds(60),
            maxBackoff: .milliseconds(200)
        )
        func bid(_ name: String, _ px: Decimal) -> OrderIntent {
            OrderIntent(
                signalId: name,
                ruleId: "r",
                request: OrderRequest(instId: "BTC-USDT", clOrdId: name, side: .buy, ordType: .limit, sz: Decimal(string: "0.001")!, px: px)
            )
        }
        func updates(_ clOrdId: String) throws -> [String] {
            try JournalReader.read(directory: directory, allowTornTail: false).records
                .filter { $0.type == "order.update" && $0["clOrdId"] == .string(clOrdId) }.compactMap { $0["state"]?.stringValue }
        }
        let task = Task { await follower.follow(exchange.orderFeed()!) }
        defer { task.cancel() }
        #expect(try await Self.eventually { simulator.account.observerCount == 1 })

        executor.submit([bid("pushed", 59000), bid("missed", 58000)])
        await executor.waitUntilIdle()
        #expect(executor.book.open.count == 2)
        simulator.account.setPrice("BTC-USDT", last: 58900)
        let lines = { (try? JournalReader.read(directory: directory, allowTornTail: false).records.map(\.line)) ?? [] }
        #expect(try await Self.eventually { try updates("pushed") == ["filled"] }, "\(lines())")

        simulator.faults.disconnectWebSockets()
        // The fill happens while the feed is away: only the REST catch-up after the reconnect can see it.
        #expect(try await Self.eventually { simulator.account.observerCount == 0 })
        simulator.account.setPrice("BTC-USDT", last: 57900)
        #expect(try await Self.eventually { try updates("missed") == ["filled"] })
        #expect(executor.book.open.isEmpty)
        let replay = JournalReplay(records: try JournalReader.read(directory: directory, allowTornTail: false).records, since: .distantPast)
        #expect(replay.openOrders.isEmpty)
    }
}
