import CoreMetrics
import Synchronization

/// The bridge's metrics, reported through swift-metrics to whatever backend the factory is (the server serves them
/// as Prometheus text on `/metrics`). Names and labels are listed in README "Metrics".
///
/// Every label value is bounded: sources and rules are the configured ones (an unknown source is `(unknown)`), order
/// states are OKX's (anything else is `other`), endpoints are the paths the client calls. Handlers are made once per
/// label set and kept, so counting costs a dictionary lookup.
public final class BridgeMetrics: Sendable {
    private let factory: any MetricsFactory
    private let handlers = Mutex<[HandlerKey: any Sendable]>([:])

    private struct HandlerKey: Hashable {
        var name: String
        var labels: [String]
    }

    /// - Parameter factory: where the metrics go; by default the process's `MetricsSystem` (a no-op until bootstrapped).
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
    }

    // MARK: - Names

    /// `signalbridge_signals_total{source, outcome}`: webhooks answered, by source and outcome (`accepted`,
    /// `duplicate`, or the refusal's error code).
    public static let signals = "signalbridge_signals_total"
    /// `signalbridge_decisions_total{rule, outcome}`: journaled decisions, by rule (`(none)` when no rule matched) and
    /// outcome.
    public static let decisions = "signalbridge_decisions_total"
    /// `signalbridge_orders_total{state}`: order records journaled, by the state they record.
    public static let orders = "signalbridge_orders_total"
    /// `signalbridge_orders_unknown`: orders whose outcome is unknown now (being looked up).
    public static let unknownOrders = "signalbridge_orders_unknown"
    /// `signalbridge_execution_queue_depth{instrument}`: orders waiting or being sent, per instrument.
    public static let queueDepth = "signalbridge_execution_queue_depth"
    /// `signalbridge_exchange_request_duration_seconds{endpoint}`: exchange requests, histogram.
    public static let exchangeLatency = "signalbridge_exchange_request_duration_seconds"
    /// `signalbridge_journal_fsync_duration_seconds`: each journal fsync, histogram.
    public static let fsyncLatency = "signalbridge_journal_fsync_duration_seconds"
    /// `signalbridge_journal_fsync_batch_records`: records made durable by one fsync (group commit), histogram.
    public static let fsyncBatch = "signalbridge_journal_fsync_batch_records"
    /// `signalbridge_rule_reloads_total{outcome}`: rule reloads, `loaded` or `refused`.
    public static let ruleReloads = "signalbridge_rule_reloads_total"

    /// `signalbridge_notifications_total{event, outcome}`: notices delivered (`sent`) or given up (`failed`, after
    /// their retries, or dropped when a target's queue was full).
    public static let notifications = "signalbridge_notifications_total"

    /// `signalbridge_price_age_seconds{instrument, source}`: the age of the freshest price of each instrument the rules
    /// can order, and whether it was pushed or polled.
    public static let priceAge = "signalbridge_price_age_seconds"
    /// `signalbridge_market_feed_connected`: 1 while the public WebSocket feed of tickers is subscribed, else 0.
    public static let marketFeed = "signalbridge_market_feed_connected"

    /// The order states counted by name; any other is counted as `other`.
    static let orderStates: Set<String> = [
        "intent", "accepted", "rejected", "unknown", "retry", "abandoned", "live", "partially_filled", "filled", "canceled",
        "mmp_canceled",
    ]

    // MARK: - Reporting

    /// One webhook answered. `source` must be a configured source's name or nil.
    public func signal(source: String?, outcome: String) {
        counter(Self.signals, [("source", source ?? "(unknown)"), ("outcome", outcome)]).increment()
    }

    /// Counts the decisions and order records among `entries`, once they are durable.
    public func journaled(_ entries: [JournalEntry]) {
        for entry in entries {
            switch entry.type {
            case .decision:
                let rule = entry.fields["ruleId"]?.stringValue ?? "(none)"
                let outcome = entry.fields["outcome"]?.stringValue ?? "other"
                counter(Self.decisions, [("rule", rule), ("outcome", outcome)]).increment()
            case .orderIntent: order("intent")
            case .orderAck: order("accepted")
            case .orderReject: order("rejected")
            case .orderUnknown: order("unknown")
            case .orderRetry: order("retry")
            case .orderAbandoned: order("abandoned")
            case .orderUpdate: order(entry.fields["state"]?.stringValue ?? "other")
            default: break
            }
        }
    }

    private func order(_ state: String) {
        counter(Self.orders, [("state", Self.orderStates.contains(state) ? state : "other")]).increment()
    }

    /// How many orders have an unknown outcome now.
    public func unknownOrders(_ count: Int) {
        gauge(Self.unknownOrders, []).record(count)
    }

    /// How many orders of `instrument` wait or are being sent now.
    public func queueDepth(instrument: String, _ depth: Int) {
        gauge(Self.queueDepth, [("instrument", instrument)]).record(depth)
    }

    /// The freshest price of `instrument` is `seconds` old and came by `source` (`push` or `poll`); the other source's
    /// series is set to -1.
    public func priceAge(instrument: String, seconds: Double, source: String) {
        for kind in ["push", "poll"] {
            gauge(Self.priceAge, [("instrument", instrument), ("source", kind)]).record(kind == source ? seconds : -1)
        }
    }

    /// Whether the public WebSocket feed of tickers is subscribed.
    public func marketFeed(connected: Bool) {
        gauge(Self.marketFeed, []).record(connected ? 1 : 0)
    }

    /// One exchange request to `endpoint` (a path without its query) took `duration`.
    public func exchangeRequest(endpoint: String, _ duration: Duration) {
        timer(Self.exchangeLatency, [("endpoint", endpoint)]).recordNanoseconds(Self.nanoseconds(duration))
    }

    /// One journal fsync took `duration` and made `records` records durable.
    public func journalSync(_ duration: Duration, records: Int) {
        timer(Self.fsyncLatency, []).recordNanoseconds(Self.nanoseconds(duration))
        histogram(Self.fsyncBatch, []).record(records)
    }

    /// A rule reload, put in force (`loaded`) or `refused`.
    public func ruleReload(_ outcome: String) {
        counter(Self.ruleReloads, [("outcome", outcome)]).increment()
    }

    /// One notice of `event` to one target, `sent` or `failed`.
    public func notification(event: NotificationEvent, outcome: String) {
        counter(Self.notifications, [("event", event.rawValue), ("outcome", outcome)]).increment()
    }

    /// `duration` in whole nanoseconds, saturating.
    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        let (total, overflowAgain) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        guard !overflowAgain else { return seconds < 0 ? .min : .max }
        return total
    }

    // MARK: - Handlers

    /// The handler of `name` with `labels`, made by `make` the first time (a name always has one kind of handler).
    private func handler<H: Sendable>(_ name: String, _ labels: [(String, String)], make: () -> H) -> H {
        let key = HandlerKey(name: name, labels: labels.map(\.1))
        return handlers.withLock { handlers in
            if let handler = handlers[key] as? H { return handler }
            let handler = make()
            handlers[key] = handler
            return handler
        }
    }

    private func counter(_ name: String, _ labels: [(String, String)]) -> Counter {
        handler(name, labels) { Counter(label: name, dimensions: labels, factory: factory) }
    }

    private func gauge(_ name: String, _ labels: [(String, String)]) -> Gauge {
        handler(name, labels) { Gauge(label: name, dimensions: labels, factory: factory) }
    }

    private func timer(_ name: String, _ labels: [(String, String)]) -> CoreMetrics.Timer {
        handler(name, labels) { CoreMetrics.Timer(label: name, dimensions: labels, factory: factory) }
    }

    private func histogram(_ name: String, _ labels: [(String, String)]) -> Recorder {
        handler(name, labels) { Recorder(label: name, dimensions: labels, aggregate: true, factory: factory) }
    }
}
