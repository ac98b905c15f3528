import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SignalBridgeCore

/// OKX's answer shapes: `{"code": "0", "msg": "", "data": [...]}`, codes as strings.
enum OKXEnvelope {
    static func success(_ data: [JSONValue]) -> Response {
        response(status: .ok, JSONValue.object(JSONObject([("code", "0"), ("msg", ""), ("data", .array(data))])))
    }

    /// Per-order results: `code` `"0"` when all succeeded, `"1"` when all failed, `"2"` when some did.
    static func batch(_ results: [(succeeded: Bool, entry: JSONValue)]) -> Response {
        let succeeded = results.filter(\.succeeded).count
        let (code, message) =
            succeeded == results.count ? ("0", "") : succeeded == 0 ? ("1", "All operations failed") : ("2", "Bulk operation partially succeeded")
        return response(
            status: .ok,
            JSONValue.object(JSONObject([("code", .string(code)), ("msg", .string(message)), ("data", .array(results.map(\.entry)))]))
        )
    }

    /// A request-level error (`data` empty), such as 50113 with HTTP 401.
    static func error(_ code: String, _ message: String, status: HTTPResponse.Status = .ok) -> Response {
        response(status: status, JSONValue.object(JSONObject([("code", .string(code)), ("msg", .string(message)), ("data", .array([]))])))
    }

    static func response(status: HTTPResponse.Status, _ body: JSONValue) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body.jsonText)))
    }

    static func string(_ value: Decimal?) -> JSONValue { .string(value.map(DecimalText.format) ?? "") }

    static func millis(_ date: Date) -> JSONValue { .string(String(Int64((date.timeIntervalSince1970 * 1000).rounded(.down)))) }

    static func instrument(_ i: Instrument) -> JSONValue {
        .object(
            JSONObject([
                ("instType", "SPOT"), ("instId", .string(i.instId)), ("baseCcy", .string(i.baseCcy)), ("quoteCcy", .string(i.quoteCcy)),
                ("tickSz", string(i.tickSz)), ("lotSz", string(i.lotSz)), ("minSz", string(i.minSz)), ("state", .string(i.state)),
                ("maxLmtSz", "9999999999"), ("maxMktSz", "1000000"), ("maxLmtAmt", "20000000"), ("maxMktAmt", "1000000"),
                ("listTime", "1611907686000"), ("ctVal", ""), ("ctMult", ""), ("ctValCcy", ""), ("settleCcy", ""), ("uly", ""),
                ("instFamily", ""), ("alias", ""), ("expTime", ""), ("lever", "10"), ("optType", ""), ("stk", ""),
                ("ctType", ""), ("category", "1"), ("tradeQuoteCcyList", .array([.string(i.quoteCcy)])),
            ])
        )
    }

    /// An algo order as `GET /api/v5/trade/order-algo` shows it (prices `""` when not set, `-1` for market).
    static func algo(_ a: SimulatedAlgoOrder) -> JSONValue {
        .object(
            JSONObject([
                ("instType", "SPOT"), ("instId", .string(a.instId)), ("ordType", .string(a.ordType)), ("algoId", .string(a.algoId)),
                ("algoClOrdId", .string(a.algoClOrdId)), ("clOrdId", ""), ("tdMode", .string(a.tdMode)), ("side", .string(a.side.rawValue)),
                ("sz", string(a.sz)), ("tgtCcy", .string(a.tgtCcy ?? "")), ("state", .string(a.state)), ("triggerPx", string(a.triggerPx)),
                ("orderPx", string(a.orderPx)), ("tpTriggerPx", string(a.tpTriggerPx)), ("tpOrdPx", string(a.tpOrdPx)),
                ("slTriggerPx", string(a.slTriggerPx)), ("slOrdPx", string(a.slOrdPx)), ("callbackRatio", string(a.callbackRatio)),
                ("callbackSpread", string(a.callbackSpread)), ("activePx", string(a.activePx)), ("moveTriggerPx", string(a.extreme)),
                ("triggerPxType", "last"), ("tpTriggerPxType", "last"), ("slTriggerPxType", "last"), ("ordId", .string(a.ordId ?? "")),
                ("ordIdList", .array(a.ordId.map { [.string($0)] } ?? [])), ("actualSz", ""), ("actualPx", ""), ("actualSide", ""),
                ("cTime", millis(a.createdAt)), ("uTime", millis(a.updatedAt)), ("tag", ""),
            ])
        )
    }

    static func ticker(_ t: Ticker) -> JSONValue {
        .object(
            JSONObject([
                ("instType", "SPOT"), ("instId", .string(t.instId)), ("last", string(t.last)), ("lastSz", "0.1"),
                ("askPx", string(t.ask)), ("askSz", "10"), ("bidPx", string(t.bid)), ("bidSz", "10"),
                ("open24h", string(t.last)), ("high24h", string(t.last)), ("low24h", string(t.last)),
                ("volCcy24h", "0"), ("vol24h", "0"), ("sodUtc0", string(t.last)), ("sodUtc8", string(t.last)), ("ts", millis(t.time)),
            ])
        )
    }

    static func fill(_ f: SimulatedFill) -> JSONValue {
        .object(
            JSONObject([
                ("instType", "SPOT"), ("instId", .string(f.instId)), ("tradeId", .string(f.tradeId)), ("ordId", .string(f.ordId)),
                ("clOrdId", .string(f.clOrdId)), ("billId", .string(f.billId)), ("tag", ""), ("fillPx", string(f.fillPx)),
                ("fillSz", string(f.fillSz)), ("side", .string(f.side.rawValue)), ("posSide", "net"), ("execType", .string(f.execType)),
                ("feeCcy", .string(f.feeCcy)), ("fee", string(f.fee)), ("fillTime", millis(f.time)), ("ts", millis(f.time)),
            ])
        )
    }

    static func order(_ o: SimulatedOrder) -> JSONValue {
        var object = JSONObject([
            ("instType", "SPOT"), ("instId", .string(o.request.instId)), ("ordId", .string(o.ordId)), ("clOrdId", .string(o.clOrdId)),
            ("tag", ""), ("px", string(o.request.px)), ("sz", string(o.request.sz)), ("ordType", .string(o.request.ordType.rawValue)),
            ("side", .string(o.request.side.rawValue)), ("tdMode", .string(o.request.tdMode)), ("tgtCcy", .string(o.request.tgtCcy ?? "")),
            ("accFillSz", string(o.accFillSz)), ("fillPx", string(o.avgPx)), ("fillSz", string(o.accFillSz)), ("avgPx", string(o.avgPx)),
            ("state", .string(o.state)), ("fee", string(o.fee)), ("feeCcy", .string(o.feeCcy)), ("rebate", "0"),
            ("rebateCcy", .string(o.feeCcy)), ("category", "normal"), ("cTime", millis(o.createdAt)), ("uTime", millis(o.updatedAt)),
        ])
        object["attachAlgoOrds"] = .array(o.request.attached.map { [$0.json] } ?? [])
        object["algoClOrdId"] = .string(o.algoClOrdId ?? "")
        return .object(object)
    }
}
