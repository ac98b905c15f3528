import Foundation

/// What has been ordered, per rule and per UTC day: the memory behind cooldowns and daily limits.
/// Rebuilt from the journal's `decision` records on start.
public struct RiskLedger: Sendable {
    /// One order decision, as counted by the guards.
    public struct Usage: Sendable, Equatable {
        public var ruleId: String
        public var time: Date
        public var orders: Int
        public var notional: Decimal
    }

    /// Order decisions of the last two days (daily limits need only today, cooldowns mostly less); those before
    /// `head` have aged out.
    private var recent: [Usage] = []
    private var head = 0
    /// The last order time of rules whose usage has aged out of `recent`, for long cooldowns.
    private var olderLastOrder: [String: Date] = [:]

    public init() {}

    static func utcDay(_ date: Date) -> Int { Int((date.timeIntervalSince1970 / 86400).rounded(.down)) }

    /// Counts an order decision.
    public mutating func record(_ usage: Usage) {
        recent.append(usage)
        let horizon = usage.time.addingTimeInterval(-2 * 86400)
        while head < recent.count, recent[head].time < horizon {
            let old = recent[head]
            olderLastOrder[old.ruleId] = max(olderLastOrder[old.ruleId] ?? old.time, old.time)
            head += 1
        }
        // Drop the aged-out prefix once it is most of the array: amortized constant time per usage.
        if head > 1024, head * 2 > recent.count {
            recent.removeFirst(head)
            head = 0
        }
    }

    /// The order decisions still counted, oldest first.
    public var usages: ArraySlice<Usage> { recent[head...] }

    /// The last order time of each rule whose orders are all older than ``usages`` holds.
    public var agedOutLastOrders: [String: Date] { olderLastOrder }

    /// Remembers that `ruleId` last ordered at `lastOrder`, before every usage counted (restoring a checkpoint).
    public mutating func recordAgedOut(ruleId: String, lastOrder: Date) {
        olderLastOrder[ruleId] = max(olderLastOrder[ruleId] ?? lastOrder, lastOrder)
    }

    /// Takes back a usage recorded for a signal that could not be journaled.
    public mutating func remove(_ usage: Usage) {
        if let index = recent[head...].lastIndex(of: usage) { recent.remove(at: index) }
    }

    /// When `ruleId` last ordered.
    public func lastOrder(ruleId: String) -> Date? {
        recent[head...].last(where: { $0.ruleId == ruleId })?.time ?? olderLastOrder[ruleId]
    }

    /// Orders `ruleId` placed on the UTC day of `now`.
    public func ordersToday(ruleId: String, now: Date) -> Int {
        today(now).filter { $0.ruleId == ruleId }.reduce(0) { $0 + $1.orders }
    }

    /// Notional `ruleId` ordered on the UTC day of `now`.
    public func notionalToday(ruleId: String, now: Date) -> Decimal {
        today(now).filter { $0.ruleId == ruleId }.reduce(0) { $0 + $1.notional }
    }

    /// Notional of all rules on the UTC day of `now`.
    public func notionalToday(now: Date) -> Decimal {
        today(now).reduce(0) { $0 + $1.notional }
    }

    private func today(_ now: Date) -> [Usage] {
        let day = Self.utcDay(now)
        return recent[head...].filter { Self.utcDay($0.time) == day }
    }
}
