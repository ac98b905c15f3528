import Crypto
import Foundation

/// How a source proves that a webhook is genuine (SPEC section 3, `auth.scheme`).
public enum InboundAuth: Sendable {
    /// No proof; allowed only together with `allowFrom`.
    case none
    /// A shared token in the body, a header or the query.
    case token(TokenAuth)
    /// An HMAC-SHA256 signature in a header.
    case hmacSHA256(HMACAuth)
    /// The Standard Webhooks scheme (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
    case standardWebhooks(StandardWebhooksAuth)
    /// Stripe's `Stripe-Signature: t=…,v1=…`: hex HMAC over `t.body`, the secret used as given.
    case stripe(StripeAuth)
    /// Moralis Streams' `x-signature`: `0x` + hex Keccak-256 of body + secret (not an HMAC).
    case moralis(secret: Secret)

    /// The HMAC presets of SPEC section 3 for senders users have, by scheme name.
    public static func hmacPreset(_ name: String, secret: Secret, toleranceSeconds: Int) -> InboundAuth? {
        func hmac(
            _ header: String,
            prefix: String = "",
            _ parts: [HMACAuth.Part] = [.body],
            timestampHeader: String? = nil,
            timestampFormat: HMACAuth.TimestampFormat = .unixSeconds
        ) -> InboundAuth {
            .hmacSHA256(
                HMACAuth(
                    header: header,
                    encoding: .hex,
                    prefix: prefix,
                    signedContent: parts,
                    timestampHeader: timestampHeader,
                    timestampFormat: timestampFormat,
                    toleranceSeconds: toleranceSeconds,
                    secret: secret
                )
            )
        }
        switch name {
        case "github": return hmac("X-Hub-Signature-256", prefix: "sha256=")
        case "alchemy": return hmac("X-Alchemy-Signature")
        case "nansen": return hmac("x-nansen-signature", prefix: "sha256=")
        case "quicknode":
            return hmac("X-QN-Signature", [.header("X-QN-Nonce"), .header("X-QN-Timestamp"), .body], timestampHeader: "X-QN-Timestamp")
        case "tenderly":
            return hmac("x-tenderly-signature", [.body, .header("Date")], timestampHeader: "Date", timestampFormat: .httpDate)
        default: return nil
        }
    }
}

/// Stripe webhook signatures.
public struct StripeAuth: Sendable {
    /// The endpoint's `whsec_…` secret, used as its UTF-8 text.
    public var secret: Secret
    public var toleranceSeconds: Int
}

/// A shared token, for senders that cannot sign (TradingView).
public struct TokenAuth: Sendable {
    public enum Location: Sendable, Equatable {
        /// In the JSON body at this pointer; removed before the payload is journaled.
        case body(JSONPointer)
        case header(String)
        case query(String)
    }
    public var location: Location
    public var secret: Secret
}

/// HMAC-SHA256 over a configurable concatenation of parts.
public struct HMACAuth: Sendable {
    public enum Encoding: String, Sendable { case hex, base64 }
    /// One part of the signed content.
    public enum Part: Sendable, Equatable {
        case body
        case header(String)
        case literal(String)
    }
    public var header: String
    public var encoding: Encoding
    public var prefix: String
    public var signedContent: [Part]
    /// How a timestamp header is written.
    public enum TimestampFormat: Sendable, Equatable {
        /// Unix seconds (`1732531200`), as QuickNode sends.
        case unixSeconds
        /// An HTTP date (`Mon, 25 Nov 2024 10:40:00 GMT`, RFC 9110), as Tenderly signs its `Date` header.
        case httpDate
    }
    /// When set, this header holds a time that must be within `toleranceSeconds` of now.
    public var timestampHeader: String?
    public var timestampFormat: TimestampFormat = .unixSeconds
    public var toleranceSeconds: Int
    public var secret: Secret

    /// Whether the timestamp header is checked and part of the signed content (else it proves nothing).
    public var signsTimestamp: Bool {
        guard let timestampHeader else { return false }
        return signedContent.contains { part in
            if case .header(let name) = part { return name.lowercased() == timestampHeader.lowercased() }
            return false
        }
    }
}

/// Standard Webhooks (and Svix) signatures.
public struct StandardWebhooksAuth: Sendable {
    /// The key: the base64-decoded part of a `whsec_` secret.
    public var key: Secret
    public var toleranceSeconds: Int
}

/// Why a webhook was not accepted as genuine. The message is safe to return to the sender: it holds no secret.
public struct AuthenticationFailure: Error, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// The outcome of a successful verification.
public struct Authenticated: Sendable {
    /// A signal id that the scheme itself provides (`webhook-id`), if any.
    public var schemeSignalId: String?
    /// A body pointer whose value must be removed before journaling (a body token).
    public var redactPointer: JSONPointer?
}

extension InboundAuth {
    /// Whether a captured request stays valid however late it is replayed: a signature that covers no timestamp
    /// checked against a tolerance (GitHub, Alchemy, Nansen, Moralis, `hmac-sha256` without a signed
    /// `timestampHeader`). The ids of such sources are remembered for the whole replay window. Tokens and `none`
    /// are not: whoever captured a token request can forge new ids anyway, so remembering adds nothing there.
    public var isReplayable: Bool {
        switch self {
        case .standardWebhooks, .stripe, .none, .token: return false
        case .hmacSHA256(let hmac): return !hmac.signsTimestamp
        case .moralis: return true
        }
    }

    /// Checks `request` against this scheme, on the raw bytes.
    /// - Parameter body: the parsed body, needed only for a body token.
    public func verify(_ request: InboundRequest, parsedBody: () -> JSONValue?) throws(AuthenticationFailure) -> Authenticated {
        switch self {
        case .none:
            return Authenticated()
        case .token(let token):
            return try token.verify(request, parsedBody: parsedBody)
        case .hmacSHA256(let hmac):
            try hmac.verify(request)
            return Authenticated()
        case .standardWebhooks(let scheme):
            return try scheme.verify(request)
        case .stripe(let scheme):
            try scheme.verify(request)
            return Authenticated()
        case .moralis(let secret):
            try Self.verifyMoralis(request, secret: secret)
            return Authenticated()
        }
    }

    private static func verifyMoralis(_ request: InboundRequest, secret: Secret) throws(AuthenticationFailure) {
        guard var value = request.header("x-signature") else { throw AuthenticationFailure("the x-signature header is missing") }
        if value.hasPrefix("0x") || value.hasPrefix("0X") { value.removeFirst(2) }
        guard let presented = Hex.decode(value), presented.count == 32 else {
            throw AuthenticationFailure("the x-signature header is not a 0x-prefixed Keccak-256 digest")
        }
        guard ConstantTime.equals(presented, Keccak256.hash(request.body + secret.bytes)) else {
            throw AuthenticationFailure("the signature does not match the body")
        }
    }
}

extension StripeAuth {
    func verify(_ request: InboundRequest) throws(AuthenticationFailure) {
        guard let header = request.header("Stripe-Signature") else { throw AuthenticationFailure("the Stripe-Signature header is missing") }
        var timestamp: String?
        var signatures: [[UInt8]] = []
        for item in header.split(separator: ",") {
            let pair = item.split(separator: "=", maxSplits: 1).map { String($0.trimmingASCIISpaces) }
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { timestamp = pair[1] }
            if pair[0] == "v1", let bytes = Hex.decode(pair[1]) { signatures.append(bytes) }
        }
        guard let timestamp else { throw AuthenticationFailure("Stripe-Signature has no t= timestamp") }
        guard let seconds = UnixTime.plausibleSeconds(header: timestamp) else {
            throw AuthenticationFailure("the t= timestamp of Stripe-Signature is not a Unix time in seconds between 2000 and 2100")
        }
        try checkTolerance(seconds: seconds, now: request.receivedAt, tolerance: toleranceSeconds)
        let expected = Array(
            HMAC<SHA256>.authenticationCode(for: Array("\(timestamp).".utf8) + request.body, using: SymmetricKey(data: secret.bytes))
        )
        guard signatures.contains(where: { ConstantTime.equals($0, expected) }) else {
            throw AuthenticationFailure("no v1 signature in Stripe-Signature matches the body")
        }
    }
}

extension TokenAuth {
    func verify(_ request: InboundRequest, parsedBody: () -> JSONValue?) throws(AuthenticationFailure) -> Authenticated {
        let presented: String?
        var redact: JSONPointer?
        switch location {
        case .header(let name): presented = request.header(name)
        case .query(let name): presented = request.queryValue(name)
        case .body(let pointer):
            presented = parsedBody().flatMap { pointer.resolve(in: $0)?.stringValue }
            redact = pointer
        }
        guard let presented else { throw AuthenticationFailure("the token is missing") }
        let digestA = SHA256.hash(data: Array(presented.utf8))
        let digestB = SHA256.hash(data: secret.bytes)
        guard ConstantTime.equals(Array(digestA), Array(digestB)) else { throw AuthenticationFailure("the token is wrong") }
        return Authenticated(redactPointer: redact)
    }
}

extension HMACAuth {
    func verify(_ request: InboundRequest) throws(AuthenticationFailure) {
        guard let value = request.header(header) else { throw AuthenticationFailure("the \(header) header is missing") }
        guard value.hasPrefix(prefix) else { throw AuthenticationFailure("the \(header) header does not start with \"\(prefix)\"") }
        let encoded = String(value.dropFirst(prefix.count).trimmingASCIISpaces)
        let presented: [UInt8]?
        switch encoding {
        case .hex: presented = Hex.decode(encoded)
        case .base64: presented = Data(base64Encoded: encoded).map(Array.init)
        }
        guard let presented, presented.count == SHA256.byteCount else {
            throw AuthenticationFailure("the \(header) header is not a \(encoding.rawValue) HMAC-SHA256")
        }
        if let timestampHeader {
            guard let text = request.header(timestampHeader) else {
                throw AuthenticationFailure("the \(timestampHeader) header is missing")
            }
            let parsed: Int64?
            switch timestampFormat {
            case .unixSeconds: parsed = UnixTime.plausibleSeconds(header: text)
            case .httpDate:
                parsed = HTTPDate.parse(text).flatMap { UnixTime.isPlausible($0) ? $0.timeIntervalSince1970.wholeSeconds : nil }
            }
            guard let seconds = parsed else {
                let form = timestampFormat == .unixSeconds ? "a Unix time in seconds" : "an HTTP date (such as Mon, 25 Nov 2024 10:40:00 GMT)"
                throw AuthenticationFailure("the \(timestampHeader) header is not \(form) between 2000 and 2100")
            }
            try checkTolerance(seconds: seconds, now: request.receivedAt, tolerance: toleranceSeconds)
        }
        var content: [UInt8] = []
        for part in signedContent {
            switch part {
            case .body: content += request.body
            case .literal(let text): content += Array(text.utf8)
            case .header(let name):
                guard let headerValue = request.header(name) else {
                    throw AuthenticationFailure("the \(name) header is missing")
                }
                content += Array(headerValue.utf8)
            }
        }
        let key = SymmetricKey(data: secret.bytes)
        guard HMAC<SHA256>.isValidAuthenticationCode(presented, authenticating: content, using: key) else {
            throw AuthenticationFailure("the signature does not match the body")
        }
    }
}

extension StandardWebhooksAuth {
    /// Parses a `whsec_<base64>` secret (the prefix is optional, as in the reference libraries).
    public static func key(fromSecret secret: Secret) -> Secret? {
        var text = secret.text
        if text.hasPrefix("whsec_") { text.removeFirst(6) }
        guard let data = Data(base64Encoded: text), !data.isEmpty else { return nil }
        return Secret(bytes: Array(data))
    }

    /// The HMAC-SHA256 of `id.timestamp.body` under `key`: what a `v1,` entry of `webhook-signature` holds, base64.
    public static func signature(key: Secret, id: String, timestamp: String, body: [UInt8]) -> [UInt8] {
        let content = Array("\(id).\(timestamp).".utf8) + body
        return Array(HMAC<SHA256>.authenticationCode(for: content, using: SymmetricKey(data: key.bytes)))
    }

    func verify(_ request: InboundRequest) throws(AuthenticationFailure) -> Authenticated {
        func header(_ name: String) -> String? { request.header("webhook-" + name) ?? request.header("svix-" + name) }
        guard let id = header("id"), let timestamp = header("timestamp"), let signatures = header("signature") else {
            throw AuthenticationFailure("the webhook-id, webhook-timestamp and webhook-signature headers are required")
        }
        guard let seconds = UnixTime.plausibleSeconds(header: timestamp) else {
            throw AuthenticationFailure("webhook-timestamp is not a Unix time in seconds between 2000 and 2100")
        }
        try checkTolerance(seconds: seconds, now: request.receivedAt, tolerance: toleranceSeconds)
        let expected = Self.signature(key: key, id: id, timestamp: timestamp, body: request.body)
        var matched = false
        for entry in signatures.split(separator: " ") {
            let parts = entry.split(separator: ",", maxSplits: 1)
            guard parts.count == 2, parts[0] == "v1", let presented = Data(base64Encoded: String(parts[1])) else {
                continue
            }
            if ConstantTime.equals(Array(presented), expected) { matched = true }
        }
        guard matched else { throw AuthenticationFailure("no v1 signature in webhook-signature matches the body") }
        return Authenticated(schemeSignalId: id)
    }
}

/// Both times are plausible Unix seconds (``UnixTime``), so the difference cannot overflow.
private func checkTolerance(seconds: Int64, now: Date, tolerance: Int) throws(AuthenticationFailure) {
    let skew = UnixTime.seconds(now) - seconds
    guard skew.magnitude <= UInt64(tolerance) else {
        let direction = skew > 0 ? "old" : "in the future"
        throw AuthenticationFailure("the signed timestamp is \(skew.magnitude) s \(direction) (tolerance \(tolerance) s)")
    }
}

/// Lowercase hexadecimal.
public enum Hex {
    /// Lowercase hex of `bytes`.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of hex `text` (either case); nil when it is not hex.
    public static func decode(_ text: String) -> [UInt8]? {
        let bytes = Array(text.utf8)
        guard bytes.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count / 2)
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x61...0x66: return c - 0x61 + 10
            case 0x41...0x46: return c - 0x41 + 10
            default: return nil
            }
        }
        var i = 0
        while i < bytes.count {
            guard let high = nibble(bytes[i]), let low = nibble(bytes[i + 1]) else { return nil }
            out.append(high << 4 | low)
            i += 2
        }
        return out
    }

    /// Hex SHA-256 of `bytes`.
    public static func sha256(_ bytes: some Sequence<UInt8>) -> String {
        encode(SHA256.hash(data: Array(bytes)))
    }
}
