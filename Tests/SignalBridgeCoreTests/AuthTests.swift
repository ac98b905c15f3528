import Crypto
import Foundation
import Testing

@testable import SignalBridgeCore

@Suite struct AuthTests {
    func request(_ body: String, headers: [(String, String)] = [], query: [(String, String)] = [], at time: Date = Date()) -> InboundRequest {
        InboundRequest(
            sourceName: "s", headers: headers.map { (name: $0.0, value: $0.1) }, query: query.map { (name: $0.0, value: $0.1) },
            body: Array(body.utf8), remoteAddress: "127.0.0.1", receivedAt: time)
    }

    func hmac(_ content: String, _ key: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(content.utf8), using: SymmetricKey(data: Array(key.utf8))))
    }

    @Test func githubStyleHexWithPrefix() throws {
        // GitHub's documented vector.
        let auth = InboundAuth.hmacSHA256(
            HMACAuth(header: "X-Hub-Signature-256", encoding: .hex, prefix: "sha256=", signedContent: [.body], timestampHeader: nil, toleranceSeconds: 300, secret: Secret("It's a Secret to Everybody")))
        let good = request("Hello, World!", headers: [("x-hub-signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")])
        _ = try auth.verify(good, parsedBody: { nil })
        let tampered = request("Hello, World?", headers: good.headers.map { ($0.name, $0.value) })
        #expect(throws: AuthenticationFailure.self) { try auth.verify(tampered, parsedBody: { nil }) }
        #expect(throws: AuthenticationFailure.self) { try auth.verify(request("Hello, World!"), parsedBody: { nil }) }
        let garbage = request("Hello, World!", headers: [("X-Hub-Signature-256", "sha256=zz")])
        #expect(throws: AuthenticationFailure.self) { try auth.verify(garbage, parsedBody: { nil }) }
    }

    @Test func base64OverHeaderAndBodyWithTimestamp() throws {
        let now = Date()
        let ts = String(Int(now.timeIntervalSince1970))
        let auth = InboundAuth.hmacSHA256(
            HMACAuth(header: "X-Sig", encoding: .base64, prefix: "", signedContent: [.header("X-Nonce"), .literal("."), .body], timestampHeader: "X-Ts", toleranceSeconds: 60, secret: Secret("k")))
        let sig = Data(hmac("n1.{}", "k")).base64EncodedString()
        _ = try auth.verify(request("{}", headers: [("X-Sig", sig), ("X-Nonce", "n1"), ("X-Ts", ts)], at: now), parsedBody: { nil })
        let stale = request("{}", headers: [("X-Sig", sig), ("X-Nonce", "n1"), ("X-Ts", String(Int(now.timeIntervalSince1970) - 120))], at: now)
        #expect(throws: AuthenticationFailure.self) { try auth.verify(stale, parsedBody: { nil }) }
    }

    @Test func tokenInBodyHeaderAndQuery() throws {
        let body = TokenAuth(location: .body(try JSONPointer("/token")), secret: Secret("t0k"))
        let parsed = try JSONParser.parse(#"{"token":"t0k","x":1}"#)
        let result = try InboundAuth.token(body).verify(request(""), parsedBody: { parsed })
        #expect(result.redactPointer == (try JSONPointer("/token")))
        #expect(throws: AuthenticationFailure.self) {
            try InboundAuth.token(body).verify(self.request(""), parsedBody: { try? JSONParser.parse(#"{"token":"t0K"}"#) })
        }
        let header = InboundAuth.token(TokenAuth(location: .header("X-Token"), secret: Secret("t0k")))
        _ = try header.verify(request("", headers: [("x-token", "t0k")]), parsedBody: { nil })
        #expect(throws: AuthenticationFailure.self) { try header.verify(self.request(""), parsedBody: { nil }) }
        let query = InboundAuth.token(TokenAuth(location: .query("token"), secret: Secret("t0k")))
        _ = try query.verify(request("", query: [("token", "t0k")]), parsedBody: { nil })
    }

    @Test func standardWebhooksSpecVector() throws {
        let key = try #require(StandardWebhooksAuth.key(fromSecret: Secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")))
        let auth = InboundAuth.standardWebhooks(StandardWebhooksAuth(key: key, toleranceSeconds: 300))
        let time = Date(timeIntervalSince1970: 1_614_265_330)
        let headers = [
            ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"), ("webhook-timestamp", "1614265330"),
            ("webhook-signature", "v1,bm9wZQ== v1 garbage v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
        ]
        let result = try auth.verify(request(#"{"test": 2432232314}"#, headers: headers, at: time), parsedBody: { nil })
        #expect(result.schemeSignalId == "msg_p5jXN8AQM9LWM0D4loKWxJek")
        let svix = headers.map { ($0.0.replacingOccurrences(of: "webhook-", with: "svix-"), $0.1) }
        _ = try auth.verify(request(#"{"test": 2432232314}"#, headers: svix, at: time), parsedBody: { nil })
        #expect(throws: AuthenticationFailure.self) {
            try auth.verify(self.request(#"{"test": 2432232314}"#, headers: headers, at: time.addingTimeInterval(301)), parsedBody: { nil })
        }
        #expect(throws: AuthenticationFailure.self) {
            try auth.verify(self.request(#"{"test": 2432232315}"#, headers: headers, at: time), parsedBody: { nil })
        }
    }

    @Test func ipRangesMatchV4V6AndMappedAddresses() throws {
        let v4 = try #require(IPRange("10.1.0.0/16"))
        #expect(v4.contains("10.1.255.3"))
        #expect(!v4.contains("10.2.0.1"))
        #expect(v4.contains("::ffff:10.1.0.9"))
        let v6 = try #require(IPRange("2001:db8::/32"))
        #expect(v6.contains("2001:db8:1::5"))
        #expect(!v6.contains("2001:db9::1"))
        #expect(IPRange("52.89.214.238")!.contains("52.89.214.238"))
        #expect(!IPRange("52.89.214.238")!.contains("52.89.214.239"))
        #expect(IPRange("10.0.0.0/33") == nil)
        #expect(IPRange("nonsense") == nil)
        #expect(IPRange.loopbackV6.contains("::1"))
    }

    @Test func constantTimeEquality() {
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2]))
        #expect(!ConstantTime.equals([], [0]))
    }

    @Test func secretsDoNotPrint() {
        let secret = Secret("hunter2")
        #expect("\(secret)" == "<redacted>")
        #expect(String(reflecting: secret) == "<redacted>")
        var dumped = ""
        dump(OKXCredentials(apiKey: secret, secretKey: secret, passphrase: secret), to: &dumped)
        #expect(!dumped.contains("hunter2"))
    }
}
