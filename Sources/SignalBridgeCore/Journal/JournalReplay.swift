import Foundation

/// What the journal says about the past, rebuilt on start: answered signals (for duplicates), the risk ledger,
/// and orders that have no final record yet (for the reconciler).
public struct JournalReplay: Sendable {
    /// A signal that was answered 202, with its answer.
    public struct AnsweredSignal: Sendable {
        public var key: SignalKey
        public var answer: JSONValue
        public var time: Date
    }

    /// Every signal since `rememberSince`, oldest first, for the replay window (``SignalMemory``).
    public private(set) var seen: [(key: SignalKey, time: Date)] = []
    public private(set) var ledger = RiskLedger()

    /// Answers are kept for signals at or after this time.
    public private(set) var since: Date
    /// Keys are kept for signals at or after this time (at most ``since``).
    public private(set) var rememberSince: Date
    private var signals: [SignalKey: (time: Date, decisions: [JSONValue])] = [:]
    private var signalOrder: [SignalKey] = []
    /// The signal whose batch is being read, when its answer is kept: its decisions follow it in that batch, with
    /// its time, and belong to it alone.
    private var batchSignal: (key: SignalKey, time: Date)?
    /// The signal of the batch being read, with the time its decisions were made at (its `receivedAt`).
    private var batchDecision: (signalId: String, ts: Date, at: Date)?
    /// Orders without a final record yet, with the `seq` of their intent and the lines of their records (for a
    /// checkpoint).
    private var orders: [String: (seq: Int, order: OpenOrder, lines: [String])] = [:]

    /// An empty replay, to be fed records in journal order (``apply(_:)``), keeping the answers of signals at or after
    /// `since` and the keys of those at or after `rememberSince` (at most `since`).
    public init(since: Date, rememberSince: Date? = nil) {
        self.since = since
        self.rememberSince = min(rememberSince ?? since, since)
    }

    /// Replays `records`.
    public init(records: [JournalRecord], since: Date, rememberSince: Date? = nil) {
        self.init(since: since, rememberSince: rememberSince)
        for record in records { apply(record) }
    }

    /// What the replay needs of one line of the journal.
    public enum Item: Sendable {
        /// The whole record.
        case record(JournalRecord)
        /// Only that this signal was seen then (for the replay window).
        case seen(SignalKey, Date, decidedAt: Date)
        /// A signal within the duplicate window: its key and time are all its answer needs.
        case signal(SignalKey, Date, decidedAt: Date)
        /// A signal older than both windows: only that its batch's decisions belong to no kept answer.
        case forgottenSignal
    }

    /// What the replay needs of the record on `line`, read from the fields every record starts with, so that on start
    /// only that is parsed whole: order records, and decisions that ordered (for cooldowns), always; other decisions
    /// within the duplicate window. Of a signal only its key is read, from the bytes (its payload is never needed).
    public func item(_ line: ScannedLine) throws(JournalDamage) -> Item? {
        let date = line.date ?? .distantFuture
        if line.isType(.signal) {
            if date < rememberSince { return .forgottenSignal }
            if let key = line.signalKey {
                let decidedAt = line.receivedAt ?? date
                return date < since ? .seen(key, date, decidedAt: decidedAt) : .signal(key, date, decidedAt: decidedAt)
            }
            return .record(try line.parsed())
        }
        if line.isType(.decision), date < since, !line.contains(#""outcome":"order""#) { return nil }
        if line.isType(.rejected) || line.isType(.rulesLoaded) { return nil }
        return .record(try line.parsed())
    }

    /// Replays what ``item(_:)`` made of the next line.
    public mutating func apply(_ item: Item) {
        switch item {
        case .record(let record): apply(record)
        case .seen(let key, let time, let decidedAt):
            batchSignal = nil
            batchDecision = (key.signalId, time, decidedAt)
            seen.append((key, time))
        case .signal(let key, let time, let decidedAt): applySignal(key, time: time, decidedAt: decidedAt)
        case .forgottenSignal: batchSignal = nil
        }
    }

    /// Replays one record, the next in journal order.
    public mutating func apply(_ record: JournalRecord) {
        guard let time = record.date, let event = JournalEvent.decode(record) else { return }
        switch event {
        case .signal(let key):
            applySignal(key, time: time, decidedAt: record["receivedAt"]?.stringValue.flatMap { Timestamp.journalTime($0.utf8) } ?? time)
        case .decision(let decision):
            if let batch = batchSignal, batch.key.signalId == decision.signalId, batch.time == time {
                signals[batch.key]?.decisions.append(decision.answerEntry)
            }
            if decision.ordered, let ruleId = decision.ruleId {
                // Counted at the time it was decided at (its signal's `receivedAt`), as the intake counted it.
                let decidedAt = batchDecision.flatMap { $0.signalId == decision.signalId && $0.ts == time ? $0.at : nil } ?? time
                ledger.record(
                    RiskLedger.Usage(ruleId: ruleId, time: decidedAt, orders: max(1, decision.clOrdIds.count), notional: decision.notional)
                )
            }
        case .intent(let intent):
            orders[intent.clOrdId] = (record.seq, OpenOrder(intent: intent, intentTime: time), [record.line])
        case .order(let clOrdId, let event):
            guard var open = orders[clOrdId] else { return }
            _ = open.order.lifecycle.apply(event)
            open.lines.append(record.line)
            // A final order is forgotten at once: what start keeps does not grow with the history of orders.
            orders[clOrdId] = open.order.state.isFinal ? nil : open
        case .rejected, .rulesLoaded:
            return
        }
    }

    private mutating func applySignal(_ key: SignalKey, time: Date, decidedAt: Date) {
        batchSignal = nil
        batchDecision = (key.signalId, time, decidedAt)
        guard time >= rememberSince else { return }
        seen.append((key, time))
        guard time >= since else { return }
        // A key's newest batch is its answer: one journaled again with an earlier time changes nothing, so what is
        // kept does not depend on the order in which windows were applied (a checkpoint, then the rest).
        if let kept = signals[key], kept.time > time { return }
        if signals[key] == nil { signalOrder.append(key) }
        signals[key] = (time, [])
        batchSignal = (key, time)
    }

    /// The signals answered at or after ``since``, each with its answer, oldest first.
    public var answered: [AnsweredSignal] {
        signalOrder.compactMap { key in
            signals[key].map {
                AnsweredSignal(key: key, answer: SignalIntake.answerBody(signalId: key.signalId, decisions: $0.decisions), time: $0.time)
            }
        }
    }

    /// Orders whose outcome is not final, in journal order.
    public var openOrders: [OpenOrder] { orders.values.sorted { $0.seq < $1.seq }.map(\.order) }
}

extension JournalReplay {
    /// The same replay with its windows moved on to `since` and `rememberSince` (never back): what is older is
    /// forgotten.
    public func forgetting(before since: Date, rememberSince: Date) -> JournalReplay {
        var replay = self
        replay.since = max(self.since, since)
        replay.rememberSince = min(max(self.rememberSince, rememberSince), replay.since)
        replay.seen.removeAll { $0.time < replay.rememberSince }
        replay.signalOrder.removeAll { (replay.signals[$0]?.time ?? .distantPast) < replay.since }
        replay.signals = replay.signals.filter { $0.value.time >= replay.since }
        replay.batchSignal = nil
        return replay
    }

    /// The replay's state as items of a checkpoint (``JournalCheckpoint``), each a JSON array whose first element
    /// says what it is: `seen` (a signal's source, id and time), `answer` (source, id, time and decisions), `usage`
    /// (a rule's order: rule, time, orders, notional), `lastOrder` (a rule's last order older than the ledger
    /// keeps), `order` (the journal lines of an open order). Passed one at a time, so that none is held longer.
    public func forEachCheckpointItem(_ body: (JSONValue) -> Void) {
        for (key, time) in seen {
            body(["seen", .string(key.source), .string(key.signalId), .string(Timestamp.format(time))])
        }
        for key in signalOrder {
            guard let signal = signals[key] else { continue }
            body(["answer", .string(key.source), .string(key.signalId), .string(Timestamp.format(signal.time)), .array(signal.decisions)])
        }
        for usage in ledger.usages {
            body([
                "usage", .string(usage.ruleId), .string(Timestamp.format(usage.time)), .integer(usage.orders),
                .number(DecimalText.format(usage.notional)),
            ])
        }
        for (ruleId, time) in ledger.agedOutLastOrders.sorted(by: { $0.key < $1.key }) {
            body(["lastOrder", .string(ruleId), .string(Timestamp.format(time))])
        }
        for open in orders.values.sorted(by: { $0.seq < $1.seq }) {
            body(.array(["order"] + open.lines.map { .string($0) }))
        }
    }

    /// Every item of ``forEachCheckpointItem(_:)``, in order.
    public var checkpointItems: [JSONValue] {
        var items: [JSONValue] = []
        forEachCheckpointItem { items.append($0) }
        return items
    }

    /// Restores a `seen` item written the way ``forEachCheckpointItem(_:)`` writes it, straight from its bytes
    /// (`["seen","SOURCE","ID","TS"]`, no escapes); false for any other line, which is then parsed as JSON.
    mutating func restoreSeen(line: ArraySlice<UInt8>) -> Bool {
        let prefix = Array(#"["seen",""#.utf8)
        guard line.count > prefix.count, line.prefix(prefix.count).elementsEqual(prefix), line.last == UInt8(ascii: "]") else { return false }
        // The three strings between the prefix and the closing `"]`, separated by `","`, none holding a `"` or `\`.
        let body = line.dropFirst(prefix.count).dropLast(2)
        guard line.dropLast().last == UInt8(ascii: "\""), !body.contains(UInt8(ascii: "\\")) else { return false }
        let parts = body.split(separator: UInt8(ascii: "\""), omittingEmptySubsequences: false)
        guard parts.count == 5, parts[1].elementsEqual(Array(",".utf8)), parts[3].elementsEqual(Array(",".utf8)),
            let time = Timestamp.parse(utf8: parts[4])
        else { return false }
        seen.append((SignalKey(source: String(decoding: parts[0], as: UTF8.self), signalId: String(decoding: parts[2], as: UTF8.self)), time))
        return true
    }

    /// A time of an item, read as the journal's `ts` is, so that it is the same `Date` to the last bit.
    private static func time(_ text: String) -> Date? { Timestamp.parse(utf8: text.utf8) }

    /// Restores one item of ``forEachCheckpointItem(_:)``, in their order; false when it is not one.
    public mutating func restore(_ item: JSONValue) -> Bool {
        guard let fields = item.arrayValue, let kind = fields.first?.stringValue else { return false }
        let strings = fields.dropFirst().map(\.stringValue)
        switch kind {
        case "seen":
            guard fields.count == 4, let source = strings[0], let id = strings[1], let time = strings[2].flatMap(Self.time) else { return false }
            seen.append((SignalKey(source: source, signalId: id), time))
        case "answer":
            guard fields.count == 5, let source = strings[0], let id = strings[1], let time = strings[2].flatMap(Self.time),
                let decisions = fields[4].arrayValue
            else { return false }
            let key = SignalKey(source: source, signalId: id)
            if signals[key] == nil { signalOrder.append(key) }
            signals[key] = (time, decisions)
        case "usage":
            guard fields.count == 5, let ruleId = strings[0], let time = strings[1].flatMap(Self.time),
                let orders = fields[3].wholeNumber(in: 1...Int(Int32.max)), let notional = fields[4].decimalValue, notional.isFinite
            else { return false }
            ledger.record(RiskLedger.Usage(ruleId: ruleId, time: time, orders: orders, notional: notional))
        case "lastOrder":
            guard fields.count == 3, let ruleId = strings[0], let time = strings[1].flatMap(Self.time) else { return false }
            ledger.recordAgedOut(ruleId: ruleId, lastOrder: time)
        case "order":
            let records = strings.map { $0.flatMap(JournalRecord.parse(line:)) }
            guard !records.isEmpty, records.allSatisfy({ $0 != nil }) else { return false }
            let before = orders.count
            for record in records { apply(record!) }
            return orders.count == before + 1
        default:
            return false
        }
        return true
    }
}

/// Identifies a signal for duplicate detection: its source and id.
public struct SignalKey: Sendable, Hashable {
    public var source: String
    public var signalId: String
    public init(source: String, signalId: String) {
        self.source = source
        self.signalId = signalId
    }
}
