import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The record types of SPEC section 6.
public enum JournalRecordType: String, Sendable, CaseIterable {
    case signal
    case rejected
    case decision
    case orderIntent = "order.intent"
    case orderAck = "order.ack"
    case orderReject = "order.reject"
    case orderUnknown = "order.unknown"
    case orderRetry = "order.retry"
    case orderUpdate = "order.update"
    case orderAbandoned = "order.abandoned"
    /// The same life for an algo order (`trade/order-algo`), keyed by its `algoClOrdId`.
    case algoIntent = "algo.intent"
    case algoAck = "algo.ack"
    case algoReject = "algo.reject"
    case algoUnknown = "algo.unknown"
    case algoRetry = "algo.retry"
    case algoUpdate = "algo.update"
    case algoAbandoned = "algo.abandoned"
    case rulesLoaded = "rules.loaded"

    /// Whether it is a record of an algo order's life.
    public var isAlgo: Bool { rawValue.hasPrefix("algo.") }

    /// The record type of an algo order's life for one of an order's (`order.ack` → `algo.ack`).
    func forAlgo(_ algo: Bool) -> JournalRecordType {
        guard algo, rawValue.hasPrefix("order.") else { return self }
        return JournalRecordType(rawValue: "algo." + rawValue.dropFirst("order.".count)) ?? self
    }
}

/// What a caller asks the journal to write: a type and its fields, in order.
public struct JournalEntry: Sendable, Equatable {
    public var type: JournalRecordType
    public var fields: JSONObject

    public init(_ type: JournalRecordType, _ fields: [(String, JSONValue)]) {
        self.type = type
        self.fields = JSONObject(fields)
    }
}

/// One line of the journal as written or read.
public struct JournalRecord: Sendable, Equatable {
    public var seq: Int
    /// RFC 3339 UTC with milliseconds.
    public var ts: String
    public var type: String
    /// Hex SHA-256 of the previous line.
    public var prev: String
    /// The whole record, `seq`, `ts`, `type` and `prev` first.
    public var object: JSONObject
    /// The exact line, without its newline.
    public var line: String

    /// A field of the record.
    public subscript(field: String) -> JSONValue? { object[field] }

    /// The record's type, when it is one this version knows.
    public var recordType: JournalRecordType? { JournalRecordType(rawValue: type) }

    /// The record time.
    public var date: Date? { Timestamp.parse(utf8: ts.utf8) }

    /// How many records the batch this record starts holds (`batch`, on the first record of a batch of two or
    /// more), nil for a record that starts no such batch.
    public var batchSize: Int? { object["batch"]?.wholeNumber(in: 2...Int.max) }

    /// Builds the record that follows `prev` with `seq`; the first record of a batch of `batch` records (two or
    /// more) says so, so that a batch only partly on disk after a crash is recognised.
    static func make(_ entry: JournalEntry, seq: Int, ts: String, prev: String, batch: Int? = nil) -> JournalRecord {
        var bytes: [UInt8] = []
        return make(entry, seq: seq, ts: ts, prev: prev, batch: batch, appendingLineTo: &bytes)
    }

    /// Builds the record as ``make(_:seq:ts:prev:batch:)`` does, and appends its line's bytes to `bytes` (written
    /// once, as bytes: the line is not encoded again).
    static func make(
        _ entry: JournalEntry,
        seq: Int,
        ts: String,
        prev: String,
        batch: Int?,
        appendingLineTo bytes: inout [UInt8]
    ) -> JournalRecord {
        var members: [(String, JSONValue)] = [
            ("seq", .integer(seq)), ("ts", .string(ts)), ("type", .string(entry.type.rawValue)), ("prev", .string(prev)),
        ]
        if let batch { members.append(("batch", .integer(batch))) }
        for member in entry.fields {
            switch member.key {
            case "seq", "ts", "type", "prev", "batch": continue
            default:
                if let index = members.firstIndex(where: { $0.0 == member.key }) {
                    members[index].1 = member.value
                } else {
                    members.append((member.key, member.value))
                }
            }
        }
        let object = JSONObject(members)
        let start = bytes.count
        JSONValue.object(object).write(to: &bytes)
        let line = String(decoding: bytes[start...], as: UTF8.self)
        return JournalRecord(seq: seq, ts: ts, type: entry.type.rawValue, prev: prev, object: object, line: line)
    }

    /// Parses one journal line; `nil` when it is not a record.
    static func parse(line: String) -> JournalRecord? {
        guard let object = (try? JSONParser.parse(line))?.objectValue,
            case .number(let seqText)? = object["seq"], let seq = Int(seqText),
            let ts = object["ts"]?.stringValue, let type = object["type"]?.stringValue,
            let prev = object["prev"]?.stringValue
        else { return nil }
        return JournalRecord(seq: seq, ts: ts, type: type, prev: prev, object: object, line: line)
    }

    /// The `prev` of the first record.
    public static let genesis = String(repeating: "0", count: 64)
}

/// RFC 3339 UTC timestamps with milliseconds (`2026-11-25T12:05:44.123Z`).
public enum Timestamp {
    /// Formats `date` in UTC with milliseconds, rounded down; a time read from a `ts` formats as that `ts` again
    /// (one microsecond of slack covers the binary fraction it was read into).
    public static func format(_ date: Date) -> String {
        let millis = Int64((date.timeIntervalSince1970 * 1000 + 0.001).rounded(.down))
        var seconds = time_t(millis / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ n: Int32, _ width: Int) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millis % 1000), 3))Z"
    }

    /// The time of `ts` when it has the journal's own shape, `YYYY-MM-DDTHH:MM:SS.mmmZ` (what ``format(_:)``
    /// writes), read straight from the bytes; nil for any other text (``parse(_:)`` reads the rest).
    public static func journalTime(_ ts: some Collection<UInt8>) -> Date? {
        guard ts.count == 24 else { return nil }
        // The digits as one number per field, read in one pass without allocating.
        var fields = (0, 0, 0, 0, 0, 0, 0)
        for (index, byte) in ts.enumerated() {
            switch index {
            case 4, 7: guard byte == 0x2D else { return nil }
            case 10: guard byte == 0x54 else { return nil }
            case 13, 16: guard byte == 0x3A else { return nil }
            case 19: guard byte == 0x2E else { return nil }
            case 23: guard byte == 0x5A else { return nil }
            default:
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                let digit = Int(byte - 0x30)
                switch index {
                case 0..<4: fields.0 = fields.0 * 10 + digit
                case 5..<7: fields.1 = fields.1 * 10 + digit
                case 8..<10: fields.2 = fields.2 * 10 + digit
                case 11..<13: fields.3 = fields.3 * 10 + digit
                case 14..<16: fields.4 = fields.4 * 10 + digit
                case 17..<19: fields.5 = fields.5 * 10 + digit
                default: fields.6 = fields.6 * 10 + digit
                }
            }
        }
        let (year, month, day, hour, minute, second, millis) = fields
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        // Days from 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let seconds = days * 86400 + hour * 3600 + minute * 60 + second
        // From 2001 as Foundation's parser counts, so that both give the same Date to the last bit.
        return Date(timeIntervalSinceReferenceDate: TimeInterval(seconds - 978_307_200) + TimeInterval(millis) / 1000)
    }

    /// The time of a journal `ts`: the journal's own shape read straight from the bytes, any other through ``parse(_:)``.
    public static func parse(utf8 ts: some Collection<UInt8>) -> Date? {
        journalTime(ts) ?? parse(String(decoding: ts, as: UTF8.self))
    }

    /// Parses an RFC 3339 / ISO 8601 timestamp, with or without fractional seconds, `Z` or an offset.
    public static func parse(_ text: String) -> Date? {
        let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        let withoutFraction = Date.ISO8601FormatStyle()
        return (try? withFraction.parse(text)) ?? (try? withoutFraction.parse(text))
    }
}
