import Crypto
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// What start needs of the journal up to a position, so that start reads only what came after it: the replay
/// (answers within the duplicate window, signal ids within the replay window, the risk ledger, open orders) at the
/// beginning of a segment, with the sequence number and hash there.
///
/// It is derived from the journal alone (the bridge writes one when a segment fills, from the closed segments, and
/// on start), and it is only a shortcut: a checkpoint that is missing, damaged, keeps less than the configured
/// windows need, or does not match the journal is ignored, and start reads the whole journal.
///
/// The file `checkpoint.jsonl` is JSON lines: a header object (`checkpoint`: 1, the position's `segment`, `offset`,
/// `seq` and `hash`, `written`, the replay's `since` and `rememberSince`), one line per item of
/// ``JournalReplay/forEachCheckpointItem(_:)``, and a last line `{"items": N, "sha256": ...}` (the count, and the
/// SHA-256 of every byte before it). It is replaced atomically (a temporary file, fsync, rename, fsync of the
/// directory).
public struct JournalCheckpoint: Sendable {
    /// The checkpoint's file name in the journal directory.
    public static let fileName = "checkpoint.jsonl"

    /// Where the journal goes on after the checkpoint: the start of a segment.
    public var position: JournalPosition
    /// When it was written.
    public var written: Date
    /// The replay of every record before ``position``.
    public var replay: JournalReplay

    public init(position: JournalPosition, written: Date, replay: JournalReplay) {
        self.position = position
        self.written = written
        self.replay = replay
    }

    /// Why a checkpoint cannot be used.
    public struct Unusable: Error, Sendable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// The largest checkpoint file start reads; a larger one is ignored (and the whole journal read).
    public static let maxFileBytes = 1 << 30

    /// The file's bytes.
    public var encoded: [UInt8] {
        let header: JSONValue = .object(
            JSONObject([
                ("checkpoint", .integer(1)), ("segment", .integer(position.segment)), ("offset", .integer(position.offset)),
                ("seq", .integer(position.seq)), ("hash", .string(position.hash)), ("written", .string(Timestamp.format(written))),
                ("since", .string(Timestamp.format(replay.since))), ("rememberSince", .string(Timestamp.format(replay.rememberSince))),
            ])
        )
        var bytes = header.jsonBytes
        bytes.append(0x0A)
        var count = 0
        replay.forEachCheckpointItem { item in
            item.write(to: &bytes)
            bytes.append(0x0A)
            count += 1
        }
        let trailer = JSONObject([("items", .integer(count)), ("sha256", .string(bytes.withUnsafeBytes { Hex.encode(SHA256.hash(data: $0)) }))])
        JSONValue.object(trailer).write(to: &bytes)
        bytes.append(0x0A)
        return bytes
    }

    /// Reads a checkpoint from the bytes of its file.
    /// - Throws: ``Unusable`` saying what is wrong.
    public static func decode(_ bytes: [UInt8]) throws(Unusable) -> JournalCheckpoint {
        guard bytes.last == 0x0A else { throw Unusable("it does not end with a newline") }
        let body = bytes.dropLast()
        let lastStart = body.lastIndex(of: 0x0A).map { $0 + 1 } ?? body.startIndex
        guard let trailer = try? JSONParser.parse(body[lastStart...]).objectValue, let sha256 = trailer["sha256"]?.stringValue,
            let count = trailer["items"]?.wholeNumber(in: 0...Int.max)
        else { throw Unusable("its last line is not its checksum") }
        guard bytes[..<lastStart].withUnsafeBytes({ Hex.encode(SHA256.hash(data: $0)) }) == sha256 else {
            throw Unusable("its checksum does not match its contents")
        }
        var lines = bytes[..<lastStart].split(separator: 0x0A, omittingEmptySubsequences: false).dropLast()
        guard let first = lines.popFirst(), let header = try? JSONParser.parse(first).objectValue, header["checkpoint"] == .integer(1) else {
            throw Unusable("it is not a checkpoint of this version")
        }
        func time(_ key: String) -> Date? { header[key]?.stringValue.flatMap { Timestamp.parse(utf8: $0.utf8) } }
        // The writer only ever checkpoints at the start of a segment; sequence numbers stay far from overflowing.
        guard let segment = header["segment"]?.wholeNumber(in: 1...99_999_999), header["offset"] == .integer(0),
            let seq = header["seq"]?.wholeNumber(in: 0...(1 << 53)), let hash = header["hash"]?.stringValue,
            hash.utf8.count == 64, hash.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
            let written = time("written"), let since = time("since"), let rememberSince = time("rememberSince"), count == lines.count
        else { throw Unusable("its header is incomplete") }
        var replay = JournalReplay(since: since, rememberSince: rememberSince)
        for (index, line) in lines.enumerated() {
            if replay.restoreSeen(line: line) { continue }
            guard let item = try? JSONParser.parse(line), replay.restore(item) else { throw Unusable("item \(index + 1) cannot be read") }
        }
        return JournalCheckpoint(position: JournalPosition(segment: segment, offset: 0, seq: seq, hash: hash), written: written, replay: replay)
    }

    /// The checkpoint in `directory`; nil when there is none.
    /// - Throws: ``Unusable`` when it cannot be read (not a regular file, larger than ``maxFileBytes``) or does not
    ///   match the journal beside it.
    public static func read(directory: String) throws(Unusable) -> JournalCheckpoint? {
        let path = URL(fileURLWithPath: directory).appendingPathComponent(fileName).path
        let fd = Glibc.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw Unusable("\(path) cannot be opened: \(String(cString: strerror(errno)))")
        }
        defer { Glibc.close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { throw Unusable("\(path) is not a regular file") }
        guard status.st_size <= maxFileBytes else { throw Unusable("\(path) is larger than \(maxFileBytes) bytes") }
        guard case .success(let bytes) = Descriptor.read(fd, upTo: Int(status.st_size)), bytes.count == Int(status.st_size) else {
            throw Unusable("\(path) cannot be read")
        }
        let checkpoint = try decode(bytes)
        try checkpoint.check(against: directory)
        return checkpoint
    }

    /// Checks that the record before ``position`` is the one the checkpoint names (its `seq`, and the hash of its
    /// line), so that the scan from there continues the same chain; the scan checks the rest.
    func check(against directory: String) throws(Unusable) {
        let segments = JournalReader.segments(in: directory)
        guard let segment = segments.first(where: { $0.number == position.segment }) else {
            throw Unusable("segment \(position.segment) is not in the journal")
        }
        let previous: (path: String, end: Int)?
        if position.offset > 0 {
            previous = (segment.path, position.offset)
        } else if let before = segments.last(where: { $0.number < position.segment }) {
            guard before.number == position.segment - 1 else { throw Unusable("segment \(position.segment - 1) is missing") }
            previous = (before.path, JournalScanner.fileSize(before.path))
        } else {
            previous = nil
        }
        guard let previous else {
            guard position.seq == 0, position.hash == JournalRecord.genesis else { throw Unusable("the journal has no record before it") }
            return
        }
        guard let line = Self.line(endingAt: previous.end, in: previous.path), Hex.sha256(line) == position.hash,
            JournalRecord.parse(line: String(decoding: line, as: UTF8.self))?.seq == position.seq
        else { throw Unusable("the journal's record \(position.seq) is not the one it was written after") }
    }

    /// The line whose newline is the last byte before `end` in the file at `path`, without that newline.
    static func line(endingAt end: Int, in path: String) -> [UInt8]? {
        guard end > 0, let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        var chunk = 64 << 10
        while true {
            let start = max(0, end - chunk)
            guard (try? handle.seek(toOffset: UInt64(start))) != nil, let data = try? handle.read(upToCount: end - start), data.count == end - start
            else { return nil }
            let bytes = [UInt8](data)
            guard bytes.last == 0x0A else { return nil }
            if let newline = bytes.dropLast().lastIndex(of: 0x0A) { return Array(bytes[(newline + 1)..<(bytes.count - 1)]) }
            if start == 0 { return Array(bytes.dropLast()) }
            chunk *= 4
        }
    }

    /// Replaces the checkpoint in `directory` atomically and durably, readable by its owner only.
    /// - Throws: ``JournalError`` when it cannot be written; the previous checkpoint, if any, stays.
    public func write(directory: String) throws(JournalError) {
        let path = URL(fileURLWithPath: directory).appendingPathComponent(Self.fileName).path
        let temporary = path + ".tmp"
        let bytes = encoded
        // A leftover (or planted) temporary file is removed, never followed or reused with its mode.
        unlink(temporary)
        let fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw JournalError("cannot write \(temporary): \(String(cString: strerror(errno)))") }
        fchmod(fd, 0o600)
        if let error = Descriptor.writeAll(fd, bytes) {
            Glibc.close(fd)
            unlink(temporary)
            throw JournalError("cannot write \(temporary): \(String(cString: strerror(error)))")
        }
        let synced = fsync(fd) == 0
        Glibc.close(fd)
        guard synced, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw JournalError("cannot replace \(path): \(reason)")
        }
        Journal.syncDirectory(directory)
    }
}

extension JournalCheckpoint {
    /// The checkpoint in `directory` if start can use it with windows from `since` and `rememberSince`; nil (and a
    /// log line saying why, when the journal is not empty) when it cannot.
    static func usable(directory: String, since: Date, rememberSince: Date, logger: Logger) -> JournalCheckpoint? {
        let checkpoint: JournalCheckpoint?
        do {
            checkpoint = try read(directory: directory)
        } catch {
            logger.warning(
                "journal: the checkpoint cannot be used; reading the whole journal",
                metadata: ["file": "\(fileName)", "reason": "\(error)"]
            )
            return nil
        }
        guard let checkpoint else {
            if !JournalReader.segments(in: directory).isEmpty {
                logger.notice("journal: no checkpoint yet; reading the whole journal", metadata: ["directory": "\(directory)"])
            }
            return nil
        }
        guard checkpoint.replay.since <= since, checkpoint.replay.rememberSince <= rememberSince else {
            logger.notice(
                "journal: the checkpoint keeps signals for a shorter time than the configured windows; reading the whole journal",
                metadata: ["since": "\(Timestamp.format(checkpoint.replay.rememberSince))", "needed": "\(Timestamp.format(rememberSince))"]
            )
            return nil
        }
        return checkpoint
    }

    /// Writes the checkpoint at `position` (the start of a segment, every segment before it closed) and returns it:
    /// `previous` (the last one written, kept in memory so that it is not read back each time) or else the one in
    /// the directory, or the journal's start, brought forward by reading the segments between.
    /// - Throws: ``JournalError`` when the segments cannot be read or do not end where `position` says.
    @discardableResult
    public static func advance(
        directory: String,
        from previous: JournalCheckpoint? = nil,
        to position: JournalPosition,
        since: Date,
        rememberSince: Date,
        written: Date,
        logger: Logger
    ) throws(JournalError) -> JournalCheckpoint {
        let previous = previous ?? usable(directory: directory, since: since, rememberSince: rememberSince, logger: logger)
        if let previous, previous.position == position { return previous }
        var replay =
            previous?.replay.forgetting(before: since, rememberSince: rememberSince) ?? JournalReplay(since: since, rememberSince: rememberSince)
        let summary: JournalScanner.Summary
        do {
            summary = try JournalReader.stream(
                directory: directory,
                from: previous?.position ?? .start,
                before: position.segment,
                allowTornTail: false,
                read: { line throws(JournalDamage) in try replay.item(line) },
                visit: { replay.apply($0) }
            )
        } catch {
            throw .damaged(error)
        }
        guard summary.end.seq == position.seq, summary.end.hash == position.hash else {
            throw JournalError("the segments before \(position.segment) end at record \(summary.end.seq), not \(position.seq)")
        }
        let checkpoint = JournalCheckpoint(position: position, written: written, replay: replay)
        try checkpoint.write(directory: directory)
        return checkpoint
    }
}

extension Journal {
    /// Opens the journal (``Journal/open(directory:segmentLimit:logger:clock:metrics:observer:scan:)``) and replays it into a
    /// ``JournalReplay`` with windows from `since` and `rememberSince`: from the checkpoint when there is a usable
    /// one, then every record after it; else from the start. When the scan passed the start of the last segment, a
    /// checkpoint there is written (a failure to write it is logged, and changes nothing else).
    /// - Throws: ``JournalError`` when the journal cannot be used or is damaged.
    public static func open(
        directory: String,
        segmentLimit: Int = defaultSegmentLimit,
        logger: Logger,
        clock: @escaping @Sendable () -> Date = Date.init,
        since: Date,
        rememberSince: Date,
        metrics: BridgeMetrics = BridgeMetrics(),
        observer: @escaping @Sendable ([JournalEntry]) -> Void = { _ in }
    ) throws(JournalError) -> (Journal, JournalReplay) {
        var replay = JournalReplay(since: since, rememberSince: rememberSince)
        var snapshot: JournalCheckpoint?
        let journal = try open(directory: directory, segmentLimit: segmentLimit, logger: logger, clock: clock, metrics: metrics, observer: observer) {
            () throws(JournalError) in
            let lastSegment = JournalReader.segments(in: directory).last?.number
            func scan(from checkpoint: JournalCheckpoint?) throws(JournalDamage) -> JournalScanner.Summary {
                replay =
                    checkpoint?.replay.forgetting(before: since, rememberSince: rememberSince)
                    ?? JournalReplay(since: since, rememberSince: rememberSince)
                snapshot = nil
                return try JournalReader.stream(
                    directory: directory,
                    from: checkpoint?.position ?? .start,
                    allowTornTail: true,
                    segmentStart: { position in
                        guard position.segment == lastSegment, position != checkpoint?.position else { return }
                        snapshot = JournalCheckpoint(position: position, written: clock(), replay: replay)
                    },
                    read: { line throws(JournalDamage) in try replay.item(line) },
                    visit: { replay.apply($0) }
                )
            }
            let checkpoint = JournalCheckpoint.usable(directory: directory, since: since, rememberSince: rememberSince, logger: logger)
            do throws(JournalDamage) {
                return try scan(from: checkpoint)
            } catch {
                guard checkpoint != nil else { throw .damaged(error) }
                logger.warning(
                    "journal: the journal after the checkpoint does not read; reading the whole journal",
                    metadata: ["reason": "\(error.problem)", "file": "\(error.file)"]
                )
                do throws(JournalDamage) {
                    return try scan(from: nil)
                } catch {
                    throw .damaged(error)
                }
            }
        }
        if let snapshot {
            do {
                try snapshot.write(directory: directory)
            } catch {
                logger.warning("journal: cannot write the checkpoint; the next start reads more of the journal", metadata: ["reason": "\(error)"])
            }
        }
        return (journal, replay)
    }
}
