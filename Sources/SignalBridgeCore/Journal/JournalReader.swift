import Foundation

/// Damage found in a journal.
public struct JournalDamage: Error, Sendable, Equatable, CustomStringConvertible {
    /// The segment file.
    public var file: String
    /// 1-based line number in that file.
    public var lineNumber: Int
    /// The expected sequence number at that place.
    public var seq: Int
    /// What is wrong.
    public var problem: String
    /// The damaged line (truncated to 300 characters).
    public var line: String

    public var description: String {
        "\(file):\(lineNumber) (record \(seq)): \(problem)\n  \(line)"
    }
}

/// Reads the segment files of a journal directory and checks sequence numbers and the hash chain.
public enum JournalReader {
    /// The segment file name of segment `number` (`journal-000001.jsonl`).
    public static func segmentName(_ number: Int) -> String {
        let digits = String(number)
        return "journal-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits + ".jsonl"
    }

    /// The segment files of `directory`, in order, with their numbers.
    public static func segments(in directory: String) -> [(number: Int, path: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name -> (Int, String)? in
            guard name.hasPrefix("journal-"), name.hasSuffix(".jsonl"),
                let number = Int(name.dropFirst("journal-".count).dropLast(".jsonl".count))
            else { return nil }
            return (number, URL(fileURLWithPath: directory).appendingPathComponent(name).path)
        }
        .sorted { $0.0 < $1.0 }
    }

    /// The result of reading a journal.
    public struct Contents: Sendable {
        /// Every intact record, in order.
        public var records: [JournalRecord]
        /// What a crash left unfinished at the end: a torn last line, or a batch only partly on disk (its first
        /// record's `batch` counts more records than follow it). Its file, the byte offset where it starts, its
        /// length, and how many whole records of it were dropped from ``records``.
        public var tornTail: (path: String, offset: Int, bytes: Int, records: Int)?
    }

    /// Reads and checks every record.
    /// - Parameter allowTornTail: whether an incomplete last line or last batch of the last segment is reported in
    ///   ``Contents/tornTail`` (on start) rather than as damage (on `journal verify`).
    /// - Throws: ``JournalDamage`` at the first bad record.
    public static func read(directory: String, allowTornTail: Bool) throws(JournalDamage) -> Contents {
        var records: [JournalRecord] = []
        var prev = JournalRecord.genesis
        var tornTail: (path: String, offset: Int, bytes: Int, records: Int)?
        // The batch being read: where it starts, and how many of its records are still to come.
        var batch: (path: String, offset: Int, lineNumber: Int, firstRecord: Int, remaining: Int)?
        var lastFileSize = 0
        let files = segments(in: directory)
        for (fileIndex, segment) in files.enumerated() {
            let data = FileManager.default.contents(atPath: segment.path) ?? Data()
            let bytes = [UInt8](data)
            lastFileSize = bytes.count
            var start = 0
            var lineNumber = 0
            while start < bytes.count {
                lineNumber += 1
                let newline = bytes[start...].firstIndex(of: 0x0A)
                let end = newline ?? bytes.count
                let lineText = String(decoding: bytes[start..<end], as: UTF8.self)
                let isTorn = fileIndex == files.count - 1 && newline == nil
                let expected = (records.last?.seq ?? 0) + 1
                func damage(_ problem: String) -> JournalDamage {
                    JournalDamage(file: segment.path, lineNumber: lineNumber, seq: expected, problem: problem, line: String(lineText.prefix(300)))
                }
                guard let record = JournalRecord.parse(line: lineText), newline != nil else {
                    if allowTornTail && isTorn {
                        tornTail = (segment.path, start, bytes.count - start, 0)
                        break
                    }
                    throw damage(newline == nil ? "the last line is incomplete (no newline)" : "not a journal record")
                }
                guard record.seq == expected else { throw damage("sequence number \(record.seq), expected \(expected)") }
                guard record.prev == prev else { throw damage("prev does not match the hash of the previous record") }
                guard Timestamp.parse(record.ts) != nil else { throw damage("ts is not an RFC 3339 time") }
                if let open = batch, open.remaining > 0 {
                    guard record.batchSize == nil, open.path == segment.path else {
                        throw damage("a batch that began at record \(open.firstRecord) ends early, before this record")
                    }
                    // One write, one time: every record of a batch has its first record's ts.
                    guard record.ts == records[open.firstRecord - 1].ts else {
                        throw damage("the batch that began at record \(open.firstRecord) holds a record of another time")
                    }
                    batch?.remaining -= 1
                } else if let size = record.batchSize {
                    batch = (segment.path, start, lineNumber, record.seq, size - 1)
                }
                records.append(record)
                prev = Hex.sha256(record.line.utf8)
                start = end + 1
            }
        }
        if let open = batch, open.remaining > 0 {
            guard allowTornTail, files.last?.path == open.path else {
                throw JournalDamage(
                    file: open.path,
                    lineNumber: open.lineNumber,
                    seq: open.firstRecord,
                    problem: "the batch that begins at record \(open.firstRecord) is incomplete: \(open.remaining) of its records are missing",
                    line: ""
                )
            }
            // A batch only partly on disk was never acknowledged: it is dropped whole, torn last line and all.
            let dropped = records.count - (open.firstRecord - 1)
            records.removeLast(dropped)
            tornTail = (open.path, open.offset, lastFileSize - open.offset, dropped)
        }
        return Contents(records: records, tornTail: tornTail)
    }
}
