import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Where a scan of the journal starts: the first byte of a segment not yet read, and the chain up to it.
public struct JournalPosition: Sendable, Equatable, Codable {
    /// The segment number (`journal-000001.jsonl` is 1).
    public var segment: Int
    /// The byte offset in that segment.
    public var offset: Int
    /// The `seq` of the last record before it (0 at the start of the journal).
    public var seq: Int
    /// The SHA-256 (hex) of the last line before it: the next record's `prev`.
    public var hash: String

    public init(segment: Int, offset: Int, seq: Int, hash: String) {
        self.segment = segment
        self.offset = offset
        self.seq = seq
        self.hash = hash
    }

    /// The start of a journal.
    public static let start = JournalPosition(segment: 1, offset: 0, seq: 0, hash: JournalRecord.genesis)
}

/// One line of the journal as the scanner passes it on: its bytes (valid only during the call), where it is, and
/// the fields every record starts with.
public struct ScannedLine {
    public var bytes: UnsafeBufferPointer<UInt8>
    public var segment: Int
    public var path: String
    /// Byte offset of the line in its segment, and its 1-based line number there.
    public var offset: Int
    public var lineNumber: Int
    public var seq: Int
    /// The record's `type` and `ts`, as written.
    public var type: ArraySlice<UInt8>
    public var ts: ArraySlice<UInt8>
    /// The size of the batch this record starts (`batch`), nil for a record that starts none.
    public var batchSize: Int?
    /// Where the fields after the leading ones begin, when those were read from the bytes.
    var headerEnd: Int?

    /// Whether the record is of `type`.
    public func isType(_ type: JournalRecordType) -> Bool { self.type.elementsEqual(type.rawValue.utf8) }

    /// The record's time, read straight from `ts` when it has the journal's own shape, else parsed.
    public var date: Date? {
        Timestamp.parse(utf8: ts)
    }

    /// Whether the line holds `text` anywhere.
    public func contains(_ text: StaticString) -> Bool {
        text.withUTF8Buffer { needle in
            guard let base = bytes.baseAddress, let first = needle.first, needle.count <= bytes.count else { return false }
            var start = 0
            while start + needle.count <= bytes.count, let found = memchr(base + start, Int32(first), bytes.count - needle.count + 1 - start) {
                let index = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
                if memcmp(base + index, needle.baseAddress!, needle.count) == 0 { return true }
                start = index + 1
            }
            return false
        }
    }

    /// The key of a `signal` record, read straight from the bytes: `signalId` and `source` are its first fields, as
    /// the journal writes them (``JournalEntry/signal(signalId:source:remoteAddr:bodySha256:payload:)``). Nil when
    /// the line is not written that way or a value holds an escape (then the record is parsed whole).
    public var signalKey: SignalKey? {
        // Right after the leading fields, never anywhere else (the payload may hold a `signalId` of its own).
        guard let headerEnd else { return nil }
        var reader = ByteReader(bytes)
        reader.index = headerEnd
        guard reader.expect(#","signalId":""#), let id = reader.string(), reader.expect(#","source":""#), let source = reader.string()
        else { return nil }
        return SignalKey(source: String(decoding: source, as: UTF8.self), signalId: String(decoding: id, as: UTF8.self))
    }

    /// The `receivedAt` of a `signal` record, read straight from the bytes: the field after `signalId`, `source`,
    /// `remoteAddr` and `bodySha256`, as the journal writes them; nil when it is not there in that shape (older records).
    public var receivedAt: Date? {
        guard let headerEnd else { return nil }
        var reader = ByteReader(bytes)
        reader.index = headerEnd
        guard reader.expect(#","signalId":""#), reader.string() != nil, reader.expect(#","source":""#), reader.string() != nil,
            reader.expect(#","remoteAddr":"#)
        else { return nil }
        if !reader.expect("null") {
            guard reader.expect(#"""#), reader.string() != nil else { return nil }
        }
        guard reader.expect(#","bodySha256":""#), reader.string() != nil, reader.expect(#","receivedAt":""#), let time = reader.string()
        else { return nil }
        return Timestamp.journalTime(time)
    }

    /// The line as text.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// The whole record (a full JSON parse).
    public var record: JournalRecord? { JournalRecord.parse(line: text) }

    /// The whole record, with a valid time.
    /// - Throws: ``JournalDamage`` when the line is not a journal record.
    public func parsed() throws(JournalDamage) -> JournalRecord {
        guard let record, record.date != nil else {
            throw JournalDamage(file: path, lineNumber: lineNumber, seq: seq, problem: "not a journal record", line: String(text.prefix(300)))
        }
        return record
    }
}

/// Reads the segment files of a journal directory as a stream, in constant memory, and checks what `journal
/// verify` promises: consecutive sequence numbers, the hash chain, RFC 3339 times, and whole batches.
///
/// Lines are read in 1 MiB chunks and hashed as bytes; the fields every record starts with (`seq`, `ts`, `type`,
/// `prev`, `batch`, written in that order by ``JournalRecord``) are read straight from the bytes, and a line that
/// does not start the way the journal writes it is parsed as JSON instead. The last record of the journal is always
/// parsed as JSON, since no later `prev` vouches for it.
public struct JournalScanner {
    /// What a crash left unfinished at the end: a torn last line, or a batch only partly on disk. Its file, the byte
    /// offset where it starts, its length, and how many whole records of it were passed on before it was recognised.
    public struct TornTail: Sendable, Equatable {
        public var path: String
        public var offset: Int
        public var bytes: Int
        public var records: Int
    }

    /// What a scan found.
    public struct Summary: Sendable, Equatable {
        /// How many records were passed on (including those of a torn last batch).
        public var records = 0
        /// Where the journal ends: the position after the last whole record that counts.
        public var end: JournalPosition
        public var tornTail: TornTail?
    }

    /// How far a scan has come: bytes read of all bytes to read.
    public struct Progress: Sendable {
        public var bytesRead: Int
        public var totalBytes: Int
        public var records: Int
    }

    static let chunkSize = 1 << 20

    /// Scans the journal in `directory` from `position`, calling `visit` for every record in order.
    /// - Parameters:
    ///   - allowTornTail: whether an incomplete last line or last batch of the last segment is reported in
    ///     ``Summary/tornTail`` (on start) rather than as damage (`journal verify`). The records of a torn batch
    ///     are passed to `visit` before the tear is known; the caller drops them (``Summary/tornTail``'s `records`).
    ///   - endSegment: the first segment not to read (nil: read to the end).
    ///   - progress: called now and then with how far the scan has come.
    ///   - segmentStart: called where each segment begins to be read, with the position there, once every record
    ///     before it was passed to `visit`.
    /// - Throws: ``JournalDamage`` at the first bad record, or what `visit` throws.
    public static func scan(
        directory: String,
        from position: JournalPosition = .start,
        before endSegment: Int? = nil,
        allowTornTail: Bool,
        progress: ((Progress) -> Void)? = nil,
        segmentStart: ((JournalPosition) -> Void)? = nil,
        visit: (ScannedLine) throws(JournalDamage) -> Void
    ) throws(JournalDamage) -> Summary {
        let files = JournalReader.segments(in: directory).filter { $0.number >= position.segment && $0.number < (endSegment ?? .max) }
        let totalBytes = files.reduce(0) { $0 + fileSize($1.path) } - (files.first?.number == position.segment ? position.offset : 0)
        var state = ChainState(position: position)
        var bytesRead = 0
        for (fileIndex, segment) in files.enumerated() {
            let isLast = fileIndex == files.count - 1
            let startOffset = segment.number == position.segment ? position.offset : 0
            let fd = Glibc.open(segment.path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                throw unreadable(segment.path, seq: state.seq + 1)
            }
            defer { Glibc.close(fd) }
            if startOffset > 0 { lseek(fd, off_t(startOffset), SEEK_SET) }
            state.beginSegment(segment, offset: startOffset)
            segmentStart?(
                JournalPosition(segment: segment.number, offset: startOffset, seq: state.seq, hash: String(decoding: state.prev, as: UTF8.self))
            )
            var buffer = [UInt8](repeating: 0, count: chunkSize)
            var filled = 0
            while true {
                if filled == buffer.count { buffer.append(contentsOf: repeatElement(0, count: buffer.count)) }
                let count = buffer.withUnsafeMutableBytes { raw in Glibc.read(fd, raw.baseAddress! + filled, raw.count - filled) }
                if count < 0 && errno == EINTR { continue }
                guard count >= 0 else {
                    throw unreadable(segment.path, seq: state.seq + 1)
                }
                guard count > 0 else { break }
                filled += count
                bytesRead += count
                let consumed = try buffer.withUnsafeBufferPointer { (all) throws(JournalDamage) -> Int in
                    try state.consumeLines(UnsafeBufferPointer(rebasing: all[0..<filled]), visit: visit)
                }
                if consumed > 0 {
                    buffer.withUnsafeMutableBytes { raw in
                        _ = memmove(raw.baseAddress!, raw.baseAddress! + consumed, filled - consumed)
                    }
                    filled -= consumed
                }
                progress?(Progress(bytesRead: bytesRead, totalBytes: totalBytes, records: state.records))
            }
            // What is left has no newline: a torn last line.
            if filled > 0 {
                let text = String(decoding: buffer[0..<filled], as: UTF8.self)
                if allowTornTail && isLast {
                    state.tearLastLine(bytes: filled)
                } else {
                    throw state.damage("the last line is incomplete (no newline)", line: text)
                }
            }
        }
        return try state.finish(allowTornTail: allowTornTail, lastPath: files.last?.path)
    }

    /// The damage of a segment file that cannot be read (as `errno` says).
    static func unreadable(_ path: String, seq: Int) -> JournalDamage {
        JournalDamage(file: path, lineNumber: 0, seq: seq, problem: "cannot be read: \(String(cString: strerror(errno)))", line: "")
    }

    static func fileSize(_ path: String) -> Int {
        var status = stat()
        return stat(path, &status) == 0 ? Int(status.st_size) : 0
    }
}

/// The checks of a scan, carried from line to line.
private struct ChainState {
    var seq: Int
    var prev: [UInt8]
    var records = 0
    var segment = 0
    var path = ""
    var offset = 0
    var lineNumber = 0
    /// The batch being read: where it starts, its size, how many of its records are still to come, its `ts`.
    var batch: (path: String, offset: Int, lineNumber: Int, firstSeq: Int, remaining: Int, ts: [UInt8], recordsBefore: Int)?
    var tornBytes: Int?
    /// The bytes of the last line passed on (a buffer reused from line to line).
    var lastLine: [UInt8] = []
    var end: JournalPosition

    init(position: JournalPosition) {
        seq = position.seq
        prev = Array(position.hash.utf8)
        end = position
    }

    mutating func beginSegment(_ segment: (number: Int, path: String), offset: Int) {
        self.segment = segment.number
        path = segment.path
        self.offset = offset
        lineNumber = 0
    }

    func damage(_ problem: String, line: String) -> JournalDamage {
        JournalDamage(file: path, lineNumber: lineNumber + 1, seq: seq + 1, problem: problem, line: String(line.prefix(300)))
    }

    /// Checks and passes on every whole line of `bytes`; returns how many bytes were consumed.
    mutating func consumeLines(_ bytes: UnsafeBufferPointer<UInt8>, visit: (ScannedLine) throws(JournalDamage) -> Void) throws(JournalDamage) -> Int {
        var start = 0
        while start < bytes.count {
            guard let newline = Self.newline(in: bytes, from: start) else { break }
            let line = UnsafeBufferPointer(rebasing: bytes[start..<newline])
            try consume(line, visit: visit)
            offset += newline + 1 - start
            start = newline + 1
        }
        return start
    }

    static func newline(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard let base = bytes.baseAddress, start < bytes.count else { return nil }
        guard let found = memchr(base + start, 0x0A, bytes.count - start) else { return nil }
        return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
    }

    mutating func consume(_ line: UnsafeBufferPointer<UInt8>, visit: (ScannedLine) throws(JournalDamage) -> Void) throws(JournalDamage) {
        guard let header = LineHeader(line) ?? LineHeader(parsing: line) else {
            throw damage("not a journal record", line: String(decoding: line, as: UTF8.self))
        }
        guard header.seq == seq + 1 else {
            throw damage("sequence number \(header.seq), expected \(seq + 1)", line: String(decoding: line, as: UTF8.self))
        }
        guard header.prev.elementsEqual(prev) else {
            throw damage("prev does not match the hash of the previous record", line: String(decoding: line, as: UTF8.self))
        }
        guard header.hasValidTime else { throw damage("ts is not an RFC 3339 time", line: String(decoding: line, as: UTF8.self)) }
        if let open = batch, open.remaining > 0 {
            guard header.batch == nil, open.path == path else {
                throw damage(
                    "a batch that began at record \(open.firstSeq) ends early, before this record",
                    line: String(decoding: line, as: UTF8.self)
                )
            }
            // One write, one time: every record of a batch has its first record's ts.
            guard header.ts.elementsEqual(open.ts) else {
                throw damage(
                    "the batch that began at record \(open.firstSeq) holds a record of another time",
                    line: String(decoding: line, as: UTF8.self)
                )
            }
            batch?.remaining -= 1
        } else if let size = header.batch {
            batch = (path, offset, lineNumber + 1, header.seq, size - 1, Array(header.ts), records)
        }
        lineNumber += 1
        let scanned = ScannedLine(
            bytes: line,
            segment: segment,
            path: path,
            offset: offset,
            lineNumber: lineNumber,
            seq: header.seq,
            type: header.type,
            ts: header.ts,
            batchSize: header.batch,
            headerEnd: header.end
        )
        try visit(scanned)
        records += 1
        seq = header.seq
        Self.writeHexDigest(of: line, into: &prev)
        if batch == nil || batch?.remaining == 0 {
            end = JournalPosition(segment: segment, offset: offset + line.count + 1, seq: seq, hash: String(decoding: prev, as: UTF8.self))
        }
        lastLine.removeAll(keepingCapacity: true)
        lastLine.append(contentsOf: line)
    }

    mutating func tearLastLine(bytes: Int) {
        tornBytes = bytes
    }

    /// Ends the scan: a batch still open at the end is torn (or damage), and the last record must parse as JSON.
    mutating func finish(allowTornTail: Bool, lastPath: String?) throws(JournalDamage) -> JournalScanner.Summary {
        if let open = batch, open.remaining > 0 {
            guard allowTornTail, lastPath == open.path else {
                throw JournalDamage(
                    file: open.path,
                    lineNumber: open.lineNumber,
                    seq: open.firstSeq,
                    problem: "the batch that begins at record \(open.firstSeq) is incomplete: \(open.remaining) of its records are missing",
                    line: ""
                )
            }
            // A batch only partly on disk was never acknowledged: it is dropped whole, torn last line and all.
            let tail = JournalScanner.TornTail(
                path: open.path,
                offset: open.offset,
                bytes: offset + (tornBytes ?? 0) - open.offset,
                records: records - open.recordsBefore
            )
            return JournalScanner.Summary(records: records, end: end, tornTail: tail)
        }
        let last = String(decoding: lastLine, as: UTF8.self)
        if !lastLine.isEmpty, JournalRecord.parse(line: last) == nil {
            throw JournalDamage(file: path, lineNumber: lineNumber, seq: seq, problem: "not a journal record", line: String(last.prefix(300)))
        }
        let tail = tornBytes.map { JournalScanner.TornTail(path: path, offset: offset, bytes: $0, records: 0) }
        return JournalScanner.Summary(records: records, end: end, tornTail: tail)
    }

    /// Writes the lowercase hex SHA-256 of `line` into `hex` (64 bytes).
    static func writeHexDigest(of line: UnsafeBufferPointer<UInt8>, into hex: inout [UInt8]) {
        let digest = SHA256.hash(data: UnsafeRawBufferPointer(line))
        if hex.count != 64 { hex = [UInt8](repeating: 0, count: 64) }
        let digits: StaticString = "0123456789abcdef"
        digits.withUTF8Buffer { digits in
            hex.withUnsafeMutableBufferPointer { hex in
                digest.withUnsafeBytes { digest in
                    for (index, byte) in digest.enumerated() {
                        hex[2 * index] = digits[Int(byte >> 4)]
                        hex[2 * index + 1] = digits[Int(byte & 0x0F)]
                    }
                }
            }
        }
    }
}

/// The fields every record starts with, read from the bytes of a line.
private struct LineHeader {
    var seq: Int
    var ts: ArraySlice<UInt8>
    var type: ArraySlice<UInt8>
    var prev: ArraySlice<UInt8>
    var batch: Int?
    var hasValidTime: Bool
    /// Where the fields after these begin, when the line was read from its bytes.
    var end: Int?

    /// Reads a line as the journal writes it: `{"seq":N,"ts":"…","type":"…","prev":"…"` and perhaps `,"batch":N`.
    init?(_ line: UnsafeBufferPointer<UInt8>) {
        var reader = ByteReader(line)
        guard reader.expect(#"{"seq":"#), let seq = reader.integer(), reader.expect(#","ts":""#), let ts = reader.string(),
            reader.expect(#","type":""#), let type = reader.string(), reader.expect(#","prev":""#), let prev = reader.string(), prev.count == 64
        else { return nil }
        self.seq = seq
        self.ts = ts
        self.type = type
        self.prev = prev
        if reader.expect(#","batch":"#) {
            guard let size = reader.integer(), size >= 2 else { return nil }
            batch = size
        }
        end = reader.index
        hasValidTime = Timestamp.parse(utf8: ts) != nil
    }

    /// Reads a line through the JSON parser (a record not written the usual way).
    init?(parsing line: UnsafeBufferPointer<UInt8>) {
        guard let record = JournalRecord.parse(line: String(decoding: line, as: UTF8.self)) else { return nil }
        seq = record.seq
        ts = ArraySlice(record.ts.utf8)
        type = ArraySlice(record.type.utf8)
        prev = ArraySlice(record.prev.utf8)
        batch = record.batchSize
        hasValidTime = record.date != nil
    }
}

/// Reads literal text, integers and simple strings from the start of a line.
private struct ByteReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func expect(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        let matches = literal.withUTF8Buffer { literal in memcmp(bytes.baseAddress! + index, literal.baseAddress!, count) == 0 }
        if matches { index += count }
        return matches
    }

    /// A non-negative integer of at most 18 digits (so it cannot overflow).
    mutating func integer() -> Int? {
        var value = 0
        let start = index
        while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39, index - start < 18 {
            value = value * 10 + Int(bytes[index] - 0x30)
            index += 1
        }
        guard index > start, index < bytes.count, bytes[index] < 0x30 || bytes[index] > 0x39 else { return nil }
        return value
    }

    /// The bytes up to the next `"` (a string without escapes), consuming the quote.
    mutating func string() -> ArraySlice<UInt8>? {
        let start = index
        while index < bytes.count, bytes[index] != 0x22 {
            if bytes[index] == 0x5C { return nil }
            index += 1
        }
        guard index < bytes.count else { return nil }
        let value = ArraySlice(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        index += 1
        return value
    }
}
