import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import OKXSimulator
@testable import SignalBridgeCore

@Suite struct SimulatorAuthenticationTests {
    let credentials = SimulatorCredentials(apiKey: "key-1", secretKey: Secret("SECRET"), passphrase: Secret("Pass-1"))

    func app() -> some ApplicationProtocol {
        Application(router: SimulatorRouter(simulator: Simulator(credentials: credentials)).buildRouter())
    }

    /// OKX's four headers for `method path body`, with parts overridable to make them wrong.
    func headers(
        _ method: String,
        _ path: String,
        _ body: String = "",
        timestamp: String = Timestamp.format(Date()),
        secret: String = "SECRET",
        passphrase: String = "Pass-1",
        key: String = "key-1"
    ) -> HTTPFields {
        var fields = HTTPFields()
        fields[HTTPField.Name("OK-ACCESS-KEY")!] = key
        fields[HTTPField.Name("OK-ACCESS-PASSPHRASE")!] = passphrase
        fields[HTTPField.Name("OK-ACCESS-TIMESTAMP")!] = timestamp
        fields[HTTPField.Name("OK-ACCESS-SIGN")!] = OKXSignature.sign(
            timestamp: timestamp,
            method: method,
            requestPath: path,
            body: Array(body.utf8),
            secret: Secret(secret)
        )
        fields[.contentType] = "application/json"
        return fields
    }

    func code(_ response: TestResponse) throws -> String? {
        try JSONParser.parse(Array(response.body.readableBytesView)).objectValue?["code"]?.stringValue
    }

    @Test func everyAuthenticationMistakeHasOKXsCode() async throws {
        try await app().test(.router) { client in
            let path = "/api/v5/account/balance"
            let cases: [(HTTPFields, String)] = [
                (headers("GET", path), "0"),
                (headers("GET", path, secret: "WRONG"), "50113"),
                (headers("GET", path, passphrase: "nope"), "50105"),
                (headers("GET", path, key: "other"), "50111"),
                (headers("GET", path, timestamp: "1607418537"), "50112"),
                (headers("GET", path, timestamp: Timestamp.format(Date().addingTimeInterval(-31))), "50102"),
                (headers("GET", "/api/v5/account/balance?ccy=BTC"), "50113"),
                ([:], "50103"),
            ]
            for (fields, expected) in cases {
                let response = try await client.execute(uri: path, method: .get, headers: fields)
                #expect(try code(response) == expected)
                #expect(response.status == (expected == "0" ? .ok : .unauthorized))
            }
        }
    }

    @Test func ordersAreCheckedAndAnsweredLikeOKX() async throws {
        try await app().test(.router) { client in
            func place(_ body: String, extra: HTTPFields = [:]) async throws -> (code: String?, sCode: String?) {
                var fields = headers("POST", "/api/v5/trade/order", body)
                fields.append(contentsOf: extra)
                let response = try await client.execute(uri: "/api/v5/trade/order", method: .post, headers: fields, body: ByteBuffer(string: body))
                let json = try JSONParser.parse(Array(response.body.readableBytesView))
                return (json.objectValue?["code"]?.stringValue, json[try JSONPointer("/data/0/sCode")]?.stringValue)
            }
            let market =
                #"{"instId":"BTC-USDT","tdMode":"cash","clOrdId":"m1","side":"buy","ordType":"market","sz":"100","tgtCcy":"quote_ccy","px":"","attachAlgoOrds":null}"#
            #expect(try await place(market) == ("0", "0"))
            let resting = #"{"instId":"BTC-USDT","tdMode":"cash","clOrdId":"l1","side":"buy","ordType":"limit","sz":"0.001","px":"50000"}"#
            #expect(try await place(resting) == ("0", "0"))
            #expect(try await place(resting) == ("1", "51016"))
            #expect(
                try await place(#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.000000001","px":"50000"}"#) == (
                    "1", "51121"
                )
            )
            #expect(
                try await place(#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.000001","px":"50000"}"#) == (
                    "1", "51020"
                )
            )
            #expect(
                try await place(#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.001","px":"50000.05"}"#) == (
                    "1", "51000"
                )
            )
            #expect(
                try await place(#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"100","px":"50000"}"#) == ("1", "51008")
            )
            #expect(try await place(#"{"instId":"NOPE-USDT","tdMode":"cash","side":"buy","ordType":"market","sz":"1"}"#) == ("1", "51001"))
            var expired = HTTPFields()
            expired[HTTPField.Name("expTime")!] = String(Int64(Date().timeIntervalSince1970 * 1000) - 1)
            #expect(try await place(market.replacingOccurrences(of: "m1", with: "m2"), extra: expired).code == "50037")

            let query = "/api/v5/trade/order?instId=BTC-USDT&clOrdId=m1"
            let found = try await client.execute(uri: query, method: .get, headers: headers("GET", query))
            let order = try JSONParser.parse(Array(found.body.readableBytesView))
            #expect(order[try JSONPointer("/data/0/state")] == .string("filled"))
            #expect(order[try JSONPointer("/data/0/avgPx")] == .string("60000.1"))
            #expect(order[try JSONPointer("/data/0/feeCcy")] == .string("BTC"))
            let missing = "/api/v5/trade/order?instId=BTC-USDT&clOrdId=zz"
            #expect(try code(try await client.execute(uri: missing, method: .get, headers: headers("GET", missing))) == "51603")
        }
    }

    @Test func controlRoutesDriveFaultsPricesAndAccountMode() async throws {
        let simulator = Simulator(credentials: credentials)
        try await Application(router: SimulatorRouter(simulator: simulator).buildRouter()).test(.router) { client in
            let fault = try await client.execute(uri: "/sim/faults", method: .post, body: ByteBuffer(string: #"{"kind":"rateLimit","count":2}"#))
            #expect(fault.status == .ok)
            let body = #"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"market","sz":"10","tgtCcy":"quote_ccy"}"#
            for expected in [HTTPResponse.Status.tooManyRequests, .tooManyRequests, .ok] {
                let response = try await client.execute(
                    uri: "/api/v5/trade/order",
                    method: .post,
                    headers: headers("POST", "/api/v5/trade/order", body),
                    body: ByteBuffer(string: body)
                )
                #expect(response.status == expected)
            }
            #expect(
                try await client.execute(uri: "/sim/faults", method: .post, body: ByteBuffer(string: #"{"kind":"nonsense"}"#)).status == .badRequest
            )
            _ = try await client.execute(uri: "/sim/price", method: .post, body: ByteBuffer(string: #"{"instId":"ETH-USDT","last":"3100"}"#))
            #expect(simulator.account.ticker("ETH-USDT")?.last == 3100)
            _ = try await client.execute(uri: "/sim/account", method: .post, body: ByteBuffer(string: #"{"acctLv":"3"}"#))
            let config = try await client.execute(uri: "/api/v5/account/config", method: .get, headers: headers("GET", "/api/v5/account/config"))
            #expect(try JSONParser.parse(Array(config.body.readableBytesView))[try JSONPointer("/data/0/acctLv")] == .string("3"))
            let orders = try JSONParser.parse(Array(try await client.execute(uri: "/sim/orders", method: .get).body.readableBytesView))
            #expect(orders.objectValue?["data"]?.arrayValue?.count == 1)
        }
    }

    /// ccxt's `load_markets()` reads the currencies (signed) when keys are set outside sandbox mode.
    @Test func currenciesAreTheInstrumentsOwnAndNeedAKey() async throws {
        try await app().test(.router) { client in
            let path = "/api/v5/asset/currencies"
            let all = try JSONParser.parse(
                Array(try await client.execute(uri: path, method: .get, headers: headers("GET", path)).body.readableBytesView)
            )
            let listed = all.objectValue?["data"]?.arrayValue?.compactMap { $0.objectValue?["ccy"]?.stringValue }
            #expect(listed == ["BTC", "ETH", "SOL", "USDT"])
            #expect(all[try JSONPointer("/data/0/canWd")] == .bool(false))
            let some = "/api/v5/asset/currencies?ccy=USDT,ETH"
            let filtered = try JSONParser.parse(
                Array(try await client.execute(uri: some, method: .get, headers: headers("GET", some)).body.readableBytesView)
            )
            #expect(filtered.objectValue?["data"]?.arrayValue?.compactMap { $0.objectValue?["ccy"]?.stringValue } == ["ETH", "USDT"])
            let unsigned = try await client.execute(uri: path, method: .get)
            #expect(unsigned.status == .unauthorized)
        }
    }

    @Test func publicEndpointsNeedNoKey() async throws {
        try await app().test(.router) { client in
            let instruments = try await client.execute(uri: "/api/v5/public/instruments?instType=SPOT", method: .get)
            let json = try JSONParser.parse(Array(instruments.body.readableBytesView))
            #expect(json[try JSONPointer("/data/0/instId")] == .string("BTC-USDT"))
            #expect(json[try JSONPointer("/data/0/lotSz")] == .string("0.00000001"))
            #expect(json[try JSONPointer("/data/1/minSz")] == .string("0.0001"))
            let ticker = try await client.execute(uri: "/api/v5/market/ticker?instId=ETH-USDT", method: .get)
            #expect(try JSONParser.parse(Array(ticker.body.readableBytesView))[try JSONPointer("/data/0/last")] == .string("3000"))
        }
    }
}

@Suite struct SimulatedAccountTests {
    @Test func fillsMoveBalancesAndChargeFeesInTheReceivedCurrency() throws {
        let account = SimulatedAccount()
        let buy = try account.place(
            OrderRequest(instId: "BTC-USDT", clOrdId: "a", side: .buy, ordType: .market, sz: Decimal(string: "0.01")!, tgtCcy: "base_ccy")
        )
        #expect(buy.state == "filled" && buy.avgPx == Decimal(string: "60000.1"))
        #expect(buy.fee == Decimal(string: "-0.00001"))
        let balances = Dictionary(uniqueKeysWithValues: account.balances().map { ($0.ccy, $0.available) })
        #expect(balances["USDT"] == 100_000 - Decimal(string: "600.001")!)
        #expect(balances["BTC"] == 1 + Decimal(string: "0.00999")!)
    }

    @Test func restingOrdersFillWhenThePriceCrossesAndFreeTheirClOrdId() throws {
        let account = SimulatedAccount()
        let bid = try account.place(
            OrderRequest(instId: "BTC-USDT", clOrdId: "b", side: .buy, ordType: .limit, sz: Decimal(string: "0.001")!, px: 59000)
        )
        #expect(bid.state == "live")
        account.setPrice("BTC-USDT", last: 58000)
        #expect(account.order(instId: "BTC-USDT", ordId: bid.ordId, clOrdId: nil)?.state == "filled")
        // OKX accepts a clOrdId again once the order is final: the reason the bridge never re-posts blindly.
        let again = try account.place(
            OrderRequest(instId: "BTC-USDT", clOrdId: "b", side: .buy, ordType: .limit, sz: Decimal(string: "0.001")!, px: 50000)
        )
        #expect(again.ordId != bid.ordId)
        #expect(account.order(instId: "BTC-USDT", ordId: nil, clOrdId: "b")?.ordId == again.ordId)
        let canceled = try account.cancel(instId: "BTC-USDT", ordId: nil, clOrdId: "b")
        #expect(canceled.state == "canceled")
    }
}
