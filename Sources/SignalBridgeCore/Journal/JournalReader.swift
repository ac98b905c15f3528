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
        /// record's `batch` counts more records than follow it); its records are not in ``records``.
        public var tornTail: JournalScanner.TornTail?
    }

    /// Reads and checks every record (``JournalScanner``), each parsed whole.
    /// - Parameter allowTornTail: whether an incomplete last line or last batch of the last segment is reported in
    ///   ``Contents/tornTail`` (on start) rather than as damage (on `journal verify`).
    /// - Throws: ``JournalDamage`` at the first bad record.
    public static func read(directory: String, allowTornTail: Bool) throws(JournalDamage) -> Contents {
        var records: [JournalRecord] = []
        let summary = try stream(directory: directory, allowTornTail: allowTornTail) { records.append($0) }
        return Contents(records: records, tornTail: summary.tornTail)
    }

    /// Streams the records of the journal to `visit`, in order, each parsed whole (``stream(directory:allowTornTail:read:visit:)``).
    @discardableResult
    public static func stream(directory: String, allowTornTail: Bool, visit: (JournalRecord) -> Void) throws(JournalDamage) -> JournalScanner.Summary
    {
        try stream(directory: directory, allowTornTail: allowTornTail, read: { line throws(JournalDamage) in try line.parsed() }, visit: visit)
    }

    /// Streams the journal to `visit`, in order, in memory bounded by one batch: every line is read and checked
    /// (``JournalScanner``), and `read` makes of each what the caller needs (nil: nothing), from the fields every
    /// record starts with or by parsing it whole. What is made of a batch reaches `visit` once the whole batch is
    /// known to be on disk; of a batch only partly there (``JournalScanner/Summary/tornTail``), never.
    /// `position`, `endSegment` and `segmentStart` are the scanner's
    /// (``JournalScanner/scan(directory:from:before:allowTornTail:progress:segmentStart:visit:)``).
    /// - Throws: ``JournalDamage`` at the first bad record.
    @discardableResult
    public static func stream<Item>(
        directory: String,
        from position: JournalPosition = .start,
        before endSegment: Int? = nil,
        allowTornTail: Bool,
        segmentStart: ((JournalPosition) -> Void)? = nil,
        read: (ScannedLine) throws(JournalDamage) -> Item?,
        visit: (Item) -> Void
    ) throws(JournalDamage) -> JournalScanner.Summary {
        var batch: (remaining: Int, items: [Item])?
        return try JournalScanner.scan(
            directory: directory,
            from: position,
            before: endSegment,
            allowTornTail: allowTornTail,
            segmentStart: segmentStart
        ) { line throws(JournalDamage) in
            if let size = line.batchSize { batch = (size, []) }
            if let item = try read(line) {
                if batch != nil { batch?.items.append(item) } else { visit(item) }
            }
            guard let open = batch else { return }
            if open.remaining > 1 {
                batch?.remaining -= 1
            } else {
                open.items.forEach(visit)
                batch = nil
            }
        }
    }
}
