import Foundation
import Logging
import Synchronization
import Testing

@testable import OKXClient
@testable import OKXSimulator
@testable import SignalBridgeCore

@Suite(.timeLimit(.minutes(1)))
struct OKXOrderStreamTests {
    @Test func webSocketURLsFollowTheRESTHost() {
        #expect(OKXOrderStream.url(forREST: "https://www.okx.com", demo: false) == "wss://ws.okx.com:8443/ws/v5/private")
        #expect(OKXOrderStream.url(forREST: "https://www.okx.com", demo: true) == "wss://wspap.okx.com:8443/ws/v5/private")
        #expect(OKXOrderStream.url(forREST: "https://us.okx.com", demo: false) == "wss://wsus.okx.com:8443/ws/v5/private")
        #expect(OKXOrderStream.url(forREST: "https://eea.okx.com", demo: true) == "wss://wseeapap.okx.com:8443/ws/v5/private")
        #expect(OKXOrderStream.url(forREST: "http://127.0.0.1:8081", demo: true) == "ws://127.0.0.1:8081/ws/v5/private")
    }

    @Test func theStreamLogsInSubscribesAndDeliversEveryChange() async throws {
        try await LiveSimulator.run { simulator, client, _ in
            let feed = try #require(client.orderFeed())
            let connected = Mutex(false)
            let seen = Mutex<[String]>([])
            let task = Task {
                try await feed.follow(
                    connected: { connected.withLock { $0 = true } },
                    update: { status in seen.withLock { $0.append("\(status.clOrdId):\(status.state)") } }
                )
            }
            defer { task.cancel() }
            for _ in 0..<100 where !connected.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(50)) }
            #expect(connected.withLock { $0 })
            _ = try simulator.account.place(
                OrderRequest(instId: "ETH-USDT", clOrdId: "st1", side: .sell, ordType: .limit, sz: Decimal(string: "0.01")!, px: 3100)
            )
            simulator.account.setPrice("ETH-USDT", last: 3200)
            for _ in 0..<100 where seen.withLock({ $0.count }) < 2 { try await Task.sleep(for: .milliseconds(50)) }
            #expect(seen.withLock { $0 } == ["st1:live", "st1:filled"])
            simulator.faults.disconnectWebSockets()
            _ = try await task.value
        }
    }

    @Test func aWrongSecretIsRefusedAtLogin() async throws {
        try await LiveSimulator.run { _, _, port in
            let stream = OKXOrderStream(
                url: "ws://127.0.0.1:\(port)/ws/v5/private",
                credentials: OKXCredentials(apiKey: Secret("k"), secretKey: Secret("wrong"), passphrase: Secret("p")),
                logger: Logger(label: "ws")
            )
            await #expect(throws: OKXOrderStream.StreamError.self) { try await stream.follow(connected: {}, update: { _ in }) }
        }
    }
}
