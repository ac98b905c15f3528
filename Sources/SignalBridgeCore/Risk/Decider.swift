import Foundation

/// What the bridge decided for one matched rule (or `skip` when none matched).
public struct Decision: Sendable, Equatable {
    /// `order`, `skip`, `blocked` or `dryRun` (SPEC section 4).
    public enum Outcome: String, Sendable {
        case order, skip, blocked, dryRun
    }

    public var ruleId: String?
    public var outcome: Outcome
    /// Why, in words a trader understands.
    public var reason: String
    /// The orders that follow (outcome `order`), or would have (outcome `dryRun`).
    public var orders: [PlannedOrder]
    /// The market and guard state it read, journaled with it (``DecisionInputs``).
    public var inputs: DecisionInputs

    public init(ruleId: String?, outcome: Outcome, reason: String, orders: [PlannedOrder] = [], inputs: DecisionInputs = DecisionInputs()) {
        self.ruleId = ruleId
        self.outcome = outcome
        self.reason = reason
        self.orders = orders
        self.inputs = inputs
    }

    /// The decision of a signal that no rule matched.
    public static let noRuleMatched = Decision(ruleId: nil, outcome: .skip, reason: "no rule matched")

    /// The `clOrdId` of the first order that is sent, for the answer and the `decision` record.
    public var clOrdId: String? { outcome == .order ? orders.first?.request.clOrdId : nil }

    /// Total notional of the orders, where known.
    public var notional: Decimal { orders.compactMap(\.notional).reduce(0, +) }

    /// What this decision counts against the risk guards: only orders that are sent count.
    public func usage(at time: Date) -> RiskLedger.Usage? {
        guard outcome == .order, let ruleId else { return nil }
        return RiskLedger.Usage(ruleId: ruleId, time: time, orders: orders.count, notional: notional)
    }

    /// The entry of this decision in a 202 answer.
    public var answerJSON: JSONValue {
        var fields: [String: JSONValue] = [
            "ruleId": ruleId.map(JSONValue.string) ?? .null, "outcome": .string(outcome.rawValue), "reason": .string(reason),
        ]
        fields["clOrdId"] = clOrdId.map(JSONValue.string)
        return Self.answerEntry { fields[$0] }
    }

    /// A decision's entry in an answer, from its fields: built the same way from a decision and, after a restart,
    /// from its `decision` record, so a duplicate's answer is the first answer byte for byte.
    public static func answerEntry(_ field: (String) -> JSONValue?) -> JSONValue {
        .object(JSONObject(["ruleId", "outcome", "reason", "clOrdId"].compactMap { key in field(key).map { (key, $0) } }))
    }
}

/// The global guards that do not depend on a rule.
public struct GlobalGuards: Sendable {
    public var risk: RiskSettings
    /// Whether the kill switch file exists (checked by the caller once per signal).
    public var killSwitchEngaged: Bool
    /// Whether the execution queue of an instrument can take another order.
    public var queueHasRoom: @Sendable (String) -> Bool
    /// Whether an order with a `clOrdId` is still open.
    public var orderIsOpen: @Sendable (String) -> Bool

    public init(
        risk: RiskSettings,
        killSwitchEngaged: Bool,
        queueHasRoom: @escaping @Sendable (String) -> Bool = { _ in true },
        orderIsOpen: @escaping @Sendable (String) -> Bool = { _ in false }
    ) {
        self.risk = risk
        self.killSwitchEngaged = killSwitchEngaged
        self.queueHasRoom = queueHasRoom
        self.orderIsOpen = orderIsOpen
    }
}

/// Decides what a signal does: which rules match, the exact orders, and every risk guard. Pure: no I/O.
public struct Decider: Sendable {
    public var rules: RuleSet
    public var guards: GlobalGuards
    public var builder: OrderBuilder

    public init(rules: RuleSet, guards: GlobalGuards, builder: OrderBuilder) {
        self.rules = rules
        self.guards = guards
        self.builder = builder
    }

    /// The rules of `source` in `rules` whose conditions `payload` meets. Pure, and most of the cost of deciding, so
    /// that the intake runs it for many signals at once, before the part that must see one signal at a time.
    public static func matching(_ rules: RuleSet, source: String, payload: JSONValue) -> [Rule] {
        // Only the rules the payload could match (``RuleIndex``) are evaluated.
        rules.index.candidates(source: source, payload: payload).compactMap { index in
            rules.rules[index].when.matches(payload) ? rules.rules[index] : nil
        }
    }

    /// The decisions for `payload` from `source`, given what has been ordered so far.
    /// - Parameter matched: the rules of this decider's set that match (``matching(_:source:payload:)``), when already
    ///   known; ignored for a Signal Bot message, which makes its own rule.
    public func decide(
        signalId: String,
        source: String,
        payload: JSONValue,
        ledger: RiskLedger,
        signalBot: Bool = false,
        matched preMatched: [Rule]? = nil
    ) -> [Decision] {
        var seen = DecisionInputs()
        seen.killSwitch = guards.killSwitchEngaged
        let matched: [Rule]
        if signalBot {
            do {
                matched = [try OKXSignalBot.rule(for: payload, source: source, instruments: builder.market.instruments)]
            } catch {
                return [Decision(ruleId: OKXSignalBot.ruleId, outcome: .blocked, reason: error.reason, inputs: seen)]
            }
        } else {
            matched = preMatched ?? Self.matching(rules, source: source, payload: payload)
        }
        guard !matched.isEmpty else {
            var skip = Decision.noRuleMatched
            skip.inputs = seen
            return [skip]
        }
        var ledger = ledger
        return matched.map { rule in
            let decision = decide(rule, source: source, signalId: signalId, payload: payload, ledger: ledger)
            if let usage = decision.usage(at: builder.now) { ledger.record(usage) }
            return decision
        }
    }

    private func decide(_ rule: Rule, source: String, signalId: String, payload: JSONValue, ledger: RiskLedger) -> Decision {
        var orders: [PlannedOrder] = []
        var inputs = DecisionInputs()
        inputs.killSwitch = guards.killSwitchEngaged
        do {
            for (index, template) in rule.orders.enumerated() {
                let clOrdId = ClOrdId.make(source: source, signalId: signalId, ruleId: rule.id, orderIndex: index)
                orders.append(try builder.build(template, payload: payload, clOrdId: clOrdId, inputs: &inputs))
            }
            try checkGuards(rule, orders: orders, ledger: ledger, inputs: &inputs)
        } catch {
            return Decision(ruleId: rule.id, outcome: .blocked, reason: error.reason, orders: orders, inputs: inputs)
        }
        let summary = orders.map(Self.describe).joined(separator: "; ")
        if rule.dryRun || guards.risk.dryRun {
            let which = rule.dryRun ? "rule" : "global"
            return Decision(ruleId: rule.id, outcome: .dryRun, reason: "dry run (\(which)): would \(summary)", orders: orders, inputs: inputs)
        }
        return Decision(ruleId: rule.id, outcome: .order, reason: summary, orders: orders, inputs: inputs)
    }

    private func checkGuards(_ rule: Rule, orders: [PlannedOrder], ledger: RiskLedger, inputs: inout DecisionInputs) throws(DecisionBlock) {
        let now = builder.now
        let risk = guards.risk
        if guards.killSwitchEngaged {
            throw DecisionBlock("kill switch: \(risk.killSwitchFile ?? "the kill switch file") exists")
        }
        let notionalLimited = [rule.maxOrderNotional, risk.maxOrderNotional, rule.maxDailyNotional, risk.maxDailyNotional]
            .contains { $0 != nil }
        for order in orders {
            let instId = order.request.instId
            if let allowed = risk.allowedInstruments, !allowed.contains(instId) {
                throw DecisionBlock("allowedInstruments: \(instId) is not allowed")
            }
            if !guards.queueHasRoom(instId) {
                inputs.queueFull.insert(instId)
                throw DecisionBlock("execution queue: too many \(instId) orders are waiting to be sent; try again later")
            }
            if guards.orderIsOpen(order.request.clOrdId) {
                inputs.stillOpen.insert(order.request.clOrdId)
                throw DecisionBlock(
                    "clOrdId \(order.request.clOrdId) is still open: an earlier signal with this id ordered it and it is not final yet"
                )
            }
            if notionalLimited, order.notional == nil {
                throw DecisionBlock("notional limits: no ticker of \(instId) younger than \(builder.maxPriceAgeSeconds) s to value the order")
            }
            for (limit, name) in [(rule.maxOrderNotional, "rule maxOrderNotional"), (risk.maxOrderNotional, "maxOrderNotional")] {
                if let limit, let notional = order.notional, notional > limit {
                    throw DecisionBlock("\(name): order notional \(DecimalText.format(notional)) exceeds \(DecimalText.format(limit))")
                }
            }
        }
        if let cooldown = rule.cooldownSeconds, let last = ledger.lastOrder(ruleId: rule.id),
            now.timeIntervalSince(last) < TimeInterval(cooldown)
        {
            let left = (TimeInterval(cooldown) - now.timeIntervalSince(last)).rounded(.up).wholeSeconds
            throw DecisionBlock(
                "cooldownSeconds: the rule ordered \(now.timeIntervalSince(last).wholeSeconds) s ago; \(left) s left of \(cooldown) s"
            )
        }
        if let maximum = rule.maxOrdersPerDay, ledger.ordersToday(ruleId: rule.id, now: now) + orders.count > maximum {
            throw DecisionBlock(
                "maxOrdersPerDay: the rule already placed \(ledger.ordersToday(ruleId: rule.id, now: now)) of \(maximum) orders today (UTC)"
            )
        }
        let notional = orders.compactMap(\.notional).reduce(0, +)
        guard DecimalText.isWithinRange(notional) else {
            throw DecisionBlock("the rule's orders together have a notional beyond what signalbridge accepts (\(DecimalText.acceptedRange))")
        }
        if let limit = rule.maxDailyNotional, ledger.notionalToday(ruleId: rule.id, now: now) + notional > limit {
            throw DecisionBlock(
                "rule maxDailyNotional: \(DecimalText.format(ledger.notionalToday(ruleId: rule.id, now: now) + notional)) would exceed \(DecimalText.format(limit)) today (UTC)"
            )
        }
        if let limit = risk.maxDailyNotional, ledger.notionalToday(now: now) + notional > limit {
            throw DecisionBlock(
                "maxDailyNotional: \(DecimalText.format(ledger.notionalToday(now: now) + notional)) would exceed \(DecimalText.format(limit)) today (UTC)"
            )
        }
    }

    /// `buy 0.001 BTC-USDT market (base_ccy)` or `sell 0.5 ETH-USDT limit @ 3000.1`; an algo order is its type, then
    /// the order it places and its prices (`trigger: sell 0.001 BTC-USDT market (base_ccy) when the last price
    /// reaches 58000 (market)`).
    public static func describe(_ order: PlannedOrder) -> String {
        let r = order.request
        var text = "\(r.side.rawValue) \(DecimalText.format(r.sz)) \(r.instId) \(r.ordType.rawValue)"
        if let px = r.px { text += " @ \(DecimalText.format(px))" }
        if let tgtCcy = r.tgtCcy { text += " (\(tgtCcy))" }
        if let attached = r.attached { text += attached.description }
        if let algo = order.algo { return "\(algo.ordType.rawValue): " + text + algo.description }
        return text
    }
}
