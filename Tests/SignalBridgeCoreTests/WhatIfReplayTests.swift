import Foundation
import Logging
import Testing

@testable import SignalBridgeCore

/// `journal replay`: decisions journaled with their market inputs are decided again exactly; a change in the rules
/// shows with both versions; a signal journaled without inputs is not replayable.
@Suite struct WhatIfReplayTests {
    static let rules = """
        {"rules": [
          {"id": "buy", "source": "tv", "when": {"pointer": "/action", "eq": "buy"}, "cooldownSeconds": 60,
           "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"quote": "100"}}]},
          {"id": "bid", "source": "tv", "when": {"pointer": "/action", "eq": "bid"},
           "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "limit", "size": {"base": "0.001"},
                       "price": {"from": "bid", "offsetBps": -10}}]},
          {"id": "all-in", "source": "tv", "when": {"pointer": "/action", "eq": "all-in"},
           "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"percentOfAvailable": 50}}]}
        ]}
        """

    /// A journal written the way the intake writes it (``SignalBatch``'s entries), for `actions` sent `gap` seconds
    /// apart; the ticker is `tickerAge` seconds old at each signal.
    static func journal(
        _ actions: [String],
        rules: RuleSet,
        gap: TimeInterval = 30,
        tickerAge: TimeInterval = 2,
        killSwitch: Bool = false
    ) -> [JournalRecord] {
        var ledger = RiskLedger()
        var entries: [(Date, JournalEntry)] = []
        for (index, action) in actions.enumerated() {
            let now = Fixture.now.addingTimeInterval(Double(index) * gap + 0.000_250)
            var market = Fixture.market()
            market.tickerFetchedAt["BTC-USDT"] = now.addingTimeInterval(-tickerAge)
            market.balances = ["USDT": 1234.5]
            market.balancesFetchedAt = now.addingTimeInterval(-1.5)
            let decider = Decider(
                rules: rules,
                guards: GlobalGuards(risk: RiskSettings(), killSwitchEngaged: killSwitch),
                builder: OrderBuilder(market: market, now: now, maxPriceAgeSeconds: 5)
            )
            let payload: JSONValue = ["action": .string(action)]
            let signalId = "s\(index)"
            let decisions = decider.decide(signalId: signalId, source: "tv", payload: payload, ledger: ledger)
            decisions.compactMap { $0.usage(at: now) }.forEach { ledger.record($0) }
            entries.append((now, .signal(signalId: signalId, source: "tv", remoteAddr: nil, bodySha256: "00", receivedAt: now, payload: payload)))
            for decision in decisions {
                entries.append((now, .decision(signalId: signalId, decision, ruleSetHash: rules.hash)))
                if decision.outcome == .order {
                    for order in decision.orders {
                        entries.append((now, .intent(OrderIntent(signalId: signalId, ruleId: decision.ruleId ?? "", request: order.request))))
                    }
                }
            }
        }
        var records: [JournalRecord] = []
        for (time, entry) in entries {
            let prev = records.last.map { Hex.sha256($0.line.utf8) } ?? JournalRecord.genesis
            // The record is written a little after the decision, as the journal does.
            records.append(JournalRecord.make(entry, seq: records.count + 1, ts: Timestamp.format(time.addingTimeInterval(0.004)), prev: prev))
        }
        return records
    }

    static func replay(_ records: [JournalRecord], rules: RuleSet, risk: RiskSettings = Self.risk) -> ([WhatIfReplay.Outcome], WhatIfReplay.Summary) {
        var replay = WhatIfReplay(rules: rules, risk: risk, signalBotSources: [])
        var outcomes = records.compactMap { replay.add($0) }
        if let last = replay.finish() { outcomes.append(last) }
        return (outcomes, replay.summary)
    }

    static var risk: RiskSettings {
        var risk = RiskSettings()
        risk.maxPriceAgeSeconds = 5
        return risk
    }

    @Test func theRulesInForceChangeNothing() throws {
        let rules = try Fixture.rules(Self.rules)
        // buy, then buy again inside the cooldown (blocked), a limit from the bid, sizing from the balance, no match.
        let records = Self.journal(["buy", "buy", "bid", "all-in", "sell", "buy"], rules: rules)
        let (outcomes, summary) = Self.replay(records, rules: rules)
        #expect(outcomes.count == 6)
        #expect(outcomes.allSatisfy { !$0.changed && $0.notReplayable == nil }, "\(outcomes.filter(\.changed))")
        #expect(outcomes[1].original.first?.outcome == "blocked")
        #expect(outcomes[1].replayed.first?.reason.hasPrefix("cooldownSeconds") == true)
        #expect(outcomes[3].original.first?.orders.first?.sz == Decimal(string: "617.2"))
        #expect(summary.signals == 6 && summary.changed == 0 && summary.originalOrders == 4 && summary.replayedOrders == 4)
    }

    @Test func theDecisionRecordCarriesItsMarketInputs() throws {
        let rules = try Fixture.rules(Self.rules)
        let records = Self.journal(["bid", "all-in"], rules: rules)
        let decisions = records.filter { $0.type == "decision" }
        let market = try #require(decisions[0]["market"]?.objectValue?["BTC-USDT"]?.objectValue)
        #expect(market["bidPx"] == "59999.9" && market["askPx"] == "60000.1" && market["last"] == "60000")
        #expect(market["ageMs"] == 2000 && market["tickSz"] == "0.1")
        let balance = try #require(decisions[1]["balances"]?.objectValue?["USDT"]?.objectValue)
        #expect(balance["available"] == "1234.5" && balance["ageMs"] == 1500)
        #expect(records.first { $0.type == "signal" }?["receivedAt"] == .string(Timestamp.format(Fixture.now)))
    }

    @Test func aChangedSizeShowsBothVersions() throws {
        let records = Self.journal(["buy"], rules: try Fixture.rules(Self.rules))
        let bigger = try Fixture.rules(Self.rules.replacingOccurrences(of: #"{"quote": "100"}"#, with: #"{"quote": "250"}"#))
        let (outcomes, summary) = Self.replay(records, rules: bigger)
        #expect(outcomes[0].changed)
        #expect(outcomes[0].original[0].orders[0].sz == 100 && outcomes[0].replayed[0].orders[0].sz == 250)
        #expect(summary.changed == 1)
        #expect(summary.notional["BTC-USDT"]?.original == 100 && summary.notional["BTC-USDT"]?.replayed == 250)
        let row = WhatIfReplay.listing(outcomes).rows[0]
        #expect(row[0] == "*" && row[4].contains("buy 100 BTC-USDT") && row[5].contains("buy 250 BTC-USDT"))
    }

    @Test func aChangedPriceConditionAndGuardShow() throws {
        let records = Self.journal(["bid", "sell", "buy", "buy"], rules: try Fixture.rules(Self.rules))
        let changed = try Fixture.rules(
            Self.rules.replacingOccurrences(of: #""offsetBps": -10"#, with: #""offsetBps": -50"#)
                .replacingOccurrences(of: #""eq": "buy"}, "cooldownSeconds": 60"#, with: #""in": ["buy", "sell"]}, "cooldownSeconds": 10"#)
        )
        let (outcomes, _) = Self.replay(records, rules: changed)
        // The limit price moves with the offset from the same journaled bid.
        #expect(outcomes[0].original[0].orders[0].px == Decimal(string: "59939.9"))
        #expect(outcomes[0].replayed[0].orders[0].px == Decimal(string: "59699.9"))
        // "sell" now matches the buy rule, whose market order needs a ticker; the original decision (no rule matched)
        // read none, so it cannot be decided again: not replayable, not a change.
        #expect(outcomes[1].notReplayable?.contains("the ticker of BTC-USDT") == true && !outcomes[1].changed)
        // Under a 10 s cooldown, the second buy 30 s later is no longer blocked.
        #expect(outcomes[3].original[0].outcome == "blocked" && outcomes[3].replayed[0].outcome == "order" && outcomes[3].changed)
    }

    @Test func aStalePriceAndTheKillSwitchAreReplayedAsTheyWere() throws {
        let rules = try Fixture.rules(Self.rules)
        let stale = Self.journal(["buy", "bid"], rules: rules, tickerAge: 6)
        let (outcomes, _) = Self.replay(stale, rules: rules)
        #expect(outcomes.allSatisfy { $0.original[0].outcome == "order" || $0.original[0].outcome == "blocked" })
        #expect(outcomes[1].original[0].outcome == "blocked" && !outcomes[1].changed && outcomes[1].notReplayable == nil)
        let killed = Self.journal(["buy"], rules: rules, killSwitch: true)
        #expect(killed.first { $0.type == "decision" }?["killSwitch"] == true)
        let (again, _) = Self.replay(killed, rules: rules)
        #expect(again[0].original[0].reason.hasPrefix("kill switch") && !again[0].changed)
        // A looser age limit would have priced the stale ticker: a change, both versions shown.
        var looser = Self.risk
        looser.maxPriceAgeSeconds = 10
        let (priced, _) = Self.replay(stale, rules: rules, risk: looser)
        #expect(priced[1].changed && priced[1].replayed[0].outcome == "order")
    }

    @Test func severalRulesDryRunsExitsAndSignalBotMessagesReplayUnchanged() throws {
        let rules = try Fixture.rules(
            """
            {"rules": [
              {"id": "a", "source": "tv", "when": {"pointer": "/action", "eq": "both"},
               "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "limit", "size": {"base": "0.001"}, "price": {"from": "bid", "offsetBps": -5},
                           "takeProfit": {"trigger": {"offsetPercent": "3"}, "order": "market"}, "stopLoss": {"trigger": {"offsetPercent": "-2"}, "order": "market"}}]},
              {"id": "b", "source": "tv", "when": {"pointer": "/action", "eq": "both"}, "dryRun": true,
               "orders": [{"instId": "ETH-USDT", "side": "sell", "ordType": "market", "size": {"base": "0.01"}},
                          {"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"quote": "20"}}]}
            ]}
            """
        )
        var records = Self.journal(["both", "both"], rules: rules)
        // A Signal Bot message, decided and journaled the same way, while the instrument list holds BTC-USDT only.
        var market = Fixture.market()
        market.instruments = ["BTC-USDT": Fixture.btc]
        market.tickerFetchedAt["BTC-USDT"] = Fixture.now.addingTimeInterval(100)
        let now = Fixture.now.addingTimeInterval(101)
        let bot: JSONValue = ["action": "ENTER_LONG", "instrument": "BTCUSDT", "investmentType": "margin", "amount": "50"]
        let decisions = Decider(
            rules: rules,
            guards: GlobalGuards(risk: RiskSettings(), killSwitchEngaged: false),
            builder: OrderBuilder(market: market, now: now, maxPriceAgeSeconds: 5)
        ).decide(signalId: "bot1", source: "bot", payload: bot, ledger: RiskLedger(), signalBot: true)
        #expect(decisions.first?.outcome == .order)
        var entries: [JournalEntry] = [.signal(signalId: "bot1", source: "bot", remoteAddr: nil, bodySha256: "00", receivedAt: now, payload: bot)]
        entries += decisions.map { .decision(signalId: "bot1", $0, ruleSetHash: rules.hash) }
        entries += decisions.flatMap { decision in
            decision.orders.map { .intent(OrderIntent(signalId: "bot1", ruleId: decision.ruleId ?? "", request: $0.request)) }
        }
        for entry in entries {
            records.append(JournalRecord.make(entry, seq: records.count + 1, ts: Timestamp.format(now), prev: Hex.sha256(records.last!.line.utf8)))
        }
        var replay = WhatIfReplay(rules: rules, risk: Self.risk, signalBotSources: ["bot"])
        var outcomes = records.compactMap { replay.add($0) }
        if let last = replay.finish() { outcomes.append(last) }
        #expect(outcomes.count == 3)
        #expect(
            outcomes.allSatisfy { !$0.changed && $0.notReplayable == nil },
            "\(outcomes.map { ($0.signalId, $0.notReplayable ?? "", $0.replayed.map(\.text)) })"
        )
        #expect(outcomes[0].original.map(\.outcome) == ["order", "dryRun"])
        #expect(outcomes[0].original[0].orders.first?.attached != nil)
    }

    @Test func aSignalJournaledWithoutInputsIsNotReplayable() throws {
        let rules = try Fixture.rules(Self.rules)
        let records = Self.journal(["buy", "sell"], rules: rules).map { record -> JournalRecord in
            guard record.type == "decision" else { return record }
            var old = record
            old.object = JSONObject(record.object.members.filter { $0.key != "market" }.map { ($0.key, $0.value) })
            return old
        }
        let changed = try Fixture.rules(Self.rules.replacingOccurrences(of: #"{"quote": "100"}"#, with: #"{"quote": "250"}"#))
        let (outcomes, summary) = Self.replay(records, rules: changed)
        #expect(outcomes.allSatisfy { $0.notReplayable != nil && !$0.changed })
        #expect(summary.notReplayable == 2 && summary.changed == 0)
        #expect(outcomes[0].json.objectValue?["changed"] == false && outcomes[0].json.objectValue?["notReplayable"] != nil)
    }

    @Test func sinceReportsLaterSignalsButCountsEarlierOrders() throws {
        let rules = try Fixture.rules(Self.rules)
        let records = Self.journal(["buy", "buy"], rules: rules)
        var replay = WhatIfReplay(rules: rules, risk: Self.risk, signalBotSources: [], since: Fixture.now.addingTimeInterval(10))
        var outcomes = records.compactMap { replay.add($0) }
        if let last = replay.finish() { outcomes.append(last) }
        #expect(outcomes.map(\.signalId) == ["s1"])
        // The earlier buy, not reported, still sets off the cooldown.
        #expect(outcomes[0].replayed[0].outcome == "blocked" && !outcomes[0].changed)
    }
}

/// The journal a real intake writes, across a restart, replays without a change: the intake decides at the time it
/// journals (`receivedAt`, to the millisecond), and a restart's risk ledger counts from that same time.
@Suite struct WhatIfReplayOfTheIntakeTests {
    static let rules = #"""
        {"rules": [{"id": "buy", "source": "tv", "when": {"pointer": "/action", "eq": "buy"}, "cooldownSeconds": 60, "maxOrdersPerDay": 3,
          "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "limit", "size": {"base": "0.001"}, "price": {"fixed": "50000"}}]}]}
        """#

    static func intake(directory: String, since: Date) throws -> (SignalIntake, Journal, BridgeConfiguration) {
        let configuration = try BridgeConfiguration.parse(
            try JSONParser.parse(
                #"""
                {"sources": [{"name": "tv", "auth": {"scheme": "token", "in": "body", "pointer": "/token", "secretEnv": "TV_TOKEN"},
                              "idPointer": "/id"}],
                 "journal": {"directory": "\#(directory)"}}
                """#
            ),
            baseDirectory: URL(fileURLWithPath: directory),
            environment: ["TV_TOKEN": "t0ken"]
        )
        var replay = JournalReplay(since: since)
        let journal = try Journal.open(directory: directory, logger: Logger(label: "test"), read: replay.item, visit: { replay.apply($0) })
        let market = MarketData()
        market.update(instruments: [Fixture.btc])
        let intake = SignalIntake(
            configuration: configuration,
            rules: try Fixture.rules(Self.rules),
            replay: replay,
            journal: journal,
            market: market,
            dispatcher: RecordingDispatcher(),
            logger: Logger(label: "test")
        )
        return (intake, journal, configuration)
    }

    @Test func aRestartedIntakesJournalReplaysUnchanged() async throws {
        let directory = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A whole millisecond, so that the offsets below fall either side of one.
        let start = try #require(Timestamp.journalTime(Timestamp.format(Date().addingTimeInterval(-600)).utf8))
        func send(_ intake: SignalIntake, _ id: String, at offset: TimeInterval) async throws -> String {
            let body = #"{"id":"\#(id)","token":"t0ken","action":"buy"}"#
            let request = InboundRequest(sourceName: "tv", headers: [], body: Array(body.utf8), remoteAddress: nil, receivedAt: start + offset)
            let answer = try await intake.handle(request).get()
            return answer.body.objectValue?["decisions"]?.arrayValue?.first?.objectValue?["outcome"]?.stringValue ?? ""
        }
        // Offsets below a millisecond either side of the cooldown's end, and a restart between them.
        var (intake, journal, configuration) = try Self.intake(directory: directory, since: start.addingTimeInterval(-3600))
        #expect(try await send(intake, "a", at: 0.0009) == "order")
        #expect(try await send(intake, "b", at: 59.9995) == "blocked")
        await journal.close()
        (intake, journal, configuration) = try Self.intake(directory: directory, since: start.addingTimeInterval(-3600))
        #expect(try await send(intake, "c", at: 60.0004) == "order")
        #expect(try await send(intake, "d", at: 119.9999) == "blocked")
        #expect(try await send(intake, "e", at: 120.0008) == "order")
        await journal.close()

        let records = try JournalReader.read(directory: directory, allowTornTail: false).records
        var replay = WhatIfReplay(rules: try Fixture.rules(Self.rules), risk: configuration.risk, signalBotSources: [])
        var outcomes = records.compactMap { replay.add($0) }
        if let last = replay.finish() { outcomes.append(last) }
        #expect(outcomes.count == 5)
        #expect(outcomes.allSatisfy { !$0.changed && $0.notReplayable == nil }, "\(outcomes.filter { $0.changed }.map(\.replayed))")
    }
}
