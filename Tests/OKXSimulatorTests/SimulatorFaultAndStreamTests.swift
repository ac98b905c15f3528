import Foundation
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import Logging
import NIOCore
import NIOWebSocket
import Synchronization
import Testing

@testable import OKXClient
@testable import OKXSimulator
@testable import SignalBridgeCore

/// A simulator on an ephemeral loopback port, with a signed client for it.
struct LiveSimulator {
    static let credentials = SimulatorCredentials(apiKey: "k", secretKey: Secret("s3cret"), passphrase: Secret("p"))

    static func run(
        clientTimeout: TimeAmount = .seconds(2),
        _ body: @escaping @Sendable (_ simulator: Simulator, _ client: OKXRestClient, _ port: Int) async throws -> Void
    ) async throws {
        let simulator = Simulator(credentials: credentials)
        let app = simulator.application(host: "127.0.0.1", port: 0, logger: Logger(label: "sim"))
        try await app.test(.live) { test in
            let port = try #require(test.port)
            let client = OKXRestClient(
                baseURL: "http://127.0.0.1:\(port)",
                credentials: OKXCredentials(apiKey: Secret(credentials.apiKey), secretKey: credentials.secretKey, passphrase: credentials.passphrase),
                demo: true,
                requestTimeout: clientTimeout,
                logger: Logger(label: "client")
            )
            try await body(simulator, client, port)
        }
    }
}

@Suite struct SimulatorFaultTests {
    func order(_ id: String) -> OrderRequest {
        OrderRequest(instId: "BTC-USDT", clOrdId: id, side: .buy, ordType: .market, sz: 100, tgtCcy: "quote_ccy")
    }
    var soon: Date { Date().addingTimeInterval(10) }

    @Test func everyFaultKindOverHTTP() async throws {
        try await LiveSimulator.run { simulator, client, _ in
            simulator.faults.inject(.dropAnswer)
            guard case .unknown = await client.place(order("drop1"), expiresAt: soon) else {
                Issue.record("dropAnswer: expected unknown")
                return
            }
            #expect(simulator.account.order(instId: "BTC-USDT", ordId: nil, clOrdId: "drop1")?.state == "filled")

            simulator.faults.inject(.serverError(placed: true))
            guard case .unknown = await client.place(order("err1"), expiresAt: soon) else {
                Issue.record("5xx: expected unknown")
                return
            }
            #expect(simulator.account.order(instId: "BTC-USDT", ordId: nil, clOrdId: "err1") != nil)

            simulator.faults.inject(.serverError(placed: false))
            guard case .unknown = await client.place(order("err2"), expiresAt: soon) else {
                Issue.record("5xx: expected unknown")
                return
            }
            #expect(simulator.account.order(instId: "BTC-USDT", ordId: nil, clOrdId: "err2") == nil)

            simulator.faults.inject(.rateLimited, count: 2)
            #expect(await client.place(order("rl1"), expiresAt: soon) == .notPlaced(reason: "OKX 50011: Too Many Requests"))
            #expect(await client.place(order("rl1"), expiresAt: soon) == .notPlaced(reason: "OKX 50011: Too Many Requests"))
            guard case .accepted = await client.place(order("rl1"), expiresAt: soon) else {
                Issue.record("expected the third to pass")
                return
            }

            simulator.faults.inject(.busy)
            guard case .unknown = await client.place(order("busy1"), expiresAt: soon) else {
                Issue.record("50013: expected unknown")
                return
            }
            #expect(simulator.account.order(instId: "BTC-USDT", ordId: nil, clOrdId: "busy1") == nil)
        }
    }

    /// `{"kind": "outage", "seconds": N}`: every REST request answers HTTP 503 and WebSockets are refused, in
    /// process and over HTTP, until the outage ends.
    @Test func anOutageAnswers503UntilItEnds() async throws {
        try await LiveSimulator.run { simulator, client, _ in
            simulator.faults.startOutage(seconds: 1)
            await #expect(throws: ExchangeError.self) { try await client.serverTime() }
            guard case .unknown = await client.place(order("out1"), expiresAt: soon) else {
                Issue.record("an order during an outage: expected unknown")
                return
            }
            #expect(simulator.account.order(instId: "BTC-USDT", ordId: nil, clOrdId: "out1") == nil)
            let inProcess = SimulatorExchange(simulator: simulator)
            await #expect(throws: ExchangeError.self) { try await inProcess.order(instId: "BTC-USDT", clOrdId: "out1") }
            await #expect(throws: ExchangeError.self) { try await SimulatorOrderFeed(simulator: simulator).follow(connected: {}, update: { _ in }) }
            while simulator.faults.isDown { try await Task.sleep(for: .milliseconds(50)) }
            #expect(abs(try await client.serverTime().timeIntervalSinceNow) < 5)
            guard case .accepted = await client.place(order("out2"), expiresAt: soon) else {
                Issue.record("after the outage: expected accepted")
                return
            }
        }
    }

    @Test func latencyBeyondTheClientTimeoutMakesTheOutcomeUnknown() async throws {
        try await LiveSimulator.run(clientTimeout: .milliseconds(300)) { simulator, client, _ in
            simulator.faults.setLatency(.milliseconds(800))
            guard case .unknown = await client.place(order("slow1"), expiresAt: soon) else {
                Issue.record("expected unknown")
                return
            }
            simulator.faults.reset()
            _ = try await client.instruments()
        }
    }

    @Test func theOrderRateLimitIs60Per2SecondsPerInstrument() async throws {
        let exchange = SimulatorExchange(simulator: Simulator(credentials: LiveSimulator.credentials))
        for i in 0..<60 {
            guard case .accepted = await exchange.place(order("r\(i)"), expiresAt: soon) else {
                Issue.record("order \(i) refused")
                return
            }
        }
        #expect(await exchange.place(order("r60"), expiresAt: soon) == .notPlaced(reason: "OKX 50011: Too Many Requests"))
        let eth = OrderRequest(instId: "ETH-USDT", clOrdId: "e1", side: .buy, ordType: .market, sz: 100, tgtCcy: "quote_ccy")
        guard case .accepted = await exchange.place(eth, expiresAt: soon) else {
            Issue.record("another instrument has its own limit")
            return
        }
    }

    @Test func batchesCancelsPendingAndFills() async throws {
        try await LiveSimulator.run { simulator, client, _ in
            let orders = [
                OrderRequest(instId: "BTC-USDT", clOrdId: "b1", side: .buy, ordType: .limit, sz: Decimal(string: "0.001")!, px: 50000),
                OrderRequest(instId: "BTC-USDT", clOrdId: "b2", side: .buy, ordType: .limit, sz: Decimal(string: "0.000001")!, px: 50000),
                order("b3"),
            ]
            let outcomes = await client.placeBatch(orders, expiresAt: soon)
            guard outcomes.count == 3, case .accepted = outcomes[0], case .accepted = outcomes[2] else {
                Issue.record("\(outcomes)")
                return
            }
            #expect(outcomes[1] == .rejected(sCode: "51020", sMsg: "Your order should meet or exceed the minimum order amount."))
            let tooMany = await client.placeBatch((0..<21).map { order("x\($0)") }, expiresAt: soon)
            #expect(tooMany.allSatisfy { $0 == .rejected(sCode: "51111", sMsg: "Maximum 20 orders can be placed in bulk") })

            #expect(try await client.pendingOrders(instId: "BTC-USDT").map(\.clOrdId) == ["b1"])
            let fills = try await client.fills(instId: "BTC-USDT")
            #expect(fills.count == 1 && fills[0].clOrdId == "b3" && fills[0].fee < 0)
            try await client.cancel(instId: "BTC-USDT", clOrdId: "b1")
            #expect(try await client.pendingOrders().isEmpty)
            #expect(try await client.order(instId: "BTC-USDT", clOrdId: "b1")?.state == "canceled")
            await #expect(throws: ExchangeError.self) { try await client.cancel(instId: "BTC-USDT", clOrdId: "b1") }

            #expect(try await client.accountLevel() == 1)
            simulator.account.accountLevel = 2
            #expect(try await client.accountLevel() == 2)
            #expect(try await client.tickers().map(\.instId) == ["BTC-USDT", "ETH-USDT", "SOL-USDT"])
            #expect(abs(try await client.serverTime().timeIntervalSinceNow) < 5)
        }
    }
}

@Suite struct SimulatorWebSocketTests {
    /// The login message OKX documents, signed with `secret` at `time`.
    static func login(secret: String, time: Date = Date()) -> String {
        let timestamp = String(Int(time.timeIntervalSince1970))
        let sign = OKXSignature.sign(timestamp: timestamp, method: "GET", requestPath: "/users/self/verify", body: [], secret: Secret(secret))
        return #"{"op":"login","args":[{"apiKey":"k","passphrase":"p","timestamp":"\#(timestamp)","sign":"\#(sign)"}]}"#
    }

    @Test func loginSubscribePushPingAndDisconnect() async throws {
        try await LiveSimulator.run { simulator, _, port in
            let seen = Mutex<[String]>([])
            let closed = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/ws/v5/private", logger: Logger(label: "ws")) {
                inbound,
                outbound,
                _ in
                var messages = inbound.messages(maxSize: 1 << 16).makeAsyncIterator()
                func next() async throws -> String {
                    guard case .text(let text)? = try await messages.next() else { return "" }
                    seen.withLock { $0.append(text) }
                    return text
                }
                let subscribe = #"{"id":"s1","op":"subscribe","args":[{"channel":"orders","instType":"SPOT"}]}"#
                try await outbound.write(.text(subscribe))
                #expect(try await next().contains(#""code":"60011""#))
                try await outbound.write(.text(Self.login(secret: "wrong")))
                #expect(try await next().contains(#""code":"60007""#))
                try await outbound.write(.text(Self.login(secret: "s3cret", time: Date().addingTimeInterval(-40))))
                #expect(try await next().contains(#""code":"60006""#))
                try await outbound.write(.text(Self.login(secret: "s3cret")))
                #expect(try await next().hasPrefix(#"{"event":"login","code":"0""#))
                try await outbound.write(.text(subscribe))
                #expect(try await next().hasPrefix(#"{"event":"subscribe","arg":{"channel":"orders","instType":"SPOT"}"#))
                try await outbound.write(.text("ping"))
                #expect(try await next() == "pong")

                _ = try simulator.account.place(
                    OrderRequest(instId: "BTC-USDT", clOrdId: "ws1", side: .buy, ordType: .limit, sz: Decimal(string: "0.001")!, px: 50000)
                )
                let live = try JSONParser.parse(try await next())
                #expect(live[try JSONPointer("/arg/channel")] == .string("orders"))
                #expect(live[try JSONPointer("/data/0/clOrdId")] == .string("ws1"))
                #expect(live[try JSONPointer("/data/0/state")] == .string("live"))
                #expect(live[try JSONPointer("/data/0/avgPx")] == .string("0"))
                simulator.account.setPrice("BTC-USDT", last: 49000)
                let filled = try JSONParser.parse(try await next())
                #expect(filled[try JSONPointer("/data/0/state")] == .string("filled"))
                #expect(filled[try JSONPointer("/data/0/accFillSz")] == .string("0.001"))
                #expect(filled[try JSONPointer("/data/0/execType")] == .string("M"))
                #expect(filled[try JSONPointer("/data/0/tradeId")]?.stringValue?.isEmpty == false)

                simulator.faults.disconnectWebSockets()
                while try await messages.next() != nil {}
            }
            #expect(closed?.closeCode == .goingAway)
            #expect(seen.withLock { $0.count } == 8)
        }
    }
}
