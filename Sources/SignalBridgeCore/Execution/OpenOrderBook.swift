import Foundation
import Synchronization

/// An order without a final record: its intent and its life so far. Replay rebuilds these from the journal on
/// start; the executor and the order follower keep them in the ``OpenOrderBook`` while the process runs.
public struct OpenOrder: Sendable, Equatable {
    public var intent: OrderIntent
    /// When the intent was journaled.
    public var intentTime: Date
    /// Its life as the journal tells it; never in a final state while the order is open.
    public var lifecycle: OrderLifecycle

    public init(intent: OrderIntent, intentTime: Date, lifecycle: OrderLifecycle = .folding([.intent])) {
        self.intent = intent
        self.intentTime = intentTime
        self.lifecycle = lifecycle
    }

    public var clOrdId: String { intent.clOrdId }
    public var instId: String { intent.request.instId }
    public var state: OrderState { lifecycle.state }
    /// The exchange's order id, once the order was acknowledged or found.
    public var ordId: String? { lifecycle.ordId }
    /// Whether it rests on the exchange's book (acknowledged, not final), so it can be canceled.
    public var isResting: Bool { ordId != nil && (state == .live || state == .partiallyFilled) }
}

/// The orders the bridge has sent (or meant to) that have no final record yet: the executor tracks them and feeds
/// every event it journals about them through their ``OrderLifecycle``; the follower reads them to catch up on
/// fills. An order leaves the book when its lifecycle reaches a final state.
public final class OpenOrderBook: Sendable {
    private let orders = Mutex<[String: OpenOrder]>([:])

    public init() {}

    /// Starts tracking `order` (a new intent, or one a previous run left open); an order already tracked stays as it is.
    public func track(_ order: OpenOrder) {
        orders.withLock { $0[order.clOrdId] = $0[order.clOrdId] ?? order }
    }

    /// Feeds `event` to the order's lifecycle and says what to do next; an order it makes final leaves the book.
    /// `.none` for an order not tracked.
    @discardableResult
    public func apply(_ event: OrderEvent, to clOrdId: String) -> OrderLifecycle.Action {
        orders.withLock { orders in
            guard var order = orders[clOrdId] else { return .none }
            let action = order.lifecycle.apply(event)
            orders[clOrdId] = order.lifecycle.state.isFinal ? nil : order
            return action
        }
    }

    /// Feeds the order events among `entries` (records about to be journaled) to their orders' lifecycles.
    /// - Returns: what the last of them says to do next.
    @discardableResult
    public func apply(_ entries: [JournalEntry]) -> OrderLifecycle.Action {
        var action = OrderLifecycle.Action.none
        for entry in entries {
            if let (clOrdId, event) = OrderEvent.decode(type: entry.type, fields: { entry.fields[$0] }) { action = apply(event, to: clOrdId) }
        }
        return action
    }

    /// Whether `status` says something new about a tracked order (a state or filled size the lifecycle does not
    /// have yet), so that it deserves an `order.update`; if so, feeds it to the lifecycle at once, so that the
    /// executor and the follower never both journal the same change.
    public func claim(_ status: OrderStatus) -> Bool {
        orders.withLock { orders in
            guard var order = orders[status.clOrdId] else { return false }
            let before = order.lifecycle
            _ = order.lifecycle.apply(.update(status))
            guard
                order.lifecycle.state != before.state || order.lifecycle.filledSize != before.filledSize
                    || order.lifecycle.algo != before.algo
            else { return false }
            orders[status.clOrdId] = order.lifecycle.state.isFinal ? nil : order
            return true
        }
    }

    /// Every open order, oldest intent first.
    public var open: [OpenOrder] { orders.withLock { Array($0.values) }.sorted { $0.intentTime < $1.intentTime } }

    /// The open order with `clOrdId`.
    public func order(_ clOrdId: String) -> OpenOrder? { orders.withLock { $0[clOrdId] } }
}
