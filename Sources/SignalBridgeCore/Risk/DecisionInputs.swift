import Foundation

/// What one decision read besides the payload and the rules (SPEC section 6, `market`): the instruments, prices and
/// balances it used, and the state of the guards that do not depend on a rule. Journaled with the decision, so that
/// `journal replay` can decide it again exactly as it was decided.
///
/// Only what was read is kept: a ticker that an order did not need is not in it. A read that found nothing is kept as
/// such (an instrument the exchange does not list, no ticker yet, no balances yet), so that a replay can tell "there
/// was none" from "it was not journaled".
public struct DecisionInputs: Sendable, Equatable {
    /// A ticker as a decision saw it, and how old it was then.
    public struct Quote: Sendable, Equatable {
        public var bid: Decimal
        public var ask: Decimal
        public var last: Decimal
        /// Milliseconds from its fetch to the decision, rounded up (0 when fetched after the signal came in), so that
        /// a whole-second age limit judges it as it was judged.
        public var ageMs: Int
        /// Pushed by the exchange's WebSocket or polled over REST (nil in records that did not say).
        public var source: PriceSource?
    }

    /// An available balance as a decision saw it.
    public struct Holding: Sendable, Equatable {
        public var available: Decimal
        public var ageMs: Int
    }

    /// What a decision found for one instrument: its specification (nil: not listed), and its ticker when it read
    /// one (`.some(nil)`: it looked and there was none).
    public struct Market: Sendable, Equatable {
        public var instrument: Instrument?
        public var quote: Quote??

        public init(instrument: Instrument?, quote: Quote?? = nil) {
            self.instrument = instrument
            self.quote = quote
        }
    }

    /// Per instrument the decision looked up.
    public var markets: [String: Market] = [:]
    /// Per currency whose balance it sized from; nil when no balances were known yet.
    public var balances: [String: Holding?] = [:]
    /// The `tdMode` its orders carry (from the account mode), once it built one.
    public var tdMode: String?
    /// Whether the kill switch was engaged.
    public var killSwitch = false
    /// Instruments whose execution queue had no room.
    public var queueFull: Set<String> = []
    /// `clOrdId`s that an earlier signal ordered and that were still open.
    public var stillOpen: Set<String> = []

    public init() {}

    /// The age of something fetched at `fetched`, at `now`, in whole milliseconds rounded up; 0 when it is younger
    /// than the decision.
    static func ageMs(_ fetched: Date, now: Date) -> Int {
        let millis = (now.timeIntervalSince(fetched) * 1000).rounded(.up)
        guard millis > 0 else { return 0 }
        return millis < 1e15 ? Int(millis) : Int(1e15)
    }
}

extension DecisionInputs {
    /// The decision record's fields: `market` (always, `{}` when nothing was read), then `balances`, `tdMode`,
    /// `killSwitch`, `queueFull` and `stillOpen` when they say something.
    var journalFields: [(String, JSONValue)] {
        var fields: [(String, JSONValue)] = [("market", .object(JSONObject(markets.sorted { $0.key < $1.key }.map { ($0.key, $0.value.json) })))]
        if !balances.isEmpty {
            let entries = balances.sorted { $0.key < $1.key }.map { ccy, holding -> (String, JSONValue) in
                guard let holding else { return (ccy, .object(JSONObject([("ageMs", .null)]))) }
                return (
                    ccy, .object(JSONObject([("available", .string(DecimalText.format(holding.available))), ("ageMs", .integer(holding.ageMs))]))
                )
            }
            fields.append(("balances", .object(JSONObject(entries))))
        }
        if let tdMode { fields.append(("tdMode", .string(tdMode))) }
        if killSwitch { fields.append(("killSwitch", .bool(true))) }
        if !queueFull.isEmpty { fields.append(("queueFull", .array(queueFull.sorted().map(JSONValue.string)))) }
        if !stillOpen.isEmpty { fields.append(("stillOpen", .array(stillOpen.sorted().map(JSONValue.string)))) }
        return fields
    }

    /// The inputs of a `decision` record; nil when it has no `market` (journaled by a version that did not keep them)
    /// or when any of them does not read as this version writes them.
    public init?(decisionRecord record: JournalRecord) {
        guard let market = record["market"]?.objectValue else { return nil }
        self.init()
        for (instId, value) in market {
            guard let entry = value.objectValue, let parsed = Market(json: entry, instId: instId) else { return nil }
            markets[instId] = parsed
        }
        if let balances = record["balances"] {
            guard let object = balances.objectValue else { return nil }
            for (ccy, value) in object {
                guard let entry = value.objectValue, let age = entry["ageMs"] else { return nil }
                if age == .null {
                    self.balances[ccy] = .some(nil)
                    continue
                }
                guard let ageMs = age.wholeNumber(in: 0...Int(1e15)), let available = entry["available"]?.decimalValue else { return nil }
                self.balances[ccy] = Holding(available: available, ageMs: ageMs)
            }
        }
        if let mode = record["tdMode"] {
            // The two spot modes an account mode gives (``AccountMode/spotTdMode``).
            guard let text = mode.stringValue, text == "cash" || text == "cross" else { return nil }
            tdMode = text
        }
        if let flag = record["killSwitch"] {
            guard let engaged = flag.boolValue else { return nil }
            killSwitch = engaged
        }
        for (field, keyPath) in [("queueFull", \DecisionInputs.queueFull), ("stillOpen", \DecisionInputs.stillOpen)] {
            guard let value = record[field] else { continue }
            guard let items = value.arrayValue?.compactMap(\.stringValue), items.count == value.arrayValue?.count else { return nil }
            self[keyPath: keyPath] = Set(items)
        }
    }

    /// Merges the inputs of another decision of the same signal (each decision records what it read).
    mutating func merge(_ other: DecisionInputs) {
        markets.merge(other.markets) { mine, theirs in
            Market(instrument: mine.instrument ?? theirs.instrument, quote: mine.quote ?? theirs.quote)
        }
        balances.merge(other.balances) { mine, _ in mine }
        tdMode = tdMode ?? other.tdMode
        killSwitch = killSwitch || other.killSwitch
        queueFull.formUnion(other.queueFull)
        stillOpen.formUnion(other.stillOpen)
    }
}

extension DecisionInputs.Market {
    /// `{"state", "baseCcy", "quoteCcy", "tickSz", "lotSz", "minSz"}` of a listed instrument, then `bidPx`, `askPx`,
    /// `last`, `ageMs` and `source` (`push` or `poll`) of a ticker read, or `"ageMs": null` when the read found none.
    var json: JSONValue {
        var fields: [(String, JSONValue)] = []
        if let instrument {
            fields += [
                ("state", .string(instrument.state)), ("baseCcy", .string(instrument.baseCcy)), ("quoteCcy", .string(instrument.quoteCcy)),
                ("tickSz", .string(DecimalText.format(instrument.tickSz))), ("lotSz", .string(DecimalText.format(instrument.lotSz))),
                ("minSz", .string(DecimalText.format(instrument.minSz))),
            ]
        }
        switch quote {
        case .none: break
        case .some(.none): fields.append(("ageMs", .null))
        case .some(.some(let quote)):
            fields += [
                ("bidPx", .string(DecimalText.format(quote.bid))), ("askPx", .string(DecimalText.format(quote.ask))),
                ("last", .string(DecimalText.format(quote.last))), ("ageMs", .integer(quote.ageMs)),
            ]
            if let source = quote.source { fields.append(("source", .string(source.rawValue))) }
        }
        return .object(JSONObject(fields))
    }

    init?(json entry: JSONObject, instId: String) {
        if let state = entry["state"]?.stringValue {
            guard let baseCcy = entry["baseCcy"]?.stringValue, let quoteCcy = entry["quoteCcy"]?.stringValue,
                let tickSz = entry["tickSz"]?.decimalValue, let lotSz = entry["lotSz"]?.decimalValue, let minSz = entry["minSz"]?.decimalValue,
                tickSz > 0, lotSz > 0, minSz >= 0
            else { return nil }
            instrument = Instrument(instId: instId, baseCcy: baseCcy, quoteCcy: quoteCcy, tickSz: tickSz, lotSz: lotSz, minSz: minSz, state: state)
        } else {
            instrument = nil
        }
        switch entry["ageMs"] {
        case nil: quote = nil
        case .null?: quote = .some(nil)
        case let age?:
            guard let ageMs = age.wholeNumber(in: 0...Int(1e15)), let bid = entry["bidPx"]?.decimalValue,
                let ask = entry["askPx"]?.decimalValue, let last = entry["last"]?.decimalValue
            else { return nil }
            quote = .some(
                DecisionInputs.Quote(bid: bid, ask: ask, last: last, ageMs: ageMs, source: entry["source"]?.stringValue.flatMap(PriceSource.init))
            )
        }
    }
}
