import Foundation
import Logging
import Testing

@testable import SignalBridgeCore

/// A fresh folder under the temporary directory, removed by the caller.
func temporaryFolder(_ name: String = "journal") -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite struct JournalTests {
    let logger = Logger(label: "test")

    @Test func recordsChainAndSurviveReopening() async throws {
        let directory = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (journal, existing) = try Journal.open(directory: directory, logger: logger)
        #expect(existing.isEmpty)
        let written = try await journal.append([.ack(clOrdId: "a", ordId: "1"), .reject(clOrdId: "b", sCode: "51008", sMsg: "no money")])
        #expect(written.map(\.seq) == [1, 2])
        #expect(written[0].prev == JournalRecord.genesis)
        #expect(written[1].prev == Hex.sha256(written[0].line.utf8))
        #expect(written[0].line.hasPrefix(#"{"seq":1,"ts":""#))
        // The first record of a batch of two or more says how many records the batch holds.
        #expect(written[0].line.hasSuffix(#","type":"order.ack","prev":"\#(JournalRecord.genesis)","batch":2,"clOrdId":"a","ordId":"1"}"#))
        #expect(!written[1].line.contains("batch"))
        await journal.close()

        let (reopened, records) = try Journal.open(directory: directory, logger: logger)
        #expect(records.map(\.line) == written.map(\.line))
        let more = try await reopened.append([.abandoned(clOrdId: "c", reason: "r")])
        #expect(more[0].seq == 3 && more[0].prev == Hex.sha256(written[1].line.utf8))
        await reopened.close()
        #expect(try JournalReader.read(directory: directory, allowTornTail: false).records.count == 3)
        #expect(FileManager.default.fileExists(atPath: directory + "/journal-000001.jsonl"))
    }

    /// A crash between write and fsync can leave part of a batch on disk (power loss keeps what the disk got):
    /// on start the whole batch is dropped with a log line, as never received; `journal verify` calls it damage.
    /// -1: exactly the last line, newline and all, is missing (only the count can tell).
    @Test(arguments: [1, 2, 40, -1])
    func aBatchOnlyPartlyOnDiskIsDroppedWhole(bytesLost: Int) async throws {
        let directory = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (journal, _) = try Journal.open(directory: directory, logger: logger)
        try await journal.append([.ack(clOrdId: "a", ordId: "1")])
        let batch = try await journal.append([.ack(clOrdId: "b", ordId: "2"), .ack(clOrdId: "c", ordId: "3"), .abandoned(clOrdId: "d", reason: "r")])
        await journal.close()
        let path = directory + "/journal-000001.jsonl"
        let size = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        // Lose the end of the batch's last line (1 or 2 bytes: a torn line) or that line and part of the one before.
        let lastLine = batch[2].line.utf8.count + 1
        let lost = bytesLost == 40 ? lastLine + 40 : bytesLost == -1 ? lastLine : bytesLost
        #expect(truncate(path, off_t(size - lost)) == 0)
        #expect(throws: JournalDamage.self) { try JournalReader.read(directory: directory, allowTornTail: false) }
        let (reopened, records) = try Journal.open(directory: directory, logger: logger)
        #expect(records.map(\.seq) == [1])
        let next = try await reopened.append([.ack(clOrdId: "e", ordId: "5")])
        #expect(next[0].seq == 2)
        await reopened.close()
        #expect(try JournalReader.read(directory: directory, allowTornTail: false).records.map(\.seq) == [1, 2])
    }

    @Test func aBatchEndingEarlyInTheMiddleIsDamage() throws {
        let directory = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Record 1 says its batch holds three records, but another batch begins at record 3.
        let ts = Timestamp.format(Date())
        var lines: [String] = []
        for (seq, batch) in [(1, 3), (2, nil), (3, 2), (4, nil)] as [(Int, Int?)] {
            let prev = lines.last.map { Hex.sha256($0.utf8) } ?? JournalRecord.genesis
            lines.append(JournalRecord.make(.ack(clOrdId: "c\(seq)", ordId: "\(seq)"), seq: seq, ts: ts, prev: prev, batch: batch).line)
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: directory + "/journal-000001.jsonl", atomically: true, encoding: .utf8)
        #expect(throws: JournalDamage.self) { try JournalReader.read(directory: directory, allowTornTail: true) }
    }

    @Test func concurrentAppendsShareFsyncsAndKeepOrder() async throws {
        let directory = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (journal, _) = try Journal.open(directory: directory, segmentLimit: 4096, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                group.addTask { try await journal.append([.ack(clOrdId: "c\(i)", ordId: "\(i)")]) }
            }
            try await group.waitForAll()
        }
        await journal.close()
        let contents = try JournalReader.read(directory: directory, allowTornTail: false)
        #expect(contents.records.map(\.seq) == Array(1...200))
        #expect(JournalReader.segments(in: directory).count > 1)
    }

    @Test func aSecondWriterIsRefused() throws {
        let directory = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (first, _) = try Journal.open(directory: directory, logger: logger)
        #expect(throws: JournalError.self) { try Journal.open(directory: directory, logger: self.logger) }
        _ = first
    }

    @Test func aTornLastLineIsTruncatedOnOpen() async throws {
        let directory = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (journal, _) = try Journal.open(directory: directory, logger: logger)
        try await journal.append([.ack(clOrdId: "a", ordId: "1")])
        await journal.close()
        let file = directory + "/journal-000001.jsonl"
        let handle = try #require(FileHandle(forWritingAtPath: file))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"seq":2,"ts":"2026-"#.utf8))
        handle.closeFile()
        #expect(throws: JournalDamage.self) { try JournalReader.read(directory: directory, allowTornTail: false) }
        let (reopened, records) = try Journal.open(directory: directory, logger: logger)
        #expect(records.count == 1)
        let next = try await reopened.append([.ack(clOrdId: "b", ordId: "2")])
        #expect(next[0].seq == 2)
        await reopened.close()
        #expect(try JournalReader.read(directory: directory, allowTornTail: false).records.count == 2)
    }

    @Test func tamperingIsFoundAndStopsTheStart() async throws {
        let directory = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (journal, _) = try Journal.open(directory: directory, logger: logger)
        try await journal.append([.ack(clOrdId: "a", ordId: "1"), .ack(clOrdId: "b", ordId: "2"), .ack(clOrdId: "c", ordId: "3")])
        await journal.close()
        let file = directory + "/journal-000001.jsonl"
        let text = try String(contentsOfFile: file, encoding: .utf8)
        try text.replacingOccurrences(of: #""ordId":"2""#, with: #""ordId":"9""#).write(toFile: file, atomically: true, encoding: .utf8)
        do {
            _ = try JournalReader.read(directory: directory, allowTornTail: false)
            Issue.record("expected damage")
        } catch {
            #expect(error.seq == 3 && error.lineNumber == 3)
            #expect(error.problem.contains("prev does not match"))
        }
        #expect(throws: JournalError.self) { try Journal.open(directory: directory, logger: self.logger) }
    }

    @Test func timestampsAreRFC3339UTCWithMilliseconds() {
        #expect(Timestamp.format(Date(timeIntervalSince1970: 1_607_418_537.715)) == "2020-12-08T09:08:57.715Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.parse("2020-12-08T09:08:57.715Z") != nil)
        #expect(Timestamp.parse("2020-12-08T10:08:57+01:00") == Date(timeIntervalSince1970: 1_607_418_537))
    }
}

@Suite struct DuplicateMemoryTests {
    /// Signals answered a day and more ago are still duplicates after a restart; those past 48 hours are forgotten.
    @Test func answeredSignalsAreRememberedAcrossRestartsForMoreThanADay() async throws {
        let directory = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let now = Date()
        for (id, age) in [("day-old", 30.0 * 3600), ("too-old", 49.0 * 3600)] {
            let (journal, _) = try Journal.open(directory: directory, logger: Logger(label: "test"), clock: { now.addingTimeInterval(-age) })
            try await journal.append([
                .signal(
                    signalId: id,
                    source: "tv",
                    remoteAddr: nil,
                    bodySha256: "",
                    receivedAt: nil,
                    payload: .object(JSONObject())
                ),
                .decision(signalId: id, .noRuleMatched, ruleSetHash: ""),
            ])
            await journal.close()
        }
        let records = try JournalReader.read(directory: directory, allowTornTail: false).records
        let replay = JournalReplay(records: records, since: now.addingTimeInterval(-SignalIntake.duplicateRetention))
        #expect(replay.answered.map(\.key.signalId) == ["day-old"])
        #expect(
            replay.answered[0].answer.jsonText == #"{"signalId":"day-old","decisions":[{"ruleId":null,"outcome":"skip","reason":"no rule matched"}]}"#
        )
    }
}

/// On start the journal is streamed into the replay: every line is checked, only what the windows and the open orders
/// need is parsed whole, and the replay keeps only that, with the same result as replaying every record.
@Suite struct JournalStreamingStartTests {
    static func signal(_ id: String) -> JournalEntry {
        .signal(
            signalId: id,
            source: "tv",
            remoteAddr: nil,
            bodySha256: "x",
            receivedAt: nil,
            payload: .object(JSONObject([]))
        )
    }

    static func decision(_ id: String, outcome: String, clOrdId: String? = nil) -> JournalEntry {
        var fields: [(String, JSONValue)] = [("signalId", .string(id)), ("ruleId", .string("r")), ("outcome", .string(outcome))]
        if let clOrdId { fields += [("clOrdIds", .array([.string(clOrdId)])), ("notional", .number("10"))] }
        return JournalEntry(.decision, fields)
    }

    static func intent(_ id: String) -> OrderIntent {
        OrderIntent(
            signalId: id,
            ruleId: "r",
            request: OrderRequest(instId: "BTC-USDT", clOrdId: "sb\(id)", side: .buy, ordType: .market, sz: 10, tgtCcy: "quote_ccy")
        )
    }

    @Test func startParsesOnlyWhatTheWindowsAndTheOpenOrdersNeed() async throws {
        let directory = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let old = Date().addingTimeInterval(-10 * 86400)
        do {
            let (journal, _) = try Journal.open(directory: directory, logger: Logger(label: "test"), clock: { old })
            try await journal.append([Self.signal("old-skip"), Self.decision("old-skip", outcome: "skip")])
            try await journal.append([
                Self.signal("old-filled"), Self.decision("old-filled", outcome: "order", clOrdId: "sbold-filled"), .intent(Self.intent("old-filled")),
            ])
            try await journal.append([.ack(clOrdId: "sbold-filled", ordId: "1")])
            try await journal.append([
                .update(
                    OrderStatus(
                        ordId: "1",
                        clOrdId: "sbold-filled",
                        instId: "BTC-USDT",
                        state: "filled",
                        accFillSz: 1,
                        avgPx: 10,
                        fee: 0,
                        feeCcy: "BTC"
                    )
                )
            ])
            try await journal.append([
                Self.signal("old-open"), Self.decision("old-open", outcome: "order", clOrdId: "sbold-open"), .intent(Self.intent("old-open")),
            ])
            await journal.close()
        }
        do {
            let (journal, _) = try Journal.open(directory: directory, logger: Logger(label: "test"), clock: { Date().addingTimeInterval(-3 * 86400) })
            try await journal.append([Self.signal("mid"), Self.decision("mid", outcome: "skip")])
            await journal.close()
        }
        do {
            let (journal, _) = try Journal.open(directory: directory, logger: Logger(label: "test"))
            try await journal.append([Self.signal("recent"), Self.decision("recent", outcome: "skip")])
            await journal.close()
        }
        let now = Date()
        let since = now.addingTimeInterval(-2 * 86400)
        let rememberSince = now.addingTimeInterval(-7 * 86400)
        var replay = JournalReplay(since: since, rememberSince: rememberSince)
        var parsed: [String] = []
        let journal = try Journal.open(directory: directory, logger: Logger(label: "test"), read: replay.item) { item in
            if case .record(let record) = item {
                parsed.append(record.type + ":" + (record["signalId"]?.stringValue ?? record["clOrdId"]?.stringValue ?? ""))
            }
            replay.apply(item)
        }
        await journal.close()
        // Signals and the old decision that ordered nothing are checked but never parsed; the rest is.
        #expect(!parsed.contains { $0.hasPrefix("signal:") } && !parsed.contains("decision:old-skip"))
        #expect(parsed.contains("decision:old-open") && parsed.contains("order.update:sbold-filled") && parsed.contains("decision:recent"))
        #expect(replay.openOrders.map(\.clOrdId) == ["sbold-open"])
        #expect(replay.answered.map(\.key.signalId) == ["recent"])
        // A signal older than the duplicate window but within the replay window: only its key, read from the bytes.
        #expect(replay.seen.map(\.key.signalId) == ["mid", "recent"] && !parsed.contains("signal:mid"))
        #expect(replay.ledger.lastOrder(ruleId: "r") != nil)
        let full = JournalReplay(
            records: try JournalReader.read(directory: directory, allowTornTail: false).records,
            since: since,
            rememberSince: rememberSince
        )
        #expect(full.openOrders == replay.openOrders && full.answered.map(\.key) == replay.answered.map(\.key))
        #expect(full.seen.map(\.key) == replay.seen.map(\.key))
        #expect(full.ledger.lastOrder(ruleId: "r") == replay.ledger.lastOrder(ruleId: "r"))
    }

    @Test func theJournalsOwnTimeShapeReadsAsTheParserReadsIt() throws {
        var texts = ["2026-12-01T23:59:59.999Z", "2000-02-29T00:00:00.000Z", "1970-01-01T00:00:00.000Z", "2100-03-01T12:30:45.123Z"]
        // Every millisecond of a second, where the two ways of counting could round apart.
        texts += (0..<1000).map { "2026-11-25T12:05:44." + String(repeating: "0", count: 3 - String($0).count) + String($0) + "Z" }
        for text in texts {
            let fast = try #require(Timestamp.journalTime(Array(text.utf8)))
            let parsed = try #require(Timestamp.parse(text))
            #expect(fast == parsed, "\(text)")
            #expect(Timestamp.format(fast) == text)
        }
        for text in ["2026-13-01T00:00:00.000Z", "2026-12-01T24:00:00.000Z", "2026-12-01 00:00:00.000Z", "2026-12-01T00:00:00Z"] {
            #expect(Timestamp.journalTime(Array(text.utf8)) == nil, "\(text)")
        }
    }
}

/// The risk ledger over a long history: usages older than two days age out (their rule's last order kept for long
/// cooldowns), and today's counts stay right across the compaction of its window.
@Suite struct RiskLedgerHistoryTests {
    @Test func aLongHistoryAgesOutAndTodayStaysRight() {
        var ledger = RiskLedger()
        let start = Date(timeIntervalSince1970: 1_795_000_000)
        // Ten days of an order every 5 minutes, alternating two rules.
        for index in 0..<(10 * 288) {
            let ruleId = index.isMultiple(of: 2) ? "a" : "b"
            ledger.record(RiskLedger.Usage(ruleId: ruleId, time: start.addingTimeInterval(TimeInterval(index * 300)), orders: 1, notional: 10))
        }
        let last = start.addingTimeInterval(TimeInterval((10 * 288 - 1) * 300))
        let dayStart = Date(timeIntervalSince1970: (last.timeIntervalSince1970 / 86400).rounded(.down) * 86400)
        let today = Int(last.timeIntervalSince(dayStart) / 300) + 1
        #expect(ledger.ordersToday(ruleId: "a", now: last) + ledger.ordersToday(ruleId: "b", now: last) == today)
        #expect(ledger.notionalToday(now: last) == Decimal(today * 10))
        #expect(ledger.lastOrder(ruleId: "b") == last)
        #expect(ledger.lastOrder(ruleId: "a") == last.addingTimeInterval(-300))
    }
}
