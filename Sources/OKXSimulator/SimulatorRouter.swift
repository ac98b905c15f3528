import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SignalBridgeCore

/// The simulator's OKX v5 REST front: the same paths, checks and answer shapes as OKX, plus `/sim/` routes that
/// drive it (faults, prices, account mode, a list of every order).
public struct SimulatorRouter: Sendable {
    /// How far `OK-ACCESS-TIMESTAMP` may be from the simulator's clock, as on OKX.
    public static let timestampWindow: TimeInterval = 30
    /// The most orders one `batch-orders` request may hold.
    public static let maxBatch = 20

    let simulator: Simulator
    var account: SimulatedAccount { simulator.account }
    var clock: @Sendable () -> Date { simulator.clock }

    public init(simulator: Simulator) { self.simulator = simulator }

    /// A router serving `/api/v5/...` and `/sim/...`.
    public func buildRouter() -> Router<SimulatorRequestContext> {
        let router = Router(context: SimulatorRequestContext.self)
        router.add(middleware: OutageMiddleware(faults: simulator.faults))
        addPublicRoutes(to: router)
        addAccountRoutes(to: router)
        addFundingRoutes(to: router)
        addTradeRoutes(to: router)
        addAlgoRoutes(to: router)
        SimulatorControlRoutes(simulator: simulator).addRoutes(to: router)
        return router
    }

    func addPublicRoutes(to router: Router<SimulatorRequestContext>) {
        router.get("/api/v5/public/time") { _, _ in
            await simulator.faults.delay()
            return OKXEnvelope.success([.object(JSONObject([("ts", OKXEnvelope.millis(self.clock()))]))])
        }
        router.get("/api/v5/public/instruments") { request, _ in
            await simulator.faults.delay()
            let query = request.uri.queryParameters
            guard let type = query.get("instType"), !type.isEmpty else {
                return OKXEnvelope.error("50014", "Parameter instType can not be empty.")
            }
            // The simulator trades spot only; other instrument types exist but list nothing.
            var list = type == "SPOT" ? account.instruments() : []
            if let instId = query.get("instId"), !instId.isEmpty { list = list.filter { $0.instId == instId } }
            return OKXEnvelope.success(list.map(OKXEnvelope.instrument))
        }
        router.get("/api/v5/market/ticker") { request, _ in
            await simulator.faults.delay()
            guard let instId = request.uri.queryParameters.get("instId"), let ticker = account.ticker(instId) else {
                return OKXEnvelope.error("51001", "Instrument ID does not exist.")
            }
            return OKXEnvelope.success([OKXEnvelope.ticker(ticker)])
        }
        router.get("/api/v5/market/tickers") { request, _ in
            await simulator.faults.delay()
            let spot = request.uri.queryParameters.get("instType") == "SPOT"
            return OKXEnvelope.success(spot ? account.tickers().map(OKXEnvelope.ticker) : [])
        }
    }

    func addAccountRoutes(to router: Router<SimulatorRequestContext>) {
        router.get("/api/v5/account/balance") { request, context in
            try await authenticated(request, context) { _ in
                let wanted = request.uri.queryParameters.get("ccy").map { Set($0.split(separator: ",").map(String.init)) }
                let details = account.balances().filter { wanted?.isEmpty != false || wanted!.contains($0.ccy) }.map { balance -> JSONValue in
                    let frozen = account.frozen(balance.ccy)
                    return .object(
                        JSONObject([
                            ("ccy", .string(balance.ccy)), ("availBal", OKXEnvelope.string(balance.available)),
                            ("cashBal", OKXEnvelope.string(balance.available + frozen)), ("eq", OKXEnvelope.string(balance.available + frozen)),
                            ("frozenBal", OKXEnvelope.string(frozen)), ("ordFrozen", OKXEnvelope.string(frozen)),
                            ("uTime", OKXEnvelope.millis(clock())),
                        ])
                    )
                }
                return OKXEnvelope.success([
                    .object(JSONObject([("totalEq", ""), ("uTime", OKXEnvelope.millis(clock())), ("details", .array(details))]))
                ])
            }
        }
        router.get("/api/v5/account/config") { request, context in
            try await authenticated(request, context) { _ in
                OKXEnvelope.success([
                    .object(
                        JSONObject([
                            ("uid", "1000000001"), ("mainUid", "1000000001"), ("acctLv", .string(String(account.accountLevel))),
                            ("posMode", "net_mode"), ("autoLoan", false), ("perm", "read_only,trade"), ("level", "Lv1"),
                            ("ip", .string(account.boundIPs)),
                        ])
                    )
                ])
            }
        }
    }

    /// `GET /api/v5/asset/currencies` (`ccy`: one or a comma-separated list): the currencies of the simulated
    /// instruments, one chain each, with deposits and withdrawals off (the simulator moves no funds). ccxt's
    /// `load_markets()` asks for it whenever keys are set outside sandbox mode.
    func addFundingRoutes(to router: Router<SimulatorRequestContext>) {
        router.get("/api/v5/asset/currencies") { request, context in
            try await authenticated(request, context) { _ in
                let wanted = request.uri.queryParameters.get("ccy").map { Set($0.split(separator: ",").map(String.init)) } ?? []
                let currencies = Set(account.instruments().flatMap { [$0.baseCcy, $0.quoteCcy] }).filter { wanted.isEmpty || wanted.contains($0) }
                return OKXEnvelope.success(
                    currencies.sorted().map { ccy in
                        .object(
                            JSONObject([
                                ("ccy", .string(ccy)), ("name", .string(ccy)), ("chain", .string("\(ccy)-Simulated")), ("mainNet", true),
                                ("canDep", false), ("canWd", false), ("canInternal", false), ("minDep", "0"), ("minWd", "0"), ("maxWd", "0"),
                                ("wdTickSz", "8"), ("wdQuota", "0"), ("usedWdQuota", "0"), ("fee", "0"), ("minFee", "0"), ("maxFee", "0"),
                                ("logoLink", ""), ("depQuotaFixed", ""), ("usedDepQuotaFixed", ""), ("needTag", false),
                            ])
                        )
                    }
                )
            }
        }
    }

    func addTradeRoutes(to router: Router<SimulatorRequestContext>) {
        router.post("/api/v5/trade/order") { request, context in
            try await authenticated(request, context) { body in
                guard let json = try? JSONParser.parse(body), json.objectValue != nil else {
                    return OKXEnvelope.error("50002", "JSON syntax error")
                }
                return await placeOrders([json], request: request, context: context)
            }
        }
        router.post("/api/v5/trade/batch-orders") { request, context in
            try await authenticated(request, context) { body in
                guard let list = (try? JSONParser.parse(body))?.arrayValue, !list.isEmpty else {
                    return OKXEnvelope.error("50002", "JSON syntax error")
                }
                guard list.count <= Self.maxBatch else {
                    return OKXEnvelope.error("51111", "Maximum \(Self.maxBatch) orders can be placed in bulk")
                }
                return await placeOrders(list, request: request, context: context)
            }
        }
        router.post("/api/v5/trade/cancel-order") { request, context in
            try await authenticated(request, context) { body in
                guard let object = (try? JSONParser.parse(body))?.objectValue, let instId = object["instId"]?.stringValue else {
                    return OKXEnvelope.error("50014", "Parameter instId can not be empty.")
                }
                let ordId = object["ordId"]?.stringValue
                let clOrdId = object["clOrdId"]?.stringValue
                let entry: (String, String, String, String)
                do throws(SimulatedRejection) {
                    let canceled = try account.cancel(instId: instId, ordId: ordId, clOrdId: clOrdId)
                    entry = (canceled.ordId, canceled.clOrdId, "0", "")
                } catch {
                    entry = (ordId ?? "", clOrdId ?? "", error.sCode, error.sMsg)
                }
                let data = JSONValue.object(
                    JSONObject([
                        ("clOrdId", .string(entry.1)), ("ordId", .string(entry.0)), ("ts", OKXEnvelope.millis(clock())),
                        ("sCode", .string(entry.2)), ("sMsg", .string(entry.3)),
                    ])
                )
                return OKXEnvelope.batch([(entry.2 == "0", data)])
            }
        }
        router.get("/api/v5/trade/order") { request, context in
            try await authenticated(request, context) { _ in
                let query = request.uri.queryParameters
                guard let instId = query.get("instId"), !instId.isEmpty else {
                    return OKXEnvelope.error("50014", "Parameter instId can not be empty.")
                }
                guard let order = account.order(instId: instId, ordId: query.get("ordId"), clOrdId: query.get("clOrdId")) else {
                    return OKXEnvelope.error("51603", "Order does not exist")
                }
                return OKXEnvelope.success([OKXEnvelope.order(order)])
            }
        }
        router.get("/api/v5/trade/orders-pending") { request, context in
            try await authenticated(request, context) { _ in
                let query = request.uri.queryParameters
                let instId = query.get("instId").flatMap { $0.isEmpty ? nil : $0 }
                let limit = query.get("limit").flatMap { Int($0) }.map { min(max($0, 1), 100) } ?? 100
                return OKXEnvelope.success(account.pendingOrders(instId: instId).prefix(limit).map(OKXEnvelope.order))
            }
        }
        router.get("/api/v5/trade/fills") { request, context in
            try await authenticated(request, context) { _ in
                let query = request.uri.queryParameters
                let instId = query.get("instId").flatMap { $0.isEmpty ? nil : $0 }
                let ordId = query.get("ordId").flatMap { $0.isEmpty ? nil : $0 }
                let limit = query.get("limit").flatMap { Int($0) }.map { min(max($0, 1), 100) } ?? 100
                return OKXEnvelope.success(account.fills(instId: instId, ordId: ordId).prefix(limit).map(OKXEnvelope.fill))
            }
        }
    }

    /// `trade/order-algo` (place; query by `algoId` or `algoClOrdId`), `trade/orders-algo-pending`,
    /// `trade/orders-algo-history` and `trade/cancel-algos`, for `trigger`, `move_order_stop`, `conditional` and `oco`.
    func addAlgoRoutes(to router: Router<SimulatorRequestContext>) {
        router.post("/api/v5/trade/order-algo") { request, context in
            try await authenticated(request, context) { body in
                guard let object = (try? JSONParser.parse(body))?.objectValue else { return OKXEnvelope.error("50002", "JSON syntax error") }
                let results: [Result<SimulatedAlgoOrder, SimulatedRejection>]
                do throws(HiddenAnswer) {
                    results = try await Self.visibleResults(simulator.processAlgoRequest(object, expiresAt: Self.expTime(request)), context: context)
                } catch {
                    return error.response
                }
                switch results[0] {
                case .success(let algo):
                    return OKXEnvelope.batch([(true, Self.algoAnswer(algoId: algo.algoId, algoClOrdId: algo.algoClOrdId, sCode: "0", sMsg: ""))])
                case .failure(let error):
                    let algoClOrdId = object["algoClOrdId"]?.stringValue ?? ""
                    return OKXEnvelope.batch([(false, Self.algoAnswer(algoId: "", algoClOrdId: algoClOrdId, sCode: error.sCode, sMsg: error.sMsg))])
                }
            }
        }
        router.get("/api/v5/trade/order-algo") { request, context in
            try await authenticated(request, context) { _ in
                let query = request.uri.queryParameters
                guard let algo = account.algo(algoId: query.get("algoId"), algoClOrdId: query.get("algoClOrdId")) else {
                    return OKXEnvelope.error("51603", "Order does not exist")
                }
                return OKXEnvelope.success([OKXEnvelope.algo(algo)])
            }
        }
        for (path, live) in [("/api/v5/trade/orders-algo-pending", true), ("/api/v5/trade/orders-algo-history", false)] {
            router.get(RouterPath(path)) { request, context in
                try await authenticated(request, context) { _ in
                    let query = request.uri.queryParameters
                    guard let types = query.get("ordType").map({ Set($0.split(separator: ",").map(String.init)) }), !types.isEmpty else {
                        return OKXEnvelope.error("50014", "Parameter ordType can not be empty.")
                    }
                    let algoId = query.get("algoId").flatMap { $0.isEmpty ? nil : $0 }
                    let instId = query.get("instId").flatMap { $0.isEmpty ? nil : $0 }
                    let state = query.get("state").flatMap { $0.isEmpty ? nil : $0 }
                    let found = account.algos(live: live, ordTypes: types).filter { algo in
                        (algoId == nil || algo.algoId == algoId) && (instId == nil || algo.instId == instId) && (state == nil || algo.state == state)
                    }
                    return OKXEnvelope.success(found.prefix(100).map(OKXEnvelope.algo))
                }
            }
        }
        router.post("/api/v5/trade/cancel-algos") { request, context in
            try await authenticated(request, context) { body in
                guard let list = (try? JSONParser.parse(body))?.arrayValue, !list.isEmpty, list.count <= 10 else {
                    return OKXEnvelope.error("50002", "JSON syntax error: a list of 1 to 10 {instId, algoId}")
                }
                return OKXEnvelope.batch(
                    list.map { item in
                        let instId = item.objectValue?["instId"]?.stringValue ?? ""
                        let algoId = item.objectValue?["algoId"]?.stringValue ?? ""
                        do throws(SimulatedRejection) {
                            let algo = try account.cancelAlgo(instId: instId, algoId: algoId)
                            return (true, Self.algoAnswer(algoId: algo.algoId, algoClOrdId: algo.algoClOrdId, sCode: "0", sMsg: ""))
                        } catch {
                            return (false, Self.algoAnswer(algoId: algoId, algoClOrdId: "", sCode: error.sCode, sMsg: error.sMsg))
                        }
                    }
                )
            }
        }
    }

    /// One entry of an algo order's place or cancel answer.
    static func algoAnswer(algoId: String, algoClOrdId: String, sCode: String, sMsg: String) -> JSONValue {
        .object(
            JSONObject([
                ("algoId", .string(algoId)), ("clOrdId", ""), ("algoClOrdId", .string(algoClOrdId)), ("sCode", .string(sCode)),
                ("sMsg", .string(sMsg)), ("tag", ""),
            ])
        )
    }

    /// Places the order bodies of one request and answers as OKX does, faults included.
    func placeOrders(_ bodies: [JSONValue], request: Request, context: SimulatorRequestContext) async -> Response {
        let outcome = simulator.processOrderRequest(bodies.map(OrderRequest.init(json:)), expiresAt: Self.expTime(request))
        do throws(HiddenAnswer) {
            let results = try await Self.visibleResults(outcome, context: context)
            let ts = OKXEnvelope.millis(clock())
            return OKXEnvelope.batch(
                zip(results, bodies).map { result, body in
                    let (clOrdId, ordId, sCode, sMsg): (String, String, String, String)
                    switch result {
                    case .success(let order): (clOrdId, ordId, sCode, sMsg) = (order.clOrdId, order.ordId, "0", "Order placed")
                    case .failure(let error):
                        (clOrdId, ordId, sCode, sMsg) = (body.objectValue?["clOrdId"]?.stringValue ?? "", "", error.sCode, error.sMsg)
                    }
                    let entry = JSONValue.object(
                        JSONObject([
                            ("clOrdId", .string(clOrdId)), ("ordId", .string(ordId)), ("tag", ""), ("ts", ts), ("sCode", .string(sCode)),
                            ("sMsg", .string(sMsg)), ("subCode", ""),
                        ])
                    )
                    return (sCode == "0", entry)
                }
            )
        } catch {
            return error.response
        }
    }

    /// The request's `expTime` header (Unix milliseconds), when it has a readable one.
    static func expTime(_ request: Request) -> Date? {
        request.headers[HTTPField.Name("expTime")!].flatMap { Int64($0) }.flatMap { Date(unixMilliseconds: Decimal($0)) }
    }

    /// The answer to a request refused as a whole, or processed with its answer hidden by a fault.
    struct HiddenAnswer: Error {
        var response: Response
    }

    /// The per-order results of `outcome`, to be answered.
    /// - Throws: ``HiddenAnswer`` when the request was refused as a whole, or a fault hides its answer (the
    ///   connection dropped, or HTTP 500).
    static func visibleResults<Placed>(
        _ outcome: Simulator.RequestOutcome<Placed>,
        context: SimulatorRequestContext
    ) async throws(HiddenAnswer) -> [Result<Placed, SimulatedRejection>] {
        switch outcome {
        case .refused(let code, let message, let httpStatus):
            throw HiddenAnswer(response: OKXEnvelope.error(code, message, status: .init(code: httpStatus)))
        case .processed(_, hiddenBy: .dropAnswer):
            try? await context.channel.close()
            throw HiddenAnswer(response: OKXEnvelope.error("50004", "connection dropped by fault injection", status: .internalServerError))
        case .processed(_, hiddenBy: .serverError):
            throw HiddenAnswer(response: OKXEnvelope.error("50026", "System error, please try again later.", status: .internalServerError))
        case .processed(let results, _):
            return results
        }
    }

    /// Checks OKX's four authentication headers and the signature over the exact request, then runs `handler`.
    func authenticated(
        _ request: Request,
        _ context: SimulatorRequestContext,
        _ handler: ([UInt8]) async throws -> Response
    ) async throws -> Response {
        simulator.countArrival(path: request.uri.path)
        await simulator.faults.delay()
        var request = request
        let body = Array(try await request.collectBody(upTo: 1 << 20).readableBytesView)
        let failure = OKXRequestAuthentication(credentials: simulator.credentials, now: clock()).check(
            key: request.headers[HTTPField.Name("OK-ACCESS-KEY")!],
            passphrase: request.headers[HTTPField.Name("OK-ACCESS-PASSPHRASE")!],
            signature: request.headers[HTTPField.Name("OK-ACCESS-SIGN")!],
            timestamp: request.headers[HTTPField.Name("OK-ACCESS-TIMESTAMP")!],
            method: request.method.rawValue,
            requestPath: request.uri.string,
            body: body
        )
        if let failure { return OKXEnvelope.error(failure.code, failure.message, status: .unauthorized) }
        simulator.count(path: request.uri.path)
        if request.method == .post, body.isEmpty { return OKXEnvelope.error("50000", "Body can not be empty") }
        return try await handler(body)
    }
}

/// During a simulated outage every OKX path answers HTTP 503, as OKX's edge does; `/sim/` routes still work.
struct OutageMiddleware: RouterMiddleware {
    let faults: FaultInjector

    func handle(
        _ request: Request,
        context: SimulatorRequestContext,
        next: (Request, SimulatorRequestContext) async throws -> Response
    ) async throws -> Response {
        if request.uri.path.hasPrefix("/api/v5/"), faults.isDown {
            return OKXEnvelope.error("50001", "Service temporarily unavailable", status: .serviceUnavailable)
        }
        return try await next(request, context)
    }
}
