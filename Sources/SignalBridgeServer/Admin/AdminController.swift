import Foundation
import Hummingbird
import NIOCore
import Prometheus
import SignalBridgeCore

/// The admin listener: `/healthz`, `/readyz` (SPEC 4) and `/metrics`.
struct AdminController: Sendable {
    let journal: Journal
    let intake: SignalIntake
    let marketData: MarketDataService
    let executor: OrderExecutor
    let metrics: PrometheusMetrics

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/healthz") { _, _ in
            JSONResponse.make(status: .ok, body: ["status": "ok"])
        }
        router.get("/readyz") { _, _ in
            let (ready, body) = await readiness()
            return JSONResponse.make(status: ready ? .ok : .serviceUnavailable, body: body)
        }
        router.get("/metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: metrics.render())))
        }
    }

    /// Whether the bridge can take signals and trade, and its state: the journal writable, the rules in force (count
    /// and hash), the exchange reachable, orders of unknown outcome, orders waiting to be sent (in all, and per
    /// instrument what each lane has waiting or in hand), the kill switch, the exchange's clock offset, and when not
    /// ready, `reasons` saying why.
    func readiness() async -> (ready: Bool, body: JSONValue) {
        let journalWritable = await journal.isWritable
        let rules = intake.ruleSet
        let exchangeReachable = marketData.isReachable
        var reasons: [JSONValue] = []
        if !journalWritable { reasons.append("the journal cannot take records (a write or fsync failed, or it is closed): restart the bridge") }
        if !exchangeReachable { reasons.append("the exchange has not answered within the last minute") }
        if executor.isStopping { reasons.append("the bridge is shutting down: nothing more is sent") }
        var object = JSONObject([
            ("ready", .bool(reasons.isEmpty)), ("journalWritable", .bool(journalWritable)), ("rules", .integer(rules.rules.count)),
            ("ruleSetHash", .string(rules.hash)), ("exchangeReachable", .bool(exchangeReachable)),
            ("unresolvedOrders", .integer(executor.unresolvedOrders)), ("queuedOrders", .integer(executor.queuedOrders)),
            ("queueDepth", .object(JSONObject(executor.queueDepths.sorted { $0.key < $1.key }.map { ($0.key, .integer($0.value)) }))),
            ("killSwitchEngaged", .bool(executor.killSwitch.isEngaged)),
            ("exchangeClockOffsetMs", .number(String((executor.exchangeClockOffset * 1000).rounded().wholeSeconds))),
        ])
        if !reasons.isEmpty { object["reasons"] = .array(reasons) }
        return (reasons.isEmpty, .object(object))
    }
}

/// The admin listener's router (`/healthz`, `/readyz`, `/metrics`), apart from the application, so that it can be
/// tested on its own.
public func buildAdminRouter(bridge: Bridge) -> Router<BasicRequestContext> {
    let router = Router()
    AdminController(
        journal: bridge.journal,
        intake: bridge.intake,
        marketData: bridge.marketData,
        executor: bridge.executor,
        metrics: bridge.metrics
    )
    .addRoutes(to: router)
    return router
}
