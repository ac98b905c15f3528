import Foundation
import Testing

@testable import SignalBridgeCore

/// Every event in every state of the order lifecycle, as a table.
@Suite struct OrderLifecycleTests {
    static let t1 = Date(timeIntervalSince1970: 1_795_600_000)
    static let t2 = t1.addingTimeInterval(10)

    /// A way to reach each state.
    static let reach: [OrderState: [OrderEvent]] = [
        .pending: [],
        .unknown: [.unknown(expTime: t1)],
        .live: [.ack(ordId: "1")],
        .partiallyFilled: [.ack(ordId: "1"), update("partially_filled")],
        .filled: [.ack(ordId: "1"), update("filled")],
        .canceled: [.ack(ordId: "1"), update("canceled")],
        .rejected: [.reject(sCode: "51008", sMsg: "no money")],
        .abandoned: [.abandoned(reason: "r")],
        .failed: [.ack(ordId: "1"), update("order_failed")],
    ]

    static func update(_ state: String) -> OrderEvent {
        .update(ordId: "1", state: state, accFillSz: state == "live" ? 0 : 1, avgPx: 100, fee: 0, feeCcy: "BTC")
    }

    static let events: [(String, OrderEvent)] = [
        ("intent", .intent), ("unknown", .unknown(expTime: t2)), ("retry", .retry(expTime: t2)), ("ack", .ack(ordId: "9")),
        ("live", update("live")), ("partially_filled", update("partially_filled")), ("filled", update("filled")),
        ("canceled", update("canceled")), ("reject", .reject(sCode: "51008", sMsg: "m")), ("abandoned", .abandoned(reason: "r")),
        ("order_failed", update("order_failed")),
    ]

    typealias Outcome = (OrderState, OrderLifecycle.Action)

    /// What each event does in each state that is not final; a final state takes no event.
    static let table: [OrderState: [String: Outcome]] = {
        let updates: [String: Outcome] = [
            "live": (.live, .follow), "partially_filled": (.partiallyFilled, .follow), "filled": (.filled, .settle),
            "canceled": (.canceled, .settle), "reject": (.rejected, .settle), "abandoned": (.abandoned, .settle),
            "order_failed": (.failed, .settle),
        ]
        func row(_ extra: [String: Outcome]) -> [String: Outcome] { updates.merging(extra) { $1 } }
        return [
            .pending: row([
                "intent": (.pending, .send), "unknown": (.unknown, .lookUp(notBefore: t2)), "retry": (.unknown, .none), "ack": (.live, .follow),
            ]),
            .unknown: row([
                "intent": (.unknown, .none), "unknown": (.unknown, .lookUp(notBefore: t2)), "retry": (.unknown, .none), "ack": (.live, .follow),
            ]),
            .live: row(["intent": (.live, .none), "unknown": (.live, .follow), "retry": (.live, .follow), "ack": (.live, .follow)]),
            .partiallyFilled: row([
                "intent": (.partiallyFilled, .none), "unknown": (.partiallyFilled, .follow), "retry": (.partiallyFilled, .follow),
                "ack": (.partiallyFilled, .follow),
                // A report of less than is known (an older REST answer after a push) changes nothing.
                "live": (.partiallyFilled, .follow),
            ]),
        ]
    }()

    @Test(arguments: OrderState.allCases)
    func everyEventInEveryState(_ state: OrderState) throws {
        let prefix = try #require(Self.reach[state])
        #expect(OrderLifecycle.folding(prefix).state == state)
        for (name, event) in Self.events {
            var lifecycle = OrderLifecycle.folding(prefix)
            let action = lifecycle.apply(event)
            if state.isFinal {
                #expect(lifecycle == OrderLifecycle.folding(prefix) && action == .none, "\(state) + \(name)")
            } else {
                let expected = try #require(Self.table[state]?[name], "\(state) + \(name) is in the table")
                #expect(lifecycle.state == expected.0 && action == expected.1, "\(state) + \(name): \(lifecycle.state), \(action)")
            }
        }
    }

    @Test func theLatestExpTimeAndTheFillsAreKept() {
        let later = Self.t2.addingTimeInterval(5)
        var lifecycle = OrderLifecycle.folding([.intent, .unknown(expTime: later), .retry(expTime: Self.t2)])
        #expect(lifecycle.latestExpTime == later)
        #expect(lifecycle.apply(.unknown(expTime: Self.t1)) == .lookUp(notBefore: later))
        _ = lifecycle.apply(.ack(ordId: "7"))
        _ = lifecycle.apply(.update(ordId: "7", state: "partially_filled", accFillSz: Decimal(string: "0.4"), avgPx: 101, fee: 0, feeCcy: "BTC"))
        #expect(lifecycle.apply(.update(ordId: nil, state: "filled", accFillSz: 1, avgPx: 100, fee: 1, feeCcy: "")) == .settle)
        #expect(lifecycle.ordId == "7" && lifecycle.filledSize == 1 && lifecycle.averagePrice == 100 && lifecycle.feeCurrency == "BTC")
    }

    @Test func journalRecordsDecodeToEvents() async throws {
        let entries: [(JournalEntry, OrderEvent)] = [
            (.ack(clOrdId: "c", ordId: "1"), .ack(ordId: "1")),
            (.reject(clOrdId: "c", sCode: "51008", sMsg: "m"), .reject(sCode: "51008", sMsg: "m")),
            (.abandoned(clOrdId: "c", reason: "r"), .abandoned(reason: "r")),
            (.unknown(clOrdId: "c", error: "e", expTime: Self.t1), .unknown(expTime: Self.t1)),
            (.retry(clOrdId: "c", attempt: 2, expTime: Self.t2, reason: "r"), .retry(expTime: Self.t2)),
        ]
        for (index, (entry, event)) in entries.enumerated() {
            let record = JournalRecord.make(entry, seq: index + 1, ts: Timestamp.format(Self.t1), prev: JournalRecord.genesis)
            let decoded = try #require(OrderEvent.decode(record))
            #expect(decoded.clOrdId == "c" && decoded.event == event)
        }
        let signal = JournalRecord.make(.rejected(source: "s", status: 401, error: "e", remoteAddr: nil, bodySha256: nil), seq: 9, ts: "", prev: "")
        #expect(OrderEvent.decode(signal) == nil)
    }
}

/// The open-order book keeps each order's lifecycle: what the executor journals moves it, a report the lifecycle
/// already has is not news, and a final state takes the order off the book.
@Suite struct OpenOrderBookTests {
    static let intent = OrderIntent(
        signalId: "s",
        ruleId: "r",
        request: OrderRequest(instId: "BTC-USDT", clOrdId: "sbbook", side: .buy, ordType: .limit, sz: 1, px: 100)
    )

    static func status(_ state: String, filled: Decimal = 0) -> OrderStatus {
        OrderStatus(ordId: "7", clOrdId: "sbbook", instId: "BTC-USDT", state: state, accFillSz: filled, avgPx: nil, fee: 0, feeCcy: "BTC")
    }

    @Test func journaledEventsMoveTheLifecycleAndAFinalOneSettles() {
        let book = OpenOrderBook()
        book.track(OpenOrder(intent: Self.intent, intentTime: Date()))
        #expect(book.order("sbbook")?.state == .pending && book.order("sbbook")?.isResting == false)
        let expTime = Date(timeIntervalSince1970: 1_795_600_000)
        #expect(book.apply([.unknown(clOrdId: "sbbook", error: "timeout", expTime: expTime)]) == .lookUp(notBefore: expTime))
        #expect(book.order("sbbook")?.state == .unknown)
        book.apply([.ack(clOrdId: "sbbook", ordId: "7")])
        #expect(book.order("sbbook")?.isResting == true)
        // The ack says `live`: the same state pushed again is no news; a fill is, once.
        #expect(!book.claim(Self.status("live")))
        #expect(book.claim(Self.status("partially_filled", filled: Decimal(string: "0.5")!)))
        #expect(!book.claim(Self.status("partially_filled", filled: Decimal(string: "0.5")!)))
        #expect(book.order("sbbook")?.lifecycle.filledSize == Decimal(string: "0.5"))
        #expect(book.claim(Self.status("filled", filled: 1)))
        #expect(book.open.isEmpty && !book.claim(Self.status("filled", filled: 1)))
    }

    /// A lookup answer about another order is an error (looked up again), never taken as this order's state; one that
    /// names no clOrdId is about the order asked for.
    @Test func aLookupAnswerIsAboutTheOrderAskedFor() throws {
        var other = Self.status("filled", filled: 1)
        other.clOrdId = "someoneelse"
        #expect(throws: ExchangeError.self) { try OrderStatus.answering("sbbook", other) }
        other.clOrdId = ""
        #expect(try OrderStatus.answering("sbbook", other).clOrdId == "sbbook")
    }

    @Test func aTrackedOrderIsNotReplacedAndUntrackedOnesAreIgnored() {
        let book = OpenOrderBook()
        book.track(OpenOrder(intent: Self.intent, intentTime: Date()))
        book.apply([.ack(clOrdId: "sbbook", ordId: "7")])
        book.track(OpenOrder(intent: Self.intent, intentTime: Date()))
        #expect(book.order("sbbook")?.ordId == "7")
        #expect(book.apply(.ack(ordId: "8"), to: "other") == .none && book.open.count == 1)
        book.apply([.abandoned(clOrdId: "sbbook", reason: "r")])
        #expect(book.open.isEmpty)
    }
}

/// Every record type decodes once into its typed event, and a record missing what its type requires decodes to none.
@Suite struct JournalEventTests {
    static func record(_ entry: JournalEntry) -> JournalRecord {
        JournalRecord.make(entry, seq: 1, ts: "2026-12-01T00:00:00.000Z", prev: JournalRecord.genesis)
    }

    @Test func eachRecordTypeDecodes() throws {
        let intent = OpenOrderBookTests.intent
        #expect(JournalEvent.decode(Self.record(.intent(intent))) == .intent(intent))
        let signal = JournalEntry.signal(
            signalId: "s",
            source: "tv",
            remoteAddr: nil,
            bodySha256: "x",
            receivedAt: nil,
            payload: .object(JSONObject([]))
        )
        #expect(JournalEvent.decode(Self.record(signal)) == .signal(SignalKey(source: "tv", signalId: "s")))
        #expect(JournalEvent.decode(Self.record(.ack(clOrdId: "c", ordId: "1"))) == .order(clOrdId: "c", .ack(ordId: "1")))
        #expect(JournalEvent.decode(Self.record(.rejected(source: "tv", status: 401, error: "e", remoteAddr: nil, bodySha256: nil))) == .rejected)
        let decision = JournalEntry(
            .decision,
            [
                ("signalId", .string("s")), ("ruleId", .string("r")), ("outcome", .string("order")), ("reason", .string("ok")),
                ("clOrdId", .string("a")), ("clOrdIds", .array([.string("a"), .string("b")])), ("notional", .number("12.5")),
            ]
        )
        guard case .decision(let decoded)? = JournalEvent.decode(Self.record(decision)) else {
            Issue.record("a decision decodes")
            return
        }
        #expect(decoded.signalId == "s" && decoded.ruleId == "r" && decoded.ordered && decoded.clOrdIds == ["a", "b"] && decoded.notional == 12.5)
        #expect(JournalEvent.decode(Self.record(decision)).map(\.signalId) == "s")
    }

    @Test func aRecordWithoutWhatItsTypeNeedsDecodesToNone() {
        #expect(JournalEvent.decode(Self.record(JournalEntry(.signal, [("signalId", .string("s"))]))) == nil)
        var intent = JournalEntry.intent(OpenOrderBookTests.intent)
        intent.fields["clOrdId"] = .string("another")
        #expect(JournalEvent.decode(Self.record(intent)) == nil, "an intent whose clOrdId is not its request's")
        #expect(JournalEvent.decode(Self.record(JournalEntry(.orderAck, [("clOrdId", .string("c"))]))) == nil)
    }
}
