import Foundation
import Hummingbird
import NIOCore
import Prometheus
import SignalBridgeCore

/// The admin listener: `/healthz`, `/readyz` (journal writable, rules loaded, exchange reachable) and `/metrics`.
struct AdminController: Sendable {
    let journal: Journal
    let intake: SignalIntake
    let marketData: MarketDataService
    let executor: OrderExecutor
    let metrics: BridgeMetrics

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/healthz") { _, _ in
            JSONResponse.make(status: .ok, body: ["status": "ok"])
        }
        router.get("/readyz") { _, _ in
            let journalWritable = await journal.isWritable
            let rules = intake.ruleSet
            let exchangeReachable = marketData.isReachable
            let ready = journalWritable && exchangeReachable
            let body: JSONValue = .object(
                JSONObject([
                    ("ready", .bool(ready)), ("journalWritable", .bool(journalWritable)), ("rules", .integer(rules.rules.count)),
                    ("ruleSetHash", .string(rules.hash)), ("exchangeReachable", .bool(exchangeReachable)),
                    ("unresolvedOrders", .integer(executor.unresolvedOrders)), ("killSwitchEngaged", .bool(executor.killSwitch.isEngaged)),
                    ("exchangeClockOffsetMs", .number(String((executor.exchangeClockOffset * 1000).rounded().wholeSeconds))),
                ])
            )
            return JSONResponse.make(status: ready ? .ok : .serviceUnavailable, body: body)
        }
        router.get("/metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer())))
        }
    }
}
