import Foundation

/// What a rule set would have done with the journaled signals (`signalbridge journal replay`, SPEC section 2): each
/// signal decided again, offline, with the market inputs journaled with its decisions (``DecisionInputs``), and with
/// cooldowns, orders per day and daily notional counted as the replayed decisions would have used them.
///
/// Pure: it is fed the journal's records in order (``add(_:)``) and hands back each signal once its batch is
/// complete; memory holds one signal and the risk ledger, not the journal.
public struct WhatIfReplay: Sendable {
    /// A decision as compared: its rule, outcome and reason, and for an `order` decision the exact OKX bodies.
    public struct DecisionView: Sendable, Equatable {
        public var ruleId: String?
        public var outcome: String
        public var reason: String
        /// The orders (for an algo order, the order it places when triggered).
        public var orders: [OrderRequest]
        /// The algo orders among them.
        public var algos: [AlgoOrderRequest] = []

        /// `{"ruleId", "outcome", "reason", "orders": [OKX bodies]}`, an algo order's body in place of its order's.
        public var json: JSONValue {
            let bodies = orders.map { order in algos.first { $0.algoClOrdId == order.clOrdId }?.json ?? order.json }
            return .object(
                JSONObject([
                    ("ruleId", ruleId.map(JSONValue.string) ?? .null), ("outcome", .string(outcome)), ("reason", .string(reason)),
                    ("orders", .array(bodies)),
                ])
            )
        }

        /// `rule: outcome: reason`, for a table.
        public var text: String { "\(ruleId ?? "(none)"): \(outcome): \(reason)" }
    }

    /// One signal, as decided then and as decided now.
    public struct Outcome: Sendable, Equatable {
        public var signalId: String
        public var source: String
        /// When it was journaled.
        public var ts: String
        public var original: [DecisionView]
        /// Empty when it is not replayable.
        public var replayed: [DecisionView]
        /// Why it cannot be decided again (its inputs were not journaled), or nil.
        public var notReplayable: String?
        /// Whether its decisions were made by a rule set other than the one replayed (a reload since).
        public var decidedByOtherRules = false

        /// Whether the new rules decide it otherwise (never for a signal that is not replayable).
        public var changed: Bool { notReplayable == nil && original != replayed }
    }

    /// Totals over the signals reported.
    public struct Summary: Sendable, Equatable {
        public var signals = 0
        public var changed = 0
        public var notReplayable = 0
        /// Signals whose decisions a rule set other than the replayed one made.
        public var otherRuleSet = 0
        public var originalOrders = 0
        public var replayedOrders = 0
        /// Quote notional of the orders sent, per instrument, then and now (market orders sized in base: valued at
        /// the journaled last price when there was one).
        public var notional: [String: (original: Decimal, replayed: Decimal)] = [:]

        public static func == (lhs: Summary, rhs: Summary) -> Bool {
            (lhs.signals, lhs.changed, lhs.notReplayable, lhs.otherRuleSet, lhs.originalOrders, lhs.replayedOrders)
                == (rhs.signals, rhs.changed, rhs.notReplayable, rhs.otherRuleSet, rhs.originalOrders, rhs.replayedOrders)
                && lhs.notional.keys.sorted() == rhs.notional.keys.sorted()
                && lhs.notional.allSatisfy { key, value in rhs.notional[key].map { $0 == value } ?? false }
        }

        /// `{"summary": {...}}`, the last line of `--format json`.
        public var json: JSONValue {
            let perInstrument = notional.sorted { $0.key < $1.key }.map { instId, pair -> (String, JSONValue) in
                (instId, .object(JSONObject([("original", .decimal(pair.original)), ("replayed", .decimal(pair.replayed))])))
            }
            return .object(
                JSONObject([
                    (
                        "summary",
                        .object(
                            JSONObject([
                                ("signals", .integer(signals)), ("changed", .integer(changed)), ("notReplayable", .integer(notReplayable)),
                                ("decidedByOtherRules", .integer(otherRuleSet)),
                                ("orders", .object(JSONObject([("original", .integer(originalOrders)), ("replayed", .integer(replayedOrders))]))),
                                ("notional", .object(JSONObject(perInstrument))),
                            ])
                        )
                    )
                ])
            )
        }
    }

    /// The signal being read: its record, then its decisions and intents as they follow in its batch.
    private struct Pending {
        var record: JournalRecord
        var decisions: [(view: DecisionView, inputs: DecisionInputs?, record: JournalEvent.DecisionRecord, hasMarket: Bool)] = []
        var ruleSetHashes: Set<String> = []
        var intents: [String: OrderIntent] = [:]
    }

    private let rules: RuleSet
    private let risk: RiskSettings
    private let signalBotSources: Set<String>
    private let since: Date
    private var ledger = RiskLedger()
    private var pending: Pending?
    /// The newest specification of each instrument journaled so far, for an instrument a new rule orders that the
    /// original decisions did not look up (specifications change rarely; prices are never borrowed this way).
    private var knownInstruments: [String: Instrument] = [:]
    private var knownTdMode: String?
    public private(set) var summary = Summary()

    /// - Parameters:
    ///   - rules: the rule set to decide with.
    ///   - risk: the global guards (`risk` of the configuration).
    ///   - signalBotSources: the sources that take OKX Signal Bot messages.
    ///   - since: signals journaled before this are decided (their orders count against the guards) but not reported.
    public init(rules: RuleSet, risk: RiskSettings, signalBotSources: Set<String>, since: Date? = nil) {
        self.rules = rules
        self.risk = risk
        self.signalBotSources = signalBotSources
        self.since = since ?? .distantPast
    }

    /// Reads the next record; returns the signal it completes, if any (a signal is complete when the next one begins).
    public mutating func add(_ record: JournalRecord) -> Outcome? {
        switch record.recordType {
        case .signal?:
            let finished = finish()
            pending = Pending(record: record)
            return finished
        case .decision?:
            guard pending?.record["signalId"] == record["signalId"], let decision = JournalEvent.decode(record),
                case .decision(let read) = decision
            else { return nil }
            let inputs = DecisionInputs(decisionRecord: record)
            inputs?.markets.forEach { instId, market in
                if let instrument = market.instrument { knownInstruments[instId] = instrument }
            }
            let view = DecisionView(
                ruleId: read.ruleId,
                outcome: read.outcome,
                reason: record["reason"]?.stringValue ?? "",
                orders: []
            )
            pending?.decisions.append((view, inputs, read, record["market"] != nil))
            if let hash = record["ruleSetHash"]?.stringValue { pending?.ruleSetHashes.insert(hash) }
        case .orderIntent?, .algoIntent?:
            guard let event = JournalEvent.decode(record), case .intent(let intent) = event,
                pending?.record["signalId"]?.stringValue == intent.signalId
            else { return nil }
            pending?.intents[intent.clOrdId] = intent
            knownTdMode = intent.request.tdMode
        default:
            return nil
        }
        return nil
    }

    /// Decides the signal still being read (call after the last record).
    public mutating func finish() -> Outcome? {
        guard let signal = pending.take() else { return nil }
        let time = Self.time(of: signal.record)
        let original = signal.decisions.map { decision in
            var view = decision.view
            if decision.record.ordered {
                let intents = decision.record.clOrdIds.compactMap { signal.intents[$0] }
                (view.orders, view.algos) = (intents.map(\.request), intents.compactMap(\.algo))
            }
            return view
        }
        var outcome = Outcome(
            signalId: signal.record["signalId"]?.stringValue ?? "",
            source: signal.record["source"]?.stringValue ?? "",
            ts: signal.record.ts,
            original: original,
            replayed: []
        )
        outcome.decidedByOtherRules = signal.ruleSetHashes.contains { $0 != rules.hash }
        let journaled = signal.decisions.compactMap(\.inputs)
        if signal.decisions.isEmpty || signal.decisions.contains(where: { !$0.hasMarket }) {
            outcome.notReplayable = "its decisions were journaled without their market inputs (before signalbridge kept them)"
        } else if journaled.count < signal.decisions.count {
            outcome.notReplayable = "the market inputs journaled with its decisions do not read as this version writes them"
        } else {
            var inputs = DecisionInputs()
            journaled.forEach { inputs.merge($0) }
            let decisions = decide(outcome, payload: signal.record["payload"] ?? .null, inputs: inputs, at: time)
            var read = DecisionInputs()
            decisions.forEach { read.merge($0.inputs) }
            if let missing = Self.missing(read, journaled: inputs, known: knownInstruments) {
                outcome.notReplayable = missing
            } else {
                outcome.replayed = decisions.map { decision in
                    let orders = decision.outcome == .order ? decision.orders : []
                    return DecisionView(
                        ruleId: decision.ruleId,
                        outcome: decision.outcome.rawValue,
                        reason: decision.reason,
                        orders: orders.map(\.request),
                        algos: orders.compactMap(\.algo)
                    )
                }
                decisions.compactMap { $0.usage(at: time) }.forEach { ledger.record($0) }
                if time >= since { count(decisions, original: original, inputs: inputs, at: time) }
            }
        }
        if outcome.notReplayable != nil {
            // As it was: what it ordered then still counts against the guards of the signals after it.
            for decision in signal.decisions.map(\.record) where decision.ordered {
                ledger.record(
                    RiskLedger.Usage(ruleId: decision.ruleId ?? "", time: time, orders: decision.clOrdIds.count, notional: decision.notional)
                )
            }
        }
        guard time >= since else { return nil }
        summary.signals += 1
        if outcome.changed { summary.changed += 1 }
        if outcome.notReplayable != nil { summary.notReplayable += 1 }
        if outcome.decidedByOtherRules { summary.otherRuleSet += 1 }
        return outcome
    }

    private func decide(_ outcome: Outcome, payload: JSONValue, inputs: DecisionInputs, at time: Date) -> [Decision] {
        var market = MarketSnapshot()
        let signalBot = signalBotSources.contains(outcome.source)
        // A Signal Bot message names its instrument in its own way (`BTCUSDT`): it is looked up only among what its
        // own decisions found, as it was then.
        market.instruments = signalBot ? [:] : knownInstruments
        for (instId, entry) in inputs.markets {
            market.instruments[instId] = entry.instrument
            if case .some(.some(let quote)) = entry.quote {
                market.tickers[instId] = Ticker(instId: instId, last: quote.last, bid: quote.bid, ask: quote.ask, time: time)
                market.tickerFetchedAt[instId] = time.addingTimeInterval(-Double(quote.ageMs) / 1000)
                market.tickerSource[instId] = quote.source
            }
        }
        for case (let ccy, let holding?) in inputs.balances {
            market.balances[ccy] = holding.available
            market.balancesFetchedAt = time.addingTimeInterval(-Double(holding.ageMs) / 1000)
        }
        if (inputs.tdMode ?? knownTdMode) == "cross" { market.accountMode = AccountMode(level: 3) }
        let decider = Decider(
            rules: rules,
            guards: GlobalGuards(
                risk: risk,
                killSwitchEngaged: inputs.killSwitch,
                queueHasRoom: { [full = inputs.queueFull] in !full.contains($0) },
                orderIsOpen: { [open = inputs.stillOpen] in open.contains($0) }
            ),
            builder: OrderBuilder(market: market, now: time, maxPriceAgeSeconds: risk.maxPriceAgeSeconds)
        )
        return decider.decide(
            signalId: outcome.signalId,
            source: outcome.source,
            payload: payload,
            ledger: ledger,
            signalBot: signalBot
        )
    }

    /// What the replayed decisions read that was not journaled with the signal, in words; nil when nothing.
    private static func missing(_ read: DecisionInputs, journaled: DecisionInputs, known: [String: Instrument]) -> String? {
        var missing: [String] = []
        for (instId, entry) in read.markets.sorted(by: { $0.key < $1.key }) {
            let original = journaled.markets[instId]
            if original == nil, known[instId] == nil, entry.instrument == nil { missing.append("the specification of \(instId)") }
            if entry.quote != nil, original?.quote == nil { missing.append("the ticker of \(instId)") }
        }
        for ccy in read.balances.keys.sorted() where journaled.balances[ccy] == nil { missing.append("the \(ccy) balance") }
        guard !missing.isEmpty else { return nil }
        return "the new rules need \(missing.joined(separator: ", ")), which the original decisions did not read"
    }

    private mutating func count(_ decisions: [Decision], original: [DecisionView], inputs: DecisionInputs, at time: Date) {
        for view in original where view.outcome == Decision.Outcome.order.rawValue {
            for order in view.orders {
                summary.originalOrders += 1
                let value = notional(of: order, inputs: inputs) ?? 0
                summary.notional[order.instId, default: (0, 0)].original += value
            }
        }
        for decision in decisions where decision.outcome == .order {
            for order in decision.orders {
                summary.replayedOrders += 1
                summary.notional[order.request.instId, default: (0, 0)].replayed += order.notional ?? 0
            }
        }
    }

    /// The quote value of a journaled order, as the order builder values one: price × size, a size in quote, or a
    /// base size at the journaled last price when it was fresh enough to use.
    private func notional(of order: OrderRequest, inputs: DecisionInputs) -> Decimal? {
        if let px = order.px { return px * order.sz }
        if order.tgtCcy == "quote_ccy" { return order.sz }
        guard case .some(.some(let quote)) = inputs.markets[order.instId]?.quote, quote.ageMs <= risk.maxPriceAgeSeconds * 1000 else {
            return nil
        }
        return quote.last * order.sz
    }

    /// When a signal's decisions were made: its `receivedAt`, else (older records) its `ts`.
    private static func time(of record: JournalRecord) -> Date {
        record["receivedAt"]?.stringValue.flatMap { Timestamp.parse(utf8: $0.utf8) } ?? record.date ?? .distantPast
    }
}

extension WhatIfReplay.Outcome {
    /// `{"signalId", "source", "ts", "changed", "original", "replayed"}`, and `"notReplayable"` with the reason
    /// when it is not.
    public var json: JSONValue {
        var object = JSONObject([
            ("signalId", .string(signalId)), ("source", .string(source)), ("ts", .string(ts)), ("changed", .bool(changed)),
            ("original", .array(original.map(\.json))), ("replayed", .array(replayed.map(\.json))),
        ])
        if let notReplayable { object["notReplayable"] = .string(notReplayable) }
        if decidedByOtherRules { object["decidedByOtherRules"] = .bool(true) }
        return .object(object)
    }

    /// `*` changed, `?` not replayable, blank the same.
    public var mark: String { notReplayable != nil ? "?" : changed ? "*" : "" }
}

extension WhatIfReplay {
    /// One row per signal: the mark, when, which, then the original decisions and (when they differ) the replayed
    /// ones, a signal's several decisions joined with ` | `.
    public static func listing(_ outcomes: [Outcome]) -> Listing {
        Listing(
            header: ["", "ts", "signalId", "source", "original", "replayed"],
            rows: outcomes.map { outcome in
                let replayed: String
                if let reason = outcome.notReplayable {
                    replayed = "not replayable: \(reason)"
                } else {
                    replayed = outcome.changed ? outcome.replayed.map(\.text).joined(separator: " | ") : "(same)"
                }
                return [outcome.mark, outcome.ts, outcome.signalId, outcome.source, outcome.original.map(\.text).joined(separator: " | "), replayed]
            }
        )
    }
}

extension WhatIfReplay.Summary {
    /// The lines under the table.
    public func text(ruleSetHash: String) -> String {
        var lines = [
            "\(signals) signal\(signals == 1 ? "" : "s") replayed with ruleSetHash \(ruleSetHash): \(changed) changed (*), \(notReplayable) not replayable (?)",
            "orders sent: \(originalOrders) then, \(replayedOrders) now (replayable signals)",
        ]
        if otherRuleSet > 0 {
            lines.append("\(otherRuleSet) of them decided by another rule set (the rules were reloaded since): their changes may be that reload's")
        }
        for (instId, pair) in notional.sorted(by: { $0.key < $1.key }) {
            lines.append("notional \(instId): \(DecimalText.format(pair.original)) then, \(DecimalText.format(pair.replayed)) now")
        }
        return lines.joined(separator: "\n")
    }
}
