import Foundation
import Logging
import Synchronization
import TestSupport
import Testing

@testable import SignalBridgeCore

/// Start reads the journal from the checkpoint on: what it rebuilds is what a full read rebuilds, a checkpoint that
/// cannot be trusted is ignored with a log line, and a new segment brings the checkpoint forward.
@Suite struct JournalCheckpointTests {
    typealias History = JournalStreamingStartTests
    static let segmentLimit = 2048

    /// A journal of several small segments, written over ten days: signals that ordered nothing, orders filled at
    /// once, one order acknowledged in an old segment and filled in the newest, one still open.
    static func writeHistory(in directory: String, now: Date = Date()) async throws {
        let ages: [TimeInterval] = [10 * 86400, 5 * 86400, 3 * 86400, 36 * 3600, 3600, 0]
        for (index, age) in ages.enumerated() {
            let (journal, _) = try Journal.open(
                directory: directory,
                segmentLimit: segmentLimit,
                logger: Logger(label: "test"),
                clock: { now.addingTimeInterval(-age) }
            )
            for n in 0..<6 {
                let id = "s\(index)-\(n)"
                try await journal.append([History.signal(id), History.decision(id, outcome: "skip")])
            }
            let ordered = "o\(index)"
            try await journal.append([
                History.signal(ordered), History.decision(ordered, outcome: "order", clOrdId: "sb\(ordered)"), .intent(History.intent(ordered)),
            ])
            try await journal.append([.ack(clOrdId: "sb\(ordered)", ordId: "\(index)")])
            if index != 1 && index != 4 { try await journal.append([.update(Self.filled("sb\(ordered)", ordId: "\(index)"))]) }
            if index == 5 { try await journal.append([.update(Self.filled("sbo1", ordId: "1"))]) }
            await journal.close()
        }
    }

    static func filled(_ clOrdId: String, ordId: String) -> OrderStatus {
        OrderStatus(ordId: ordId, clOrdId: clOrdId, instId: "BTC-USDT", state: "filled", accFillSz: 1, avgPx: 10, fee: 0, feeCcy: "BTC")
    }

    static func windows(_ now: Date = Date()) -> (since: Date, rememberSince: Date) {
        (now.addingTimeInterval(-2 * 86400), now.addingTimeInterval(-7 * 86400))
    }

    static func fullReplay(_ directory: String, since: Date, rememberSince: Date, through seq: Int = .max) throws -> JournalReplay {
        let records = try JournalReader.read(directory: directory, allowTornTail: false).records.filter { $0.seq <= seq }
        return JournalReplay(records: records, since: since, rememberSince: rememberSince)
    }

    static func open(_ directory: String, logger: Logger, windows: (since: Date, rememberSince: Date)) async throws -> JournalReplay {
        let (journal, replay) = try Journal.open(
            directory: directory,
            segmentLimit: segmentLimit,
            logger: logger,
            since: windows.since,
            rememberSince: windows.rememberSince
        )
        await journal.close()
        return replay
    }

    @Test func aStartFromTheCheckpointRebuildsWhatAFullReadDoesAndReadsNothingBeforeIt() async throws {
        let directory = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await Self.writeHistory(in: directory)
        let segments = JournalReader.segments(in: directory)
        #expect(segments.count >= 4)
        let windows = Self.windows()
        let full = try Self.fullReplay(directory, since: windows.since, rememberSince: windows.rememberSince)
        #expect(full.openOrders.map(\.clOrdId) == ["sbo4"] && full.answered.count > 6 && full.seen.count > full.answered.count)

        // The first start reads everything, says so, and leaves a checkpoint at the start of the last segment.
        let first = RecordingLogHandler.Recording()
        let replay = try await Self.open(directory, logger: first.logger(), windows: windows)
        #expect(first.messages.contains("journal: no checkpoint yet; reading the whole journal"))
        #expect(replay.checkpointItems == full.checkpointItems)
        let checkpoint = try #require(try JournalCheckpoint.read(directory: directory))
        #expect(checkpoint.position.segment == segments.last?.number && checkpoint.position.offset == 0)

        // The next start begins there: the segments before it may even be unreadable.
        let second = RecordingLogHandler.Recording()
        #expect(chmod(segments[0].path, 0) == 0)
        let again = try await Self.open(directory, logger: second.logger(), windows: windows)
        #expect(chmod(segments[0].path, 0o644) == 0)
        let levels = second.entries.withLock { $0.map(\.level) }
        #expect(levels.allSatisfy { $0 < .notice })
        #expect(again.checkpointItems == full.checkpointItems)
        #expect(again.openOrders == full.openOrders && again.answered.map(\.answer) == full.answered.map(\.answer))
        #expect(again.ledger.usages == full.ledger.usages && again.ledger.lastOrder(ruleId: "r") == full.ledger.lastOrder(ruleId: "r"))
    }

    /// A checkpoint whose bytes were changed, one that belongs to another journal, one that names a segment that is
    /// not there, and one with shorter windows than asked: each is ignored, with a log line, and a full read follows.
    @Test(arguments: ["flipped byte", "other journal", "missing segment", "longer window"])
    func aCheckpointThatCannotBeTrustedIsIgnored(damage: String) async throws {
        let directory = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await Self.writeHistory(in: directory)
        var windows = Self.windows()
        _ = try await Self.open(directory, logger: Logger(label: "test"), windows: windows)
        let path = directory + "/" + JournalCheckpoint.fileName
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        switch damage {
        case "flipped byte":
            bytes[bytes.count / 2] ^= 0x01
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        case "other journal":
            let other = temporaryFolder()
            defer { try? FileManager.default.removeItem(atPath: other) }
            try await Self.writeHistory(in: other, now: Date().addingTimeInterval(-1))
            _ = try await Self.open(other, logger: Logger(label: "test"), windows: windows)
            try FileManager.default.removeItem(atPath: path)
            try FileManager.default.copyItem(atPath: other + "/" + JournalCheckpoint.fileName, toPath: path)
        case "missing segment":
            var checkpoint = try #require(try JournalCheckpoint.read(directory: directory))
            checkpoint.position.segment += 1
            try checkpoint.write(directory: directory)
        default:
            windows.rememberSince = windows.rememberSince.addingTimeInterval(-86400)
        }
        let recording = RecordingLogHandler.Recording()
        let replay = try await Self.open(directory, logger: recording.logger(), windows: windows)
        let full = try Self.fullReplay(directory, since: windows.since, rememberSince: windows.rememberSince)
        #expect(replay.checkpointItems == full.checkpointItems)
        let expected =
            damage == "longer window"
            ? "journal: the checkpoint keeps signals for a shorter time than the configured windows; reading the whole journal"
            : "journal: the checkpoint cannot be used; reading the whole journal"
        #expect(recording.messages.contains(expected), "\(recording.messages)")
    }

    /// When a segment fills, the journal says where the next begins, and the checkpoint is brought there from the
    /// previous one by reading the segments between: the same replay as reading every record before it.
    @Test func eachNewSegmentBringsTheCheckpointForward() async throws {
        let directory = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let windows = Self.windows()
        let (journal, _) = try Journal.open(
            directory: directory,
            segmentLimit: Self.segmentLimit,
            logger: Logger(label: "test"),
            since: windows.since,
            rememberSince: windows.rememberSince
        )
        var starts = journal.newSegments.makeAsyncIterator()
        var positions: [JournalPosition] = []
        var previous: JournalCheckpoint?
        var index = 0
        while positions.count < 3 {
            let id = "s\(index)"
            index += 1
            // A new segment is begun by the write after the limit; its position comes at once.
            let before = JournalReader.segments(in: directory).count
            try await journal.append([History.signal(id), History.decision(id, outcome: "order", clOrdId: "sb\(id)"), .intent(History.intent(id))])
            try await journal.append([.ack(clOrdId: "sb\(id)", ordId: id)])
            guard JournalReader.segments(in: directory).count > before, let position = await starts.next() else { continue }
            positions.append(position)
            // The first from the file (none yet: the journal's start), the later ones from the one kept in memory.
            previous = try JournalCheckpoint.advance(
                directory: directory,
                from: previous,
                to: position,
                since: windows.since,
                rememberSince: windows.rememberSince,
                written: Date(),
                logger: Logger(label: "test")
            )
            let checkpoint = try #require(try JournalCheckpoint.read(directory: directory))
            #expect(checkpoint.position == position && previous?.replay.checkpointItems == checkpoint.replay.checkpointItems)
            let full = try Self.fullReplay(directory, since: windows.since, rememberSince: windows.rememberSince, through: position.seq)
            #expect(checkpoint.replay.checkpointItems == full.checkpointItems)
            #expect(!checkpoint.replay.openOrders.isEmpty)
        }
        #expect(positions.map(\.segment) == [2, 3, 4])
        await journal.close()
    }

    /// Every kind of item survives the file; an item the replay cannot take makes the checkpoint unusable.
    @Test func everyItemRoundTripsAndABadOneIsRefused() throws {
        var replay = JournalReplay(since: .distantPast)
        let time = try #require(Timestamp.parse("2026-11-19T08:26:40.123Z"))
        let lines = [
            JournalRecord.make(History.signal("a"), seq: 1, ts: Timestamp.format(time), prev: JournalRecord.genesis, batch: 3)
        ]
        var records = lines
        records.append(JournalRecord.make(History.decision("a", outcome: "order", clOrdId: "sba"), seq: 2, ts: lines[0].ts, prev: "x"))
        records.append(JournalRecord.make(.intent(History.intent("a")), seq: 3, ts: lines[0].ts, prev: "x"))
        records.append(JournalRecord.make(.ack(clOrdId: "sba", ordId: "7"), seq: 4, ts: lines[0].ts, prev: "x"))
        for record in records { replay.apply(record) }
        // Times at many milliseconds: each comes back as the same Date to the last bit, as the journal reads it.
        for index in 0..<500 {
            let ts = Timestamp.format(time.addingTimeInterval(Double(index) * 7.001))
            replay.apply(
                JournalRecord.make(History.decision("m\(index)", outcome: "order", clOrdId: "sbm\(index)"), seq: 5 + index, ts: ts, prev: "x")
            )
        }
        let restored = replay.restore(["lastOrder", "old", .string(Timestamp.format(time.addingTimeInterval(-30 * 86400)))])
        let refused = !replay.restore(["lastOrder", "old"]) && !replay.restore(["unknown"])
        #expect(restored && refused)
        let checkpoint = JournalCheckpoint(
            position: JournalPosition(segment: 2, offset: 0, seq: 4, hash: String(repeating: "a", count: 64)),
            written: time,
            replay: replay
        )
        let decoded = try JournalCheckpoint.decode(checkpoint.encoded)
        #expect(decoded.position == checkpoint.position && decoded.written == time)
        #expect(decoded.replay.checkpointItems == replay.checkpointItems)
        #expect(decoded.replay.ledger.usages == replay.ledger.usages)
        #expect(Set(decoded.replay.checkpointItems.map { $0.arrayValue?.first?.stringValue }) == ["seen", "answer", "usage", "lastOrder", "order"])
        #expect(decoded.replay.openOrders == replay.openOrders && decoded.replay.openOrders.first?.ordId == "7")

        // A notional that is not a finite number, a header at an offset inside a segment, and a sequence number near
        // overflow, each re-signed so that only that is wrong.
        let text = String(decoding: checkpoint.encoded, as: UTF8.self)
        for (from, to) in [(#",10]"#, #","NaN"]"#), (#""offset":0"#, #""offset":10"#), (#""seq":4,"#, #""seq":9223372036854775807,"#)] {
            #expect(text.contains(from))
            #expect(throws: JournalCheckpoint.Unusable.self) {
                try JournalCheckpoint.decode(Self.resigned(text.replacingOccurrences(of: from, with: to)))
            }
        }
        #expect(try JournalCheckpoint.decode(Self.resigned(text)).replay.checkpointItems == replay.checkpointItems)
    }

    /// `text` with its trailer written again for its (changed) contents.
    static func resigned(_ text: String) -> [UInt8] {
        let lines = text.split(separator: "\n").dropLast()
        let body = lines.joined(separator: "\n") + "\n"
        return Array((body + #"{"items":\#(lines.count - 1),"sha256":"\#(Hex.sha256(body.utf8))"}"# + "\n").utf8)
    }

    /// A key holding a quote or a backslash takes the escaped path; one without, the one read from the bytes.
    @Test func seenKeysWithAndWithoutEscapesRoundTrip() throws {
        var replay = JournalReplay(since: .distantFuture, rememberSince: .distantPast)
        let ts = Timestamp.format(Date(timeIntervalSince1970: 1_795_000_000))
        for (seq, id) in ["plain", #"quo"te"#, #"back\slash"#, "ünï", "a,b"].enumerated() {
            let entry = JournalEntry.signal(
                signalId: id,
                source: "tv",
                remoteAddr: nil,
                bodySha256: "x",
                receivedAt: nil,
                payload: .object(JSONObject())
            )
            replay.apply(JournalRecord.make(entry, seq: seq + 1, ts: ts, prev: "x"))
        }
        let checkpoint = JournalCheckpoint(
            position: JournalPosition(segment: 1, offset: 0, seq: 0, hash: JournalRecord.genesis),
            written: Date(),
            replay: replay
        )
        let decoded = try JournalCheckpoint.decode(checkpoint.encoded)
        #expect(decoded.replay.seen.map(\.key.signalId) == ["plain", #"quo"te"#, #"back\slash"#, "ünï", "a,b"])
        #expect(decoded.replay.seen.map(\.time) == replay.seen.map(\.time))
    }

    /// The checkpoint file is outside data: a FIFO or a link in its place is not followed, and a planted temporary
    /// file is replaced, not written through.
    @Test func aCheckpointThatIsNotARegularFileIsRefusedAndTheTemporaryFileIsNeverFollowed() async throws {
        let directory = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await Self.writeHistory(in: directory)
        let path = directory + "/" + JournalCheckpoint.fileName
        #expect(mkfifo(path, 0o600) == 0)
        #expect(throws: JournalCheckpoint.Unusable.self) { try JournalCheckpoint.read(directory: directory) }
        try FileManager.default.removeItem(atPath: path)
        let target = directory + "/elsewhere"
        try "keep".write(toFile: target, atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: target)
        #expect(throws: JournalCheckpoint.Unusable.self) { try JournalCheckpoint.read(directory: directory) }
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createSymbolicLink(atPath: path + ".tmp", withDestinationPath: target)
        let windows = Self.windows()
        _ = try await Self.open(directory, logger: Logger(label: "test"), windows: windows)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "keep")
        #expect(try JournalCheckpoint.read(directory: directory) != nil)
        let mode = try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode == 0o600)
    }

    /// A clock that stepped back, and a signal key journaled again: the start from the checkpoint keeps the same
    /// answers as a full read (each decision belongs to the signal of its own batch; a key's newest batch is its
    /// answer).
    @Test func aClockThatSteppedBackAndAReusedKeyRebuildTheSameAnswers() async throws {
        let directory = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let now = Date()
        // Ages in hours, not in order: the clock goes back twice; ids repeat across batches.
        let steps: [(age: Double, id: String, outcome: String)] = [
            (60, "a", "order"), (10, "b", "skip"), (70, "a", "order"), (5, "a", "skip"), (30, "c", "order"), (50, "c", "skip"), (1, "b", "order"),
            (80, "b", "order"), (2, "d", "skip"), (3, "a", "order"), (20, "a", "skip"),
        ]
        let windows = Self.windows(now)
        for (index, step) in steps.enumerated() {
            // Each start leaves a checkpoint at the start of the last segment: checkpoints all through the history.
            let (journal, _) = try Journal.open(
                directory: directory,
                segmentLimit: 400,
                logger: Logger(label: "test"),
                clock: { now.addingTimeInterval(-step.age * 3600) },
                since: windows.since,
                rememberSince: windows.rememberSince
            )
            try await journal.append([
                History.signal(step.id), History.decision(step.id, outcome: step.outcome, clOrdId: step.outcome == "order" ? "sb\(index)" : nil),
            ])
            await journal.close()
        }
        let full = try Self.fullReplay(directory, since: windows.since, rememberSince: windows.rememberSince)
        #expect(JournalReader.segments(in: directory).count > 3)
        let first = try await Self.open(directory, logger: Logger(label: "test"), windows: windows)
        let again = try await Self.open(directory, logger: Logger(label: "test"), windows: windows)
        for replay in [first, again] {
            #expect(replay.answered.map(\.answer) == full.answered.map(\.answer))
            #expect(replay.checkpointItems == full.checkpointItems)
        }
        // "b" keeps only the decision of its own batch (1 h ago), not the one of its older batch journaled later.
        let b = try #require(full.answered.first { $0.key.signalId == "b" })
        #expect(b.answer.objectValue?["decisions"]?.arrayValue?.count == 1)
        // "a" answered from its newest batch (3 h ago: one order), not from the older one journaled after it.
        let a = try #require(full.answered.first { $0.key.signalId == "a" })
        #expect(
            a.answer.objectValue?["decisions"]?.arrayValue?.count == 1
                && a.time == Timestamp.parse(utf8: Timestamp.format(now.addingTimeInterval(-3 * 3600)).utf8)
        )
    }
}
