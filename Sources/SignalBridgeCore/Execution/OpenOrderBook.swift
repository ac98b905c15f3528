import Foundation
import Synchronization

/// The orders the bridge has sent (or meant to) that have no final record yet, with what is known of each:
/// the executor adds and settles them, the follower reads them to catch up on fills.
public final class OpenOrderBook: Sendable {
    /// One open order.
    public struct Entry: Sendable, Equatable {
        public var intent: OrderIntent
        public var intentTime: Date
        public var ordId: String?
        /// The last state journaled (`live` once acknowledged, `partially_filled`), nil before the ack.
        public var state: String?
        public var accFillSz: Decimal = 0
    }

    private let entries = Mutex<[String: Entry]>([:])

    public init() {}

    /// Starts tracking `intent` (already accepted as `ordId`, when given).
    public func track(_ intent: OrderIntent, at time: Date, ordId: String? = nil) {
        entries.withLock { $0[intent.clOrdId] = $0[intent.clOrdId] ?? Entry(intent: intent, intentTime: time) }
        if let ordId { accepted(intent.clOrdId, ordId: ordId) }
    }

    /// Records the exchange's order id; an accepted order is `live` with nothing filled until told otherwise
    /// (`order.ack` says as much, so a push of that state is not journaled again).
    public func accepted(_ clOrdId: String, ordId: String) {
        entries.withLock { entries in
            guard var entry = entries[clOrdId] else { return }
            entry.ordId = ordId
            if entry.state == nil { entry.state = "live" }
            entries[clOrdId] = entry
        }
    }

    /// Stops tracking an order whose final record is journaled.
    public func settle(_ clOrdId: String) {
        _ = entries.withLock { $0.removeValue(forKey: clOrdId) }
    }

    /// Whether `status` says something new about a tracked order (so it deserves an `order.update`);
    /// remembers it, and settles the order when the state is final.
    public func record(_ status: OrderStatus) -> Bool {
        entries.withLock { entries in
            guard var entry = entries[status.clOrdId] else { return false }
            let changed = entry.state != status.state || entry.accFillSz != status.accFillSz
            entry.state = status.state
            entry.accFillSz = status.accFillSz
            entry.ordId = status.ordId
            entries[status.clOrdId] = status.isFinal ? nil : entry
            return changed
        }
    }

    /// Every open order.
    public var open: [Entry] { entries.withLock { Array($0.values) }.sorted { $0.intentTime < $1.intentTime } }

    /// The open order with `clOrdId`.
    public func entry(_ clOrdId: String) -> Entry? { entries.withLock { $0[clOrdId] } }
}
