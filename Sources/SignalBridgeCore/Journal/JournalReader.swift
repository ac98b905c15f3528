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
        /// A torn last line (a crash mid-write): its file and the byte offset where it starts.
        public var tornTail: (path: String, offset: Int, bytes: Int)?
    }

    /// Reads and checks every record.
    /// - Parameter allowTornTail: whether an incomplete last line of the last segment is reported in
    ///   ``Contents/tornTail`` (on start) rather than as damage (on `journal verify`).
    /// - Throws: ``JournalDamage`` at the first bad record.
    public static func read(directory: String, allowTornTail: Bool) throws(JournalDamage) -> Contents {
        var records: [JournalRecord] = []
        var prev = JournalRecord.genesis
        var tornTail: (String, Int, Int)?
        let files = segments(in: directory)
        for (fileIndex, segment) in files.enumerated() {
            let data = FileManager.default.contents(atPath: segment.path) ?? Data()
            let bytes = [UInt8](data)
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
                        tornTail = (segment.path, start, bytes.count - start)
                        break
                    }
                    throw damage(newline == nil ? "the last line is incomplete (no newline)" : "not a journal record")
                }
                guard record.seq == expected else { throw damage("sequence number \(record.seq), expected \(expected)") }
                guard record.prev == prev else { throw damage("prev does not match the hash of the previous record") }
                guard Timestamp.parse(record.ts) != nil else { throw damage("ts is not an RFC 3339 time") }
                records.append(record)
                prev = Hex.sha256(record.line.utf8)
                start = end + 1
            }
        }
        return Contents(records: records, tornTail: tornTail)
    }
}
