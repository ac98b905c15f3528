import Foundation
import Hummingbird
import SignalBridgeCore
import Synchronization

/// `/sim/...`: routes that are not OKX's, for tests and paper trading to drive the simulator.
///
/// - `GET /sim/orders`: every order ever placed, oldest first, each with `createdAtMicros` (Unix microseconds).
/// - `GET /sim/requests`: how many authenticated requests each OKX path served (`data[0]`), and how many arrived,
///   counted before any injected latency (`data[1]`: a request in flight).
/// - `POST /sim/faults` `{"kind": "dropAnswer"|"serverError"|"rateLimit"|"busy", "count": N, "placed": true}`,
///   `{"kind": "latency", "ms": N}`, `{"kind": "wsDisconnect"}`, `{"kind": "outage", "seconds": N}` (every REST
///   request answers HTTP 503 and WebSockets close), `{"kind": "publicFeedDown", "seconds": N}` (the public WebSocket
///   closes and refuses connections, REST answers); `DELETE /sim/faults` clears them.
/// - `POST /sim/price` `{"instId": "BTC-USDT", "last": "61000"}`: moves the book; crossing limit orders fill.
/// - `POST /sim/depth` `{"instId": "BTC-USDT", "levelSz": "0.01"}`: each of the book's five levels a side holds that
///   much (`null`: unlimited, the default), so that orders fill in parts.
/// - `POST /sim/account` `{"acctLv": "2"}` and/or `{"ip": "203.0.113.7,203.0.113.8"}`: the account mode and the API key's
///   bound addresses `GET /api/v5/account/config` reports.
struct SimulatorControlRoutes: Sendable {
    let simulator: Simulator

    func addRoutes(to router: Router<SimulatorRequestContext>) {
        router.get("/sim/orders") { _, _ in
            OKXEnvelope.success(
                simulator.account.allOrders().map { order in
                    // When the order arrived, to the microsecond, for measuring webhook-to-order (`signalbridge-load`).
                    var object = OKXEnvelope.order(order).objectValue ?? JSONObject()
                    object["createdAtMicros"] = .integer(Int((order.createdAt.timeIntervalSince1970 * 1e6).rounded(.down)))
                    return .object(object)
                }
            )
        }
        router.get("/sim/requests") { _, _ in
            let counts = [simulator.requestCounts.withLock { $0 }, simulator.arrivalCounts.withLock { $0 }]
            return OKXEnvelope.success(counts.map { .object(JSONObject($0.sorted { $0.key < $1.key }.map { ($0.key, .integer($0.value)) })) })
        }
        router.post("/sim/faults") { request, _ in
            let body = try await Self.object(request)
            switch body["kind"]?.stringValue {
            case "latency":
                let ms = body["ms"]?.wholeNumber(in: 0...600_000) ?? 0
                simulator.faults.setLatency(.milliseconds(ms))
            case "wsDisconnect":
                simulator.faults.disconnectWebSockets()
            case "outage", "publicFeedDown":
                guard let seconds = body["seconds"]?.wholeNumber(in: 1...86400) else {
                    return OKXEnvelope.error("400", "an outage takes seconds, a whole number from 1 to 86400", status: .badRequest)
                }
                if body["kind"] == "outage" {
                    simulator.faults.startOutage(seconds: TimeInterval(seconds))
                } else {
                    simulator.faults.startPublicFeedOutage(seconds: TimeInterval(seconds))
                }
            case let kind?:
                guard let fault = Self.fault(kind, placed: body["placed"]?.boolValue ?? true) else {
                    return OKXEnvelope.error("400", "unknown fault kind \(kind)", status: .badRequest)
                }
                let count = body["count"]?.wholeNumber(in: 1...1_000_000) ?? 1
                simulator.faults.inject(fault, count: max(1, count))
            case nil:
                return OKXEnvelope.error("400", "kind is required", status: .badRequest)
            }
            return OKXEnvelope.success([])
        }
        router.delete("/sim/faults") { _, _ in
            simulator.faults.reset()
            return OKXEnvelope.success([])
        }
        router.post("/sim/price") { request, _ in
            let body = try await Self.object(request)
            guard let instId = body["instId"]?.stringValue, let last = body["last"]?.decimalValue, last > 0 else {
                return OKXEnvelope.error("400", "instId and a positive last are required", status: .badRequest)
            }
            simulator.account.setPrice(instId, last: last)
            return OKXEnvelope.success([])
        }
        router.post("/sim/depth") { request, _ in
            let body = try await Self.object(request)
            guard let instId = body["instId"]?.stringValue, simulator.account.ticker(instId) != nil else {
                return OKXEnvelope.error("400", "instId of a simulated instrument is required", status: .badRequest)
            }
            switch body["levelSz"] {
            case nil, .null?:
                simulator.account.setLevelSize(instId, nil)
            case let value?:
                let lot = simulator.account.instruments().first { $0.instId == instId }?.lotSz ?? 1
                guard let size = value.decimalValue, size > 0, size.isMultiple(of: lot) else {
                    return OKXEnvelope.error(
                        "400",
                        "levelSz must be a positive multiple of the lot size \(DecimalText.format(lot)) (base currency), or null for unlimited depth",
                        status: .badRequest
                    )
                }
                simulator.account.setLevelSize(instId, size)
            }
            return OKXEnvelope.success([])
        }
        router.post("/sim/account") { request, _ in
            let body = try await Self.object(request)
            let level = body["acctLv"]?.scalarText.flatMap(Int.init)
            let ip = body["ip"]?.stringValue
            guard level.map({ (1...4).contains($0) }) ?? (ip != nil), ip.map({ $0.utf8.count <= 1000 }) ?? true else {
                return OKXEnvelope.error(
                    "400",
                    "acctLv 1, 2, 3 or 4, or ip (comma-separated addresses, \"\" for none) is required",
                    status: .badRequest
                )
            }
            if let level { simulator.account.accountLevel = level }
            if let ip { simulator.account.boundIPs = ip }
            return OKXEnvelope.success([])
        }
    }

    static func fault(_ kind: String, placed: Bool) -> SimulatedFault? {
        switch kind {
        case "dropAnswer": return .dropAnswer
        case "serverError": return .serverError(placed: placed)
        case "rateLimit": return .rateLimited
        case "busy": return .busy
        default: return nil
        }
    }

    static func object(_ request: Request) async throws -> JSONObject {
        var request = request
        let bytes = try await request.collectBody(upTo: 1 << 16)
        return (try? JSONParser.parse(Array(bytes.readableBytesView)))?.objectValue ?? JSONObject()
    }
}
