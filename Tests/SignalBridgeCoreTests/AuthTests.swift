import Crypto
import Foundation
import Testing

@testable import SignalBridgeCore

@Suite struct AuthTests {
    func request(_ body: String, headers: [(String, String)] = [], query: [(String, String)] = [], at time: Date = Date()) -> InboundRequest {
        InboundRequest(
            sourceName: "s",
            headers: headers.map { (name: $0.0, value: $0.1) },
            query: query.map { (name: $0.0, value: $0.1) },
            body: Array(body.utf8),
            remoteAddress: "127.0.0.1",
            receivedAt: time
        )
    }

    func hmac(_ content: String, _ key: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(content.utf8), using: SymmetricKey(data: Array(key.utf8))))
    }

    @Test func githubStyleHexWithPrefix() throws {
        // GitHub's documented vector.
        let auth = InboundAuth.hmacSHA256(
            HMACAuth(
                header: "X-Hub-Signature-256",
                encoding: .hex,
                prefix: "sha256=",
                signedContent: [.body],
                timestampHeader: nil,
                toleranceSeconds: 300,
                secret: Secret("It's a Secret to Everybody")
            )
        )
        let good = request(
            "Hello, World!",
            headers: [("x-hub-signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")]
        )
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
            HMACAuth(
                header: "X-Sig",
                encoding: .base64,
                prefix: "",
                signedContent: [.header("X-Nonce"), .literal("."), .body],
                timestampHeader: "X-Ts",
                toleranceSeconds: 60,
                secret: Secret("k")
            )
        )
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

@Suite struct SenderPresetTests {
    func request(_ body: String, _ headers: [(String, String)], at time: Date = Date()) -> InboundRequest {
        InboundRequest(
            sourceName: "s",
            headers: headers.map { (name: $0.0, value: $0.1) },
            body: Array(body.utf8),
            remoteAddress: nil,
            receivedAt: time
        )
    }

    func hex(_ content: [UInt8], _ key: String) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: content, using: SymmetricKey(data: Array(key.utf8))))
    }

    @Test func keccak256IsNotSHA3() {
        #expect(Hex.encode(Keccak256.hash([])) == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
        #expect(Hex.encode(Keccak256.hash(Array("abc".utf8))) == "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45")
        // reference/webhook-senders.md: body {"a":1} + secret "secret"
        #expect(Hex.encode(Keccak256.hash(Array(#"{"a":1}secret"#.utf8))) == "aa318319dbae12f7fa9c3b8dc2721120c28cf681b20e1e366a93e76cf0778350")
        // More than one 136-byte block.
        #expect(Keccak256.hash(Array(repeating: 0x61, count: 300)) != Keccak256.hash(Array(repeating: 0x61, count: 301)))
    }

    @Test func moralis() throws {
        let auth = InboundAuth.moralis(secret: Secret("secret"))
        _ = try auth.verify(
            request(#"{"a":1}"#, [("x-signature", "0xaa318319dbae12f7fa9c3b8dc2721120c28cf681b20e1e366a93e76cf0778350")]),
            parsedBody: { nil }
        )
        #expect(throws: AuthenticationFailure.self) {
            try auth.verify(
                self.request(#"{"a":2}"#, [("x-signature", "0xaa318319dbae12f7fa9c3b8dc2721120c28cf681b20e1e366a93e76cf0778350")]),
                parsedBody: { nil }
            )
        }
    }

    @Test func stripe() throws {
        let now = Date()
        let t = String(Int(now.timeIntervalSince1970))
        let body = #"{"id":"evt_1"}"#
        let good = hex(Array("\(t).\(body)".utf8), "whsec_test")
        let auth = InboundAuth.stripe(StripeAuth(secret: Secret("whsec_test"), toleranceSeconds: 300))
        _ = try auth.verify(
            request(body, [("Stripe-Signature", "t=\(t),v1=\(String(repeating: "0", count: 64)),v1=\(good),v0=abc")], at: now),
            parsedBody: { nil }
        )
        #expect(throws: AuthenticationFailure.self) {
            try auth.verify(self.request(body, [("Stripe-Signature", "t=\(t),v1=\(good)")], at: now.addingTimeInterval(400)), parsedBody: { nil })
        }
        #expect(throws: AuthenticationFailure.self) {
            try auth.verify(self.request(body + " ", [("Stripe-Signature", "t=\(t),v1=\(good)")], at: now), parsedBody: { nil })
        }
        #expect(throws: AuthenticationFailure.self) { try auth.verify(self.request(body, [("Stripe-Signature", "garbage")]), parsedBody: { nil }) }
    }

    @Test func hmacPresets() throws {
        let now = Date()
        let ts = String(Int(now.timeIntervalSince1970))
        let body = #"{"x":1}"#
        let cases: [(String, [(String, String)])] = [
            ("github", [("X-Hub-Signature-256", "sha256=" + hex(Array(body.utf8), "k"))]),
            ("alchemy", [("X-Alchemy-Signature", hex(Array(body.utf8), "k"))]),
            ("nansen", [("x-nansen-signature", "sha256=" + hex(Array(body.utf8), "k"))]),
            ("quicknode", [("X-QN-Nonce", "n0"), ("X-QN-Timestamp", ts), ("X-QN-Signature", hex(Array("n0\(ts)\(body)".utf8), "k"))]),
            ("tenderly", [("Date", HTTPDate.format(now)), ("x-tenderly-signature", hex(Array("\(body)\(HTTPDate.format(now))".utf8), "k"))]),
        ]
        for (name, headers) in cases {
            let auth = try #require(InboundAuth.hmacPreset(name, secret: Secret("k"), toleranceSeconds: 300))
            _ = try auth.verify(request(body, headers, at: now), parsedBody: { nil })
            #expect(throws: AuthenticationFailure.self, "\(name) tampered") {
                try auth.verify(self.request(#"{"x":2}"#, headers, at: now), parsedBody: { nil })
            }
        }
        let quicknode = try #require(InboundAuth.hmacPreset("quicknode", secret: Secret("k"), toleranceSeconds: 300))
        #expect(throws: AuthenticationFailure.self) {
            try quicknode.verify(self.request(body, cases[3].1, at: now.addingTimeInterval(600)), parsedBody: { nil })
        }
    }

    @Test func forwardedForIsBelievedOnlyFromTrustedProxies() {
        let proxies = [IPRange("10.0.0.0/8")!, IPRange("::1")!]
        #expect(ClientAddress.resolve(peer: "203.0.113.9", forwardedFor: ["52.89.214.238"], trustedProxies: proxies) == "203.0.113.9")
        #expect(ClientAddress.resolve(peer: "10.0.0.2", forwardedFor: ["1.2.3.4, 52.89.214.238"], trustedProxies: proxies) == "52.89.214.238")
        #expect(ClientAddress.resolve(peer: "10.0.0.2", forwardedFor: ["52.89.214.238, 10.0.0.7"], trustedProxies: proxies) == "52.89.214.238")
        // An entry that is not an address is the client: it matches no allowFrom, and nothing left of it is believed.
        #expect(ClientAddress.resolve(peer: "::1", forwardedFor: ["garbage"], trustedProxies: proxies) == "unparsable:garbage")
        #expect(ClientAddress.resolve(peer: "10.0.0.2", forwardedFor: ["52.89.214.238, garbage"], trustedProxies: proxies) == "unparsable:garbage")
        #expect(
            ClientAddress.resolve(peer: "10.0.0.2", forwardedFor: ["52.89.214.238", "garbage, 10.0.0.9"], trustedProxies: proxies)
                == "unparsable:garbage"
        )
        #expect(ClientAddress.resolve(peer: "10.0.0.2", forwardedFor: ["52.89.214.238,"], trustedProxies: proxies) == "unparsable:")
        #expect(ClientAddress.resolve(peer: "10.0.0.2", forwardedFor: ["10.0.0.5, 10.0.0.9"], trustedProxies: proxies) == "10.0.0.5")
        #expect(ClientAddress.resolve(peer: "10.0.0.2", forwardedFor: [], trustedProxies: proxies) == "10.0.0.2")
        #expect(ClientAddress.resolve(peer: "10.0.0.2", forwardedFor: ["52.89.214.238"], trustedProxies: []) == "10.0.0.2")
    }
}
