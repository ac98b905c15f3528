import Prometheus
import SignalBridgeCore

/// The bridge's metrics (``BridgeMetrics``) kept in a Prometheus registry, which the admin listener's `/metrics`
/// renders; with histogram buckets sized for what each one measures.
public struct PrometheusMetrics: Sendable {
    /// The registry `/metrics` renders.
    public let registry: PrometheusCollectorRegistry
    /// What the bridge's components report to.
    public let metrics: BridgeMetrics

    /// A registry of its own: no other factory feeds it, so the buckets set here are the only ones its histograms have.
    public init() {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // A local fsync takes tens of microseconds to milliseconds; an exchange request milliseconds to seconds.
        factory.durationHistogramBuckets[BridgeMetrics.fsyncLatency] = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(100), .milliseconds(500), .seconds(1),
        ]
        factory.durationHistogramBuckets[BridgeMetrics.exchangeLatency] = [
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
        ]
        factory.valueHistogramBuckets[BridgeMetrics.fsyncBatch] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
        self.registry = registry
        self.metrics = BridgeMetrics(factory: factory)
    }

    /// The Prometheus text of every metric.
    public func render() -> [UInt8] { registry.emitToBuffer() }
}
