import Foundation
import HummingbirdWSClient
import Logging
import Synchronization
import Testing

@testable import OKXClient
@testable import OKXSimulator
@testable import SignalBridgeCore

/// Algo orders at the simulator (`order-algo`): a stop, a trailing stop and an OCO wait for the price, place their
/// order (carrying their `algoClOrdId`) when it comes, and can be looked up and canceled.
@Suite struct SimulatorAlgoOrderTests {
    static func body(_ fields: [(String, String)]) -> JSONObject {
        JSONObject([("instId", "BTC-USDT"), ("tdMode", "cash")] + fields.map { ($0.0, JSONValue.string($0.1)) })
    }

    @Test func aStopPlacesItsOrderWhenThePriceFallsToIt() throws {
        let account = SimulatedAccount()
        let stop = try account.placeAlgo(
            Self.body([
                ("side", "sell"), ("ordType", "trigger"), ("sz", "0.01"), ("triggerPx", "58000"), ("orderPx", "-1"), ("algoClOrdId", "st1"),
                ("ccy", ""),
            ])
        )
        #expect(stop.state == "live" && account.algo(algoId: nil, algoClOrdId: "st1")?.algoId == stop.algoId)
        account.setPrice("BTC-USDT", last: 59000)
        #expect(account.allOrders().isEmpty)
        account.setPrice("BTC-USDT", last: 58000)
        let fired = try #require(account.algo(algoId: stop.algoId, algoClOrdId: nil))
        let order = try #require(account.allOrders().first)
        #expect(fired.state == "effective" && fired.ordId == order.ordId)
        #expect(order.algoClOrdId == "st1" && order.request.side == .sell && order.request.ordType == .market && order.state == "filled")
    }

    @Test func aTrailingStopFollowsTheBestPriceAndFiresOnTheCallback() throws {
        let account = SimulatedAccount()
        let trail = try account.placeAlgo(
            Self.body([("side", "sell"), ("ordType", "move_order_stop"), ("sz", "0.01"), ("callbackRatio", "0.05"), ("activePx", "61000")])
        )
        account.setPrice("BTC-USDT", last: 57000)  // not active yet: nothing happens however low
        account.setPrice("BTC-USDT", last: 61000)  // active, best 61000
        account.setPrice("BTC-USDT", last: 64000)  // best 64000: fires at 60800 or below
        account.setPrice("BTC-USDT", last: 61000)
        #expect(account.algo(algoId: trail.algoId, algoClOrdId: nil)?.state == "live")
        account.setPrice("BTC-USDT", last: 60800)
        #expect(account.algo(algoId: trail.algoId, algoClOrdId: nil)?.state == "effective" && account.allOrders().count == 1)
    }

    @Test func anOCOTakesOneSideAndCancelingEndsAnAlgo() throws {
        let account = SimulatedAccount()
        let oco = try account.placeAlgo(
            Self.body([
                ("side", "sell"), ("ordType", "oco"), ("sz", "0.01"), ("tpTriggerPx", "62000"), ("tpOrdPx", "-1"), ("slTriggerPx", "58000"),
                ("slOrdPx", "57900"),
            ])
        )
        account.setPrice("BTC-USDT", last: 58000)
        let order = try #require(account.allOrders().first)
        #expect(order.request.ordType == .limit && order.request.px == 57900)
        #expect(account.algo(algoId: oco.algoId, algoClOrdId: nil)?.state == "effective")
        account.setPrice("BTC-USDT", last: 62000)
        #expect(account.allOrders().count == 1)
        let stop = try account.placeAlgo(
            Self.body([("side", "buy"), ("ordType", "trigger"), ("sz", "0.01"), ("triggerPx", "65000"), ("orderPx", "-1")])
        )
        #expect(try account.cancelAlgo(instId: "BTC-USDT", algoId: stop.algoId).state == "canceled")
        #expect(throws: SimulatedRejection.self) { try account.cancelAlgo(instId: "BTC-USDT", algoId: stop.algoId) }
        account.setPrice("BTC-USDT", last: 66000)
        #expect(account.allOrders().count == 1)
    }

    @Test func malformedAlgosAreRefusedWithOKXsCodes() {
        let account = SimulatedAccount()
        for fields in [
            [("side", "sell"), ("ordType", "trigger"), ("sz", "0.01"), ("triggerPx", "58000")],
            [("side", "sell"), ("ordType", "move_order_stop"), ("sz", "0.01"), ("callbackRatio", "0.05"), ("callbackSpread", "10")],
            [("side", "sell"), ("ordType", "oco"), ("sz", "0.01"), ("tpTriggerPx", "62000"), ("tpOrdPx", "-1")],
            [("side", "sell"), ("ordType", "trigger"), ("sz", "0.01"), ("triggerPx", "58000.05"), ("orderPx", "-1")],
            [("side", "sell"), ("ordType", "iceberg"), ("sz", "0.01")],
        ] {
            #expect(throws: SimulatedRejection.self) { try account.placeAlgo(Self.body(fields)) }
        }
    }
}

/// The `orders-algo` channel on `/ws/v5/business`: after login, a push for each algo order change; `orders` there is
/// 64001, as on OKX.
@Suite(.timeLimit(.minutes(1)))
struct SimulatorBusinessWebSocketTests {
    @Test func algoChangesArePushedOnTheBusinessEndpoint() async throws {
        try await LiveSimulator.run { simulator, _, port in
            let credentials = LiveSimulator.credentials
            let replies = Mutex<[JSONObject]>([])
            let placed = Mutex(false)
            try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/ws/v5/business", logger: Logger(label: "ws")) { inbound, outbound, _ in
                let login = OKXOrderStream.login(
                    OKXCredentials(apiKey: Secret(credentials.apiKey), secretKey: credentials.secretKey, passphrase: credentials.passphrase),
                    at: Date()
                )
                try await outbound.write(.text(login.jsonText))
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    guard case .text(let text) = message, let object = try JSONParser.parse(text).objectValue else { continue }
                    replies.withLock { $0.append(object) }
                    switch object["event"]?.stringValue {
                    case "login"?:
                        try await outbound.write(.text(#"{"op":"subscribe","args":[{"channel":"orders","instType":"SPOT"}]}"#))
                    case "error"?:
                        try await outbound.write(.text(#"{"op":"subscribe","args":[{"channel":"orders-algo","instType":"SPOT"}]}"#))
                    case "subscribe"?:
                        _ = try simulator.account.placeAlgo(
                            JSONObject([
                                ("instId", "BTC-USDT"), ("tdMode", "cash"), ("side", "sell"), ("ordType", "trigger"), ("sz", "0.01"),
                                ("triggerPx", "58000"), ("orderPx", "-1"), ("algoClOrdId", "ws1"),
                            ])
                        )
                        placed.withLock { $0 = true }
                        simulator.account.setPrice("BTC-USDT", last: 58000)
                    default:
                        let states = replies.withLock { $0.compactMap { $0["data"]?.arrayValue?.first?.objectValue?["state"]?.stringValue } }
                        if states.count == 2 { return }
                    }
                }
            }
            let all = replies.withLock { $0 }
            #expect(all.contains { $0["event"] == "error" && $0["code"] == "64001" })
            let pushes = all.compactMap { $0["data"]?.arrayValue?.first?.objectValue }
            #expect(pushes.map { $0["state"]?.stringValue ?? "" } == ["live", "effective"])
            #expect(pushes.allSatisfy { $0["algoClOrdId"] == "ws1" } && pushes.last?["ordId"]?.stringValue?.isEmpty == false)
            #expect(placed.withLock { $0 })
        }
    }
}

/// The bridge's own client of the business channel (``OKXAlgoOrderStream``, from ``OKXRestClient/algoFeed()``)
/// against the simulator: it logs in, subscribes to `orders-algo`, and reads each change as an ``AlgoStatus``.
@Suite(.timeLimit(.minutes(1)))
struct OKXAlgoOrderStreamTests {
    @Test func theClientFollowsAStopUntilItFires() async throws {
        try await LiveSimulator.run { simulator, _, port in
            let credentials = LiveSimulator.credentials
            let client = OKXRestClient(
                baseURL: "http://127.0.0.1:\(port)",
                credentials: OKXCredentials(apiKey: Secret(credentials.apiKey), secretKey: credentials.secretKey, passphrase: credentials.passphrase),
                demo: false,
                logger: Logger(label: "t")
            )
            let feed = try #require(client.algoFeed() as? OKXAlgoOrderStream)
            #expect(feed.url == "ws://127.0.0.1:\(port)/ws/v5/business")
            let seen = Mutex<[AlgoStatus]>([])
            let placed = Mutex<[PlacementOutcome]>([])
            let follow = Task {
                try await feed.follow(
                    connected: {
                        let stop = AlgoOrderRequest(
                            instId: "BTC-USDT",
                            algoClOrdId: "feed1",
                            side: .sell,
                            ordType: .trigger,
                            sz: Decimal(string: "0.01")!,
                            tgtCcy: "base_ccy",
                            triggerPx: 58000,
                            orderPx: AttachedAlgo.market
                        )
                        let outcome = await client.placeAlgo(stop, expiresAt: Date().addingTimeInterval(5))
                        placed.withLock { $0 = [outcome] }
                        simulator.account.setPrice("BTC-USDT", last: 58000)
                    },
                    update: { status in seen.withLock { $0.append(status) } }
                )
            }
            defer { follow.cancel() }
            while seen.withLock({ $0.count }) < 2 { try await Task.sleep(for: .milliseconds(10)) }
            let statuses = seen.withLock { $0 }
            #expect(statuses.map(\.progress.state) == ["live", "effective"] && statuses.allSatisfy { $0.algoClOrdId == "feed1" })
            #expect(placed.withLock { $0 } == [.accepted(ordId: statuses[0].algoId)])
            #expect(statuses.last?.progress.ordId == simulator.account.allOrders().first?.ordId)
            // And over REST: the lookup by algoClOrdId, and the order it placed by its ordId.
            let looked = try #require(try await client.algoOrder(instId: "BTC-USDT", algoClOrdId: "feed1"))
            #expect(looked.progress == AlgoProgress(state: "effective", ordId: statuses.last?.progress.ordId))
            #expect(try await client.order(instId: "BTC-USDT", ordId: looked.progress.ordId ?? "")?.state == "filled")
            #expect(try await client.algoOrder(instId: "BTC-USDT", algoClOrdId: "none") == nil)
        }
    }
}
