import Foundation

/// The journal records an auditor asks for (`signalbridge journal query`).
///
/// Order records (`order.ack`, `order.update`, …) carry only a `clOrdId`; they belong to the signal whose
/// `order.intent` or `decision` named that `clOrdId`, so `--signal` finds a signal's whole story.
public struct JournalQuery: Sendable {
    /// Only the records of this signal and of its orders.
    public var signalId: String?
    /// Only the records that name this `clOrdId`.
    public var clOrdId: String?
    /// Only records of these types; every type when empty.
    public var types: Set<String>
    /// Only records at or after this time.
    public var since: Date?

    public init(signalId: String? = nil, clOrdId: String? = nil, types: Set<String> = [], since: Date? = nil) {
        self.signalId = signalId
        self.clOrdId = clOrdId
        self.types = types
        self.since = since
    }

    /// The records that pass every filter, in journal order, each with the signal it belongs to.
    public func select(_ records: [JournalRecord]) -> [(record: JournalRecord, signalId: String?)] {
        var selection = Selection(self)
        return records.compactMap { selection.consider($0) }
    }

    /// The selection as records stream by, in journal order (memory: the `clOrdId`s seen and their signals).
    public struct Selection {
        let query: JournalQuery
        /// A record's order names a signal only through the decision or intent that came before it.
        var owners: [String: String] = [:]
        /// Whether the signal of every order record is needed (a listing shows it); otherwise only those of the
        /// `signalId` asked for are kept, so memory does not grow with the history of orders.
        let tracksEveryOwner: Bool

        /// - Parameter tracksEveryOwner: whether each selected record's signal must be known (tables and CSV show it).
        public init(_ query: JournalQuery, tracksEveryOwner: Bool = true) {
            self.query = query
            self.tracksEveryOwner = tracksEveryOwner
        }

        /// `record` with the signal it belongs to, when it passes every filter.
        public mutating func consider(_ record: JournalRecord) -> (record: JournalRecord, signalId: String?)? {
            // A record that does not decode (a field its type needs is missing) is still found by the ids it names.
            let event = JournalEvent.decode(record)
            let clOrdIds = event?.clOrdIds ?? ([record["clOrdId"]] + (record["clOrdIds"]?.arrayValue ?? [])).compactMap { $0?.stringValue }
            let named = event?.signalId ?? record["signalId"]?.stringValue
            if let named, tracksEveryOwner || named == query.signalId { for id in clOrdIds { owners[id] = named } }
            let owner = named ?? clOrdIds.first.flatMap { owners[$0] }
            if let signalId = query.signalId, owner != signalId { return nil }
            if let clOrdId = query.clOrdId, !clOrdIds.contains(clOrdId) { return nil }
            if !query.types.isEmpty, !query.types.contains(record.type) { return nil }
            if let since = query.since, (record.date ?? .distantPast) < since { return nil }
            return (record, owner)
        }
    }

    /// Selected records as `format`. `json` prints each record's journal line unchanged; `table` and `csv` show
    /// `seq`, `ts`, `type`, the signal, the `clOrdId` and the other fields (as `key=value` in a table, as one JSON
    /// object in CSV).
    public static func render(_ selection: [(record: JournalRecord, signalId: String?)], format: ListingFormat) -> String {
        if format == .json { return selection.map(\.record.line).joined(separator: "\n") }
        let rows = selection.map { record, signalId in
            let details = details(of: record)
            let detailText =
                format == .csv
                ? JSONValue.object(details).jsonText
                : details.members.map { "\($0.key)=\($0.value.stringValue ?? $0.value.jsonText)" }.joined(separator: " ")
            return [String(record.seq), record.ts, record.type, signalId ?? "", record["clOrdId"]?.stringValue ?? "", detailText]
        }
        let listing = Listing(header: ["seq", "ts", "type", "signalId", "clOrdId", "details"], rows: rows)
        return format == .csv ? listing.csv : listing.table
    }

    /// The fields of a record other than the columns every listing shows.
    static func details(of record: JournalRecord) -> JSONObject {
        JSONObject(
            record.object.members.filter { !["seq", "ts", "type", "prev", "signalId", "clOrdId"].contains($0.key) }
                .map { ($0.key, $0.value) }
        )
    }
}

/// Parses the `--since` of the journal commands.
public enum SinceTime {
    /// An RFC 3339 time (`2026-11-25T12:00:00Z`), a UTC day (`2026-11-25`), or an age before `now`: a number
    /// with `s`, `m`, `h` or `d` (`90m`, `24h`, `7d`). `nil` when it is none of these.
    public static func parse(_ text: String, now: Date) -> Date? {
        if let date = Timestamp.parse(text) { return date }
        if let day = Timestamp.parse(text + "T00:00:00Z"), text.count == 10 { return day }
        let units: [Character: TimeInterval] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        guard let unit = text.last.flatMap({ units[$0] }), let amount = Int(text.dropLast()), amount >= 0 else { return nil }
        return now.addingTimeInterval(-TimeInterval(amount) * unit)
    }
}
