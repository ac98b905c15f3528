import Prometheus

/// The bridge's Prometheus metrics, served on the admin listener's `/metrics`.
public struct BridgeMetrics: Sendable {
    /// The registry `/metrics` renders.
    public let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// `signalbridge_webhooks_total{outcome}`.
    static var webhooks: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "signalbridge",
            metricName: "webhooks",
            unitName: "total",
            helpText: "Webhooks received, by outcome"
        )
    }

    /// Counts one webhook answer by outcome (`accepted`, `duplicate`, or the refusal code).
    func webhook(_ outcome: String) {
        registry.makeCounter(descriptor: Self.webhooks, labels: [("outcome", outcome)]).increment()
    }
}
