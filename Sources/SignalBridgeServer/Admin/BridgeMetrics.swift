import Prometheus

/// The bridge's Prometheus metrics, served on the admin listener's `/metrics`.
public struct BridgeMetrics: Sendable {
    /// The registry `/metrics` renders.
    public let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// Counts one webhook answer by outcome (`accepted`, `duplicate`, or the refusal code).
    func webhook(_ outcome: String) {
        registry.makeCounter(
            name: "signalbridge_webhooks_total", labels: [("outcome", outcome)], help: "Webhooks received, by outcome"
        ).increment()
    }
}
