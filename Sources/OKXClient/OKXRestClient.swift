import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import SignalBridgeCore

/// The OKX v5 REST client: signs every private request (SPEC section 7), sends `expTime` on orders,
/// and maps answers to what they mean for the bridge: accepted, rejected, unknown, or retry later.
public struct OKXRestClient: Exchange {
    /// How long one request may take before its outcome is unknown (10 s unless set).
    let requestTimeout: TimeAmount

    let baseURL: String
    /// The private WebSocket URL, when not derived from `baseURL`.
    let webSocketURL: String?
    /// The public WebSocket URL (tickers), when not derived from `baseURL`.
    let publicWebSocketURL: String?
    let credentials: OKXCredentials
    let demo: Bool
    let httpClient: HTTPClient
    let logger: Logger
    let metrics: BridgeMetrics

    /// The process's client for OKX: it follows no redirect, since a redirected request would carry the API key,
    /// passphrase and signature (and an order's body) to wherever the redirect points, perhaps in clear.
    public static let okxHTTPClient = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup,
        configuration: HTTPClient.Configuration(redirectConfiguration: .disallow)
    )
    let clock: @Sendable () -> Date

    /// - Parameters:
    ///   - baseURL: `https://www.okx.com`, a regional host, or `http://127.0.0.1:PORT` for the simulator.
    ///   - demo: adds `x-simulated-trading: 1`.
    ///   - httpClient: the pooled client (by default ``okxHTTPClient``, which never follows a redirect).
    ///   - metrics: where each request's duration is recorded, by endpoint (its path without the query).
    public init(
        baseURL: String,
        credentials: OKXCredentials,
        demo: Bool,
        httpClient: HTTPClient = okxHTTPClient,
        requestTimeout: TimeAmount = .seconds(10),
        webSocketURL: String? = nil,
        publicWebSocketURL: String? = nil,
        logger: Logger,
        metrics: BridgeMetrics = BridgeMetrics(),
        clock: @escaping @Sendable () -> Date = Date.init
    ) {
        self.metrics = metrics
        self.requestTimeout = requestTimeout
        self.webSocketURL = webSocketURL
        self.publicWebSocketURL = publicWebSocketURL
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.credentials = credentials
        self.demo = demo
        self.httpClient = httpClient
        self.logger = logger
        self.clock = clock
    }

    public func instruments() async throws(ExchangeError) -> [Instrument] {
        let data = try await fetch(.GET, "/api/v5/public/instruments", query: [("instType", "SPOT")], signed: false)
        return data.compactMap(Self.instrument)
    }

    public func ticker(instId: String) async throws(ExchangeError) -> Ticker {
        let data = try await fetch(.GET, "/api/v5/market/ticker", query: [("instId", instId)], signed: false)
        guard let ticker = data.first?.objectValue.flatMap({ Self.ticker($0, now: clock()) }) else {
            throw ExchangeError(message: "OKX sent a ticker of \(instId) without last, bidPx or askPx", retryable: true)
        }
        return ticker
    }

    /// A ticker as OKX sends it (REST or the `tickers` channel): `instId`, and `last`, `bidPx`, `askPx` positive and
    /// in range, the bid not above the ask; `ts` (Unix ms) or `now`.
    static func ticker(_ object: JSONObject, now: Date) -> Ticker? {
        guard let instId = object["instId"]?.stringValue, let last = object["last"]?.decimalValue,
            let bid = object["bidPx"]?.decimalValue, let ask = object["askPx"]?.decimalValue, last > 0, bid > 0, ask > 0, bid <= ask
        else { return nil }
        return Ticker(
            instId: instId,
            last: last,
            bid: bid,
            ask: ask,
            time: object["ts"]?.decimalValue.flatMap { Date(unixMilliseconds: $0) } ?? now
        )
    }

    public func balances() async throws(ExchangeError) -> [Balance] {
        let data = try await fetch(.GET, "/api/v5/account/balance", query: [], signed: true)
        let details = data.first?.objectValue?["details"]?.arrayValue ?? []
        return details.compactMap { entry in
            guard let object = entry.objectValue, let ccy = object["ccy"]?.stringValue else { return nil }
            return Balance(ccy: ccy, available: object["availBal"]?.decimalValue ?? object["availEq"]?.decimalValue ?? 0)
        }
    }

    public func place(_ order: OrderRequest, expiresAt: Date) async -> PlacementOutcome {
        await place("/api/v5/trade/order", order.json, expiresAt: expiresAt, idKey: "ordId")
    }

    /// Places an algo order (`POST /api/v5/trade/order-algo`), with `expTime` as on orders.
    public func placeAlgo(_ order: AlgoOrderRequest, expiresAt: Date) async -> PlacementOutcome {
        await place("/api/v5/trade/order-algo", order.json, expiresAt: expiresAt, idKey: "algoId")
    }

    /// Posts one order `body` to `path` with `expTime`; `idKey` names the exchange's id in the answer.
    private func place(_ path: String, _ body: JSONValue, expiresAt: Date, idKey: String) async -> PlacementOutcome {
        let result = await request(
            .POST,
            path,
            query: [],
            body: body.jsonBytes,
            signed: true,
            extraHeaders: [("expTime", Self.milliseconds(expiresAt))]
        )
        switch result {
        case .success(let data):
            guard let entry = data.first?.objectValue else { return .unknown(reason: "OKX answered success without an order") }
            return Self.outcome(entry, idKey: idKey)
        case .failure(let failure):
            return Self.outcome(failure)
        }
    }

    /// What one `data[]` entry of an order answer means (`idKey`: the field of the exchange's id, `algoId` for an
    /// algo order).
    static func outcome(_ entry: JSONObject, idKey: String = "ordId") -> PlacementOutcome {
        let sCode = entry["sCode"]?.scalarText ?? "0"
        if sCode == "0" {
            guard let ordId = entry[idKey]?.stringValue, !ordId.isEmpty else { return .unknown(reason: "OKX accepted the order without an \(idKey)") }
            return .accepted(ordId: ordId)
        }
        return OKXAnswers.refusal(code: sCode, message: entry["sMsg"]?.stringValue ?? "", httpStatus: 200)
    }

    /// What a failed order request means.
    static func outcome(_ failure: Failure) -> PlacementOutcome {
        switch failure {
        case .transport(let reason), .ambiguous(let reason): return .unknown(reason: reason)
        case .partial: return .unknown(reason: "OKX answered a partial success to a single order")
        case .refused(let error) where error.retryable: return .notPlaced(reason: error.description)
        case .refused(let error): return OKXAnswers.refusal(code: error.code ?? "", message: error.message, httpStatus: 200)
        }
    }

    public func order(instId: String, clOrdId: String) async throws(ExchangeError) -> OrderStatus? {
        guard let status = try await lookUp("/api/v5/trade/order", query: [("instId", instId), ("clOrdId", clOrdId)], Self.orderStatus) else {
            return nil
        }
        return try OrderStatus.answering(clOrdId, status)
    }

    public func order(instId: String, ordId: String) async throws(ExchangeError) -> OrderStatus? {
        let status = try await lookUp("/api/v5/trade/order", query: [("instId", instId), ("ordId", ordId)], Self.orderStatus)
        guard status == nil || status?.ordId == ordId else {
            throw ExchangeError(message: "OKX answered a lookup of order \(ordId) with another order", retryable: true)
        }
        return status
    }

    public func algoOrder(instId: String, algoClOrdId: String) async throws(ExchangeError) -> AlgoStatus? {
        try await lookUp("/api/v5/trade/order-algo", query: [("algoClOrdId", algoClOrdId)], Self.algoStatus)
    }

    /// Cancels a live algo order (`POST /api/v5/trade/cancel-algos`, one entry).
    public func cancelAlgo(instId: String, algoId: String) async throws(ExchangeError) {
        let body = JSONValue.array([.object(JSONObject([("instId", .string(instId)), ("algoId", .string(algoId))]))])
        _ = try await fetch(.POST, "/api/v5/trade/cancel-algos", query: [], body: body.jsonBytes, signed: true)
    }

    /// The one thing a lookup at `path` answers, read by `read`; nil when OKX says there is none (51603).
    private func lookUp<Found>(
        _ path: String,
        query: [(String, String)],
        _ read: (JSONObject) -> Found?
    ) async throws(ExchangeError) -> Found? {
        switch await request(.GET, path, query: query, signed: true) {
        case .failure(.refused(let error)) where error.code == "51603": return nil
        case .failure(let failure): throw failure.exchangeError
        case .success(let data):
            // Only 51603 says there is no such order: an answer without a readable order, or about another order,
            // says nothing, and treating it as "not found" would send the order a second time.
            guard let found = data.first?.objectValue.flatMap(read) else {
                throw ExchangeError(message: "OKX answered a lookup without a readable order", retryable: true)
            }
            return found
        }
    }

    public func accountLevel() async throws(ExchangeError) -> Int {
        try await accountConfiguration().level
    }

    /// The account mode and the permissions of the API key (`GET /api/v5/account/config`).
    public func accountConfiguration() async throws(ExchangeError) -> OKXAccountConfiguration {
        let data = try await fetch(.GET, "/api/v5/account/config", query: [], signed: true)
        guard let object = data.first?.objectValue, let level = object["acctLv"]?.scalarText.flatMap(Int.init) else {
            throw ExchangeError(message: "OKX sent an account configuration without acctLv", retryable: true)
        }
        let permissions = (object["perm"]?.stringValue ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let addresses = (object["ip"]?.stringValue ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return OKXAccountConfiguration(level: level, permissions: permissions, ipAddresses: addresses)
    }

    /// The exchange's clock (`GET /api/v5/public/time`), to measure skew.
    public func serverTime() async throws(ExchangeError) -> Date {
        let data = try await fetch(.GET, "/api/v5/public/time", query: [], signed: false)
        guard let time = data.first?.objectValue?["ts"]?.decimalValue.flatMap({ Date(unixMilliseconds: $0) }) else {
            throw ExchangeError(message: "OKX sent a time without a valid ts", retryable: true)
        }
        return time
    }

    /// Every spot ticker (`GET /api/v5/market/tickers?instType=SPOT`).
    public func tickers() async throws(ExchangeError) -> [Ticker] {
        let data = try await fetch(.GET, "/api/v5/market/tickers", query: [("instType", "SPOT")], signed: false)
        return data.compactMap { $0.objectValue.flatMap { Self.ticker($0, now: clock()) } }
    }

    /// Places up to 20 orders in one request (`POST /api/v5/trade/batch-orders`), one outcome per order.
    public func placeBatch(_ orders: [OrderRequest], expiresAt: Date) async -> [PlacementOutcome] {
        let body = JSONValue.array(orders.map(\.json)).jsonBytes
        let result = await request(
            .POST,
            "/api/v5/trade/batch-orders",
            query: [],
            body: body,
            signed: true,
            extraHeaders: [("expTime", Self.milliseconds(expiresAt))]
        )
        switch result {
        case .success(let data), .failure(.partial(let data)):
            return orders.indices.map { index in
                guard index < data.count, let entry = data[index].objectValue else { return .unknown(reason: "OKX sent no result for this order") }
                return Self.outcome(entry)
            }
        case .failure(let failure):
            return Array(repeating: Self.outcome(failure), count: orders.count)
        }
    }

    /// Cancels the resting order with `clOrdId`.
    public func cancel(instId: String, clOrdId: String) async throws(ExchangeError) {
        try await cancel(instId: instId, ordId: nil, clOrdId: clOrdId)
    }

    /// Cancels a resting order by `ordId` or `clOrdId`; OKX's `sCode` `"0"` means the cancel was accepted.
    public func cancel(instId: String, ordId: String?, clOrdId: String?) async throws(ExchangeError) {
        var body = JSONObject([("instId", .string(instId))])
        if let ordId { body["ordId"] = .string(ordId) }
        if let clOrdId { body["clOrdId"] = .string(clOrdId) }
        _ = try await fetch(.POST, "/api/v5/trade/cancel-order", query: [], body: JSONValue.object(body).jsonBytes, signed: true)
    }

    /// Orders still on the book (`GET /api/v5/trade/orders-pending`).
    public func pendingOrders(instId: String? = nil) async throws(ExchangeError) -> [OrderStatus] {
        let query = [("instType", "SPOT")] + (instId.map { [("instId", $0)] } ?? [])
        return try await fetch(.GET, "/api/v5/trade/orders-pending", query: query, signed: true).compactMap {
            $0.objectValue.flatMap(Self.orderStatus)
        }
    }

    /// Recent fills (`GET /api/v5/trade/fills`), newest first.
    public func fills(instId: String? = nil, ordId: String? = nil) async throws(ExchangeError) -> [Fill] {
        let query = [("instType", "SPOT")] + (instId.map { [("instId", $0)] } ?? []) + (ordId.map { [("ordId", $0)] } ?? [])
        return try await fetch(.GET, "/api/v5/trade/fills", query: query, signed: true).compactMap { value in
            guard let o = value.objectValue, let tradeId = o["tradeId"]?.stringValue, let px = o["fillPx"]?.decimalValue,
                let sz = o["fillSz"]?.decimalValue
            else { return nil }
            return Fill(
                tradeId: tradeId,
                ordId: o["ordId"]?.stringValue ?? "",
                clOrdId: o["clOrdId"]?.stringValue ?? "",
                instId: o["instId"]?.stringValue ?? "",
                fillPx: px,
                fillSz: sz,
                fee: o["fee"]?.decimalValue ?? 0,
                feeCcy: o["feeCcy"]?.stringValue ?? ""
            )
        }
    }

    // MARK: - Transport

    /// Why a request did not succeed.
    enum Failure: Error {
        /// Nothing reached OKX, or nothing came back: the outcome is unknown.
        case transport(String)
        /// OKX answered, but in a way that does not settle the outcome (HTTP 5xx, 50004, 51149 …).
        case ambiguous(String)
        /// OKX answered with an error code.
        case refused(ExchangeError)
        /// A batch partly succeeded (`code` `"2"`): the per-order results.
        case partial([JSONValue])

        var exchangeError: ExchangeError {
            switch self {
            case .transport(let reason), .ambiguous(let reason): return ExchangeError(message: reason, retryable: true)
            case .refused(let error): return error
            case .partial: return ExchangeError(code: "2", message: "OKX answered a partial success", retryable: false)
            }
        }
    }

    /// The `data` of a successful answer.
    func fetch(
        _ method: HTTPMethod,
        _ path: String,
        query: [(String, String)],
        body: [UInt8] = [],
        signed: Bool
    ) async throws(ExchangeError) -> [JSONValue] {
        switch await request(method, path, query: query, body: body, signed: signed) {
        case .success(let data): return data
        case .failure(let failure): throw failure.exchangeError
        }
    }

    /// Codes that say the outcome of an order request is unknown (reference/okx-v5.md section 3.4).

    func request(
        _ method: HTTPMethod,
        _ path: String,
        query: [(String, String)],
        body: [UInt8] = [],
        signed: Bool,
        extraHeaders: [(String, String)] = []
    ) async -> Result<[JSONValue], Failure> {
        let requestPath = path + Self.queryString(query)
        var request = HTTPClientRequest(url: baseURL + requestPath)
        request.method = method
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json")
        if demo { request.headers.add(name: "x-simulated-trading", value: "1") }
        if signed {
            let timestamp = OKXSignature.timestamp(clock())
            let sign = OKXSignature.sign(
                timestamp: timestamp,
                method: method.rawValue,
                requestPath: requestPath,
                body: body,
                secret: credentials.secretKey
            )
            request.headers.add(name: "OK-ACCESS-KEY", value: credentials.apiKey.text)
            request.headers.add(name: "OK-ACCESS-SIGN", value: sign)
            request.headers.add(name: "OK-ACCESS-TIMESTAMP", value: timestamp)
            request.headers.add(name: "OK-ACCESS-PASSPHRASE", value: credentials.passphrase.text)
        }
        for (name, value) in extraHeaders { request.headers.add(name: name, value: value) }
        if !body.isEmpty { request.body = .bytes(ByteBuffer(bytes: body)) }

        let status: UInt
        let bytes: [UInt8]
        let started = ContinuousClock.now
        defer { metrics.exchangeRequest(endpoint: path, ContinuousClock.now - started) }
        do {
            let response = try await httpClient.execute(request, timeout: requestTimeout)
            status = response.status.code
            bytes = Array(try await response.body.collect(upTo: 4 << 20).readableBytesView)
        } catch {
            logger.warning("okx: no answer", metadata: ["method": "\(method.rawValue)", "path": "\(path)", "error": "\(error)"])
            return .failure(.transport("no answer from OKX to \(method.rawValue) \(path): \(error)"))
        }
        logger.debug("okx: answer", metadata: ["method": "\(method.rawValue)", "path": "\(path)", "status": "\(status)"])
        guard let envelope = (try? JSONParser.parse(bytes))?.objectValue else {
            if status >= 500 { return .failure(.ambiguous("OKX answered HTTP \(status) to \(method.rawValue) \(path)")) }
            if status == 429 { return .failure(.refused(ExchangeError(code: "50011", message: "Too Many Requests (HTTP 429)", retryable: true))) }
            return .failure(.ambiguous("OKX answered HTTP \(status) without a JSON body to \(method.rawValue) \(path)"))
        }
        let code = envelope["code"]?.scalarText ?? ""
        let message = envelope["msg"]?.stringValue ?? ""
        let data = envelope["data"]?.arrayValue ?? []
        if code == "0" { return .success(data) }
        if code == "2" { return .failure(.partial(data)) }
        if status >= 500 { return .failure(.ambiguous("OKX answered HTTP \(status) code \(code) \(message)")) }
        let entry = data.first?.objectValue
        let sCode = entry?["sCode"]?.scalarText.flatMap { $0.isEmpty || $0 == "0" ? nil : $0 }
        let effective = sCode ?? code
        let effectiveMessage = sCode != nil ? (entry?["sMsg"]?.stringValue ?? message) : message
        if OKXAnswers.unknownOutcomeCodes.contains(effective) {
            return .failure(.ambiguous("OKX \(effective): \(effectiveMessage)"))
        }
        return .failure(.refused(Self.classify(code: effective, message: effectiveMessage, status: status)))
    }

    /// An OKX error code as an ``ExchangeError`` that says whether sending again later is safe.
    static func classify(code: String, message: String, status: UInt) -> ExchangeError {
        ExchangeError(code: code, message: message, retryable: OKXAnswers.retryLaterCodes.contains(code) || status == 429)
    }

    static func milliseconds(_ date: Date) -> String { String(Int64((date.timeIntervalSince1970 * 1000).rounded(.down))) }

    /// `?a=b&c=d`, percent-encoding anything outside the unreserved set, exactly as signed.
    static func queryString(_ query: [(String, String)]) -> String {
        guard !query.isEmpty else { return "" }
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        func encode(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: unreserved) ?? s }
        return "?" + query.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
    }

    static func instrument(_ value: JSONValue) -> Instrument? {
        guard let o = value.objectValue, let instId = o["instId"]?.stringValue, let tickSz = o["tickSz"]?.decimalValue,
            let lotSz = o["lotSz"]?.decimalValue, let minSz = o["minSz"]?.decimalValue, tickSz > 0, lotSz > 0
        else { return nil }
        return Instrument(
            instId: instId,
            baseCcy: o["baseCcy"]?.stringValue ?? "",
            quoteCcy: o["quoteCcy"]?.stringValue ?? "",
            tickSz: tickSz,
            lotSz: lotSz,
            minSz: minSz,
            state: o["state"]?.stringValue ?? "live"
        )
    }

    static func algoStatus(_ o: JSONObject) -> AlgoStatus? {
        guard let algoId = o["algoId"]?.stringValue, !algoId.isEmpty, let state = o["state"]?.stringValue else { return nil }
        // A triggered algo order names the order it placed in `ordId`, or first in `ordIdList`.
        let listed = o["ordIdList"]?.arrayValue?.first?.stringValue
        return AlgoStatus(
            algoId: algoId,
            algoClOrdId: o["algoClOrdId"]?.stringValue ?? "",
            instId: o["instId"]?.stringValue ?? "",
            state: state,
            ordId: o["ordId"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? listed
        )
    }

    static func orderStatus(_ o: JSONObject) -> OrderStatus? {
        guard let ordId = o["ordId"]?.stringValue, let state = o["state"]?.stringValue else { return nil }
        let avgPx = o["avgPx"]?.decimalValue
        var status = OrderStatus(
            ordId: ordId,
            clOrdId: o["clOrdId"]?.stringValue ?? "",
            instId: o["instId"]?.stringValue ?? "",
            state: state,
            accFillSz: o["accFillSz"]?.decimalValue ?? 0,
            avgPx: avgPx == 0 ? nil : avgPx,
            fee: o["fee"]?.decimalValue ?? 0,
            feeCcy: o["feeCcy"]?.stringValue ?? ""
        )
        status.placedBy = o["algoClOrdId"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        return status
    }
}
