import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SignalBridgeCore

/// The simulator's OKX v5 REST front: the same paths, checks and answer shapes as OKX.
public struct SimulatorRouter: Sendable {
    /// How far `OK-ACCESS-TIMESTAMP` may be from the simulator's clock, as on OKX.
    public static let timestampWindow: TimeInterval = 30

    let account: SimulatedAccount
    let credentials: SimulatorCredentials
    let clock: @Sendable () -> Date

    public init(account: SimulatedAccount, credentials: SimulatorCredentials, clock: @escaping @Sendable () -> Date = Date.init) {
        self.account = account
        self.credentials = credentials
        self.clock = clock
    }

    /// A router serving `/api/v5/...`.
    public func buildRouter<Context: RequestContext>(context: Context.Type = BasicRequestContext.self) -> Router<Context> {
        let router = Router(context: Context.self)
        router.get("/api/v5/public/time") { _, _ in
            OKXEnvelope.success([.object(JSONObject([("ts", OKXEnvelope.millis(self.clock()))]))])
        }
        router.get("/api/v5/public/instruments") { request, _ in
            let type = request.uri.queryParameters.get("instType")
            guard type == "SPOT" else { return OKXEnvelope.error("51000", "Parameter instType error") }
            var list = self.account.instruments()
            if let instId = request.uri.queryParameters.get("instId") { list = list.filter { $0.instId == instId } }
            return OKXEnvelope.success(list.map(OKXEnvelope.instrument))
        }
        router.get("/api/v5/market/ticker") { request, _ in
            guard let instId = request.uri.queryParameters.get("instId"), let ticker = self.account.ticker(instId) else {
                return OKXEnvelope.error("51001", "Instrument ID does not exist.")
            }
            return OKXEnvelope.success([OKXEnvelope.ticker(ticker)])
        }
        router.get("/api/v5/account/balance") { request, _ in
            try await self.authenticated(request) { _ in
                let details = self.account.balances().map { balance -> JSONValue in
                    let amount = OKXEnvelope.string(balance.available)
                    return .object(JSONObject([
                        ("ccy", .string(balance.ccy)), ("availBal", amount), ("cashBal", amount), ("eq", amount), ("frozenBal", "0"), ("ordFrozen", "0"),
                    ]))
                }
                return OKXEnvelope.success([.object(JSONObject([("totalEq", ""), ("uTime", OKXEnvelope.millis(self.clock())), ("details", .array(details))]))])
            }
        }
        router.get("/api/v5/account/config") { request, _ in
            try await self.authenticated(request) { _ in
                OKXEnvelope.success([.object(JSONObject([("uid", "1000000001"), ("mainUid", "1000000001"), ("acctLv", "1"), ("posMode", "net_mode"), ("perm", "read_only,trade")]))])
            }
        }
        router.get("/api/v5/trade/order") { request, _ in
            try await self.authenticated(request) { _ in
                let query = request.uri.queryParameters
                guard let instId = query.get("instId"), !instId.isEmpty else {
                    return OKXEnvelope.error("50014", "Parameter instId can not be empty.")
                }
                guard let order = self.account.order(instId: instId, ordId: query.get("ordId"), clOrdId: query.get("clOrdId")) else {
                    return OKXEnvelope.error("51603", "Order does not exist")
                }
                return OKXEnvelope.success([OKXEnvelope.order(order)])
            }
        }
        router.post("/api/v5/trade/order") { request, _ in
            try await self.authenticated(request) { body in
                if let expiry = request.headers[HTTPField.Name("expTime")!].flatMap({ Int64($0) }),
                    Int64(self.clock().timeIntervalSince1970 * 1000) > expiry
                {
                    return OKXEnvelope.error("50037", "Order expired.")
                }
                guard let json = try? JSONParser.parse(body), let order = OrderRequest(json: json) else {
                    return OKXEnvelope.error("50014", "Parameter instId, side, ordType or sz can not be empty or is invalid.")
                }
                let ts = OKXEnvelope.millis(self.clock())
                do throws(SimulatedRejection) {
                    let placed = try self.account.place(order)
                    return OKXEnvelope.success([.object(JSONObject([
                        ("clOrdId", .string(placed.clOrdId)), ("ordId", .string(placed.ordId)), ("tag", ""), ("ts", ts),
                        ("sCode", "0"), ("sMsg", "Order placed"), ("subCode", ""),
                    ]))])
                } catch {
                    let entry = JSONValue.object(JSONObject([
                        ("clOrdId", .string(order.clOrdId)), ("ordId", ""), ("tag", ""), ("ts", ts), ("sCode", .string(error.sCode)),
                        ("sMsg", .string(error.sMsg)), ("subCode", ""),
                    ]))
                    return OKXEnvelope.response(status: .ok, JSONValue.object(JSONObject([("code", "1"), ("msg", "All operations failed"), ("data", .array([entry]))])))
                }
            }
        }
        router.get("/sim/orders") { _, _ in
            // Simulator only (not an OKX path): every order ever placed, for tests and paper-trading checks.
            OKXEnvelope.success(self.account.allOrders().map(OKXEnvelope.order))
        }
        return router
    }

    /// Checks OKX's four authentication headers and the signature over the exact request, then runs `body`.
    func authenticated(_ request: Request, _ handler: ([UInt8]) async throws -> Response) async throws -> Response {
        var request = request
        let buffer = try await request.collectBody(upTo: 1 << 20)
        let body = Array(buffer.readableBytesView)
        func header(_ name: String) -> String? { request.headers[HTTPField.Name(name)!] }
        guard let key = header("OK-ACCESS-KEY"), !key.isEmpty else {
            return OKXEnvelope.error("50103", "Request header OK-ACCESS-KEY can not be empty.", status: .unauthorized)
        }
        guard let passphrase = header("OK-ACCESS-PASSPHRASE"), !passphrase.isEmpty else {
            return OKXEnvelope.error("50104", "Request header OK-ACCESS-PASSPHRASE can not be empty.", status: .unauthorized)
        }
        guard let signature = header("OK-ACCESS-SIGN"), !signature.isEmpty else {
            return OKXEnvelope.error("50106", "Request header OK-ACCESS-SIGN can not be empty.", status: .unauthorized)
        }
        guard let timestamp = header("OK-ACCESS-TIMESTAMP"), !timestamp.isEmpty else {
            return OKXEnvelope.error("50107", "Request header OK-ACCESS-TIMESTAMP can not be empty.", status: .unauthorized)
        }
        guard Self.isRESTTimestamp(timestamp), let time = Timestamp.parse(timestamp) else {
            return OKXEnvelope.error("50112", "Invalid OK-ACCESS-TIMESTAMP", status: .unauthorized)
        }
        guard abs(time.timeIntervalSince(clock())) <= Self.timestampWindow else {
            return OKXEnvelope.error("50102", "Timestamp request expired", status: .unauthorized)
        }
        guard ConstantTime.equals(Array(key.utf8), Array(credentials.apiKey.utf8)) else {
            return OKXEnvelope.error("50111", "Invalid OK-ACCESS-KEY", status: .unauthorized)
        }
        guard ConstantTime.equals(Array(passphrase.utf8), credentials.passphrase.bytes) else {
            return OKXEnvelope.error("50105", "OK-ACCESS-PASSPHRASE incorrect.", status: .unauthorized)
        }
        let valid = OKXSignature.isValid(
            signature, timestamp: timestamp, method: request.method.rawValue, requestPath: request.uri.string, body: body,
            secret: credentials.secretKey)
        guard valid else { return OKXEnvelope.error("50113", "Invalid Sign", status: .unauthorized) }
        return try await handler(body)
    }

    /// Whether `text` has OKX's REST timestamp shape, `2020-12-08T09:08:57.715Z`.
    static func isRESTTimestamp(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 24 else { return false }
        for (i, byte) in bytes.enumerated() {
            switch i {
            case 4, 7: if byte != UInt8(ascii: "-") { return false }
            case 10: if byte != UInt8(ascii: "T") { return false }
            case 13, 16: if byte != UInt8(ascii: ":") { return false }
            case 19: if byte != UInt8(ascii: ".") { return false }
            case 23: if byte != UInt8(ascii: "Z") { return false }
            default: if !(0x30...0x39).contains(byte) { return false }
            }
        }
        return true
    }
}
