import Crypto
import Foundation
import SignalBridgeCore

/// One fuzz input decoded into a webhook (the format is on ``WebhookFuzzHarness``), signed when it asks to be.
struct FuzzInput {
    var request: InboundRequest

    init(_ data: [UInt8], harness: WebhookFuzzHarness, now: Date) {
        var lines = Self.lines(data)
        let first = lines.next() ?? []
        let words = String(decoding: first, as: UTF8.self).split(separator: " ", maxSplits: 1)
        let sources = harness.configuration.sources
        let named = words.first.flatMap { name in sources.first { $0.name == name } }
        let source = named ?? sources[Int(data.first ?? 0) % sources.count]
        let flags = words.count > 1 ? words[1] : ""
        var headers: [(name: String, value: String)] = []
        var query: [(name: String, value: String)] = []
        var peer: String? = "127.0.0.1"
        while let line = lines.next(), !line.isEmpty {
            let text = String(decoding: line, as: UTF8.self)
            guard let colon = text.firstIndex(of: ":") else { continue }
            let name = String(text[..<colon])
            let value = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch name.lowercased() {
            case "x-peer": peer = value
            case "x-query":
                let pair = value.split(separator: "=", maxSplits: 1).map(String.init)
                query.append((name: pair.first ?? "", value: pair.count > 1 ? pair[1] : ""))
            default: headers.append((name: name, value: value))
            }
        }
        request = InboundRequest(
            sourceName: source.name,
            headers: headers,
            query: query,
            body: lines.rest,
            remoteAddress: peer,
            receivedAt: now
        )
        if flags.contains("t") {
            stampTimes(source.auth, now: now)
            let body = String(decoding: request.body, as: UTF8.self)
            if body.contains("{{timenow}}") {
                request.body = Array(body.replacingOccurrences(of: "{{timenow}}", with: Timestamp.format(now)).utf8)
            }
        }
        if flags.contains("s") { sign(source.auth) }
    }

    /// Splits at `\n` and hands out what is left as the body.
    struct Lines {
        var bytes: ArraySlice<UInt8>
        mutating func next() -> ArraySlice<UInt8>? {
            guard !bytes.isEmpty else { return nil }
            let end = bytes.firstIndex(of: 0x0A) ?? bytes.endIndex
            let line = bytes[..<end]
            bytes = end < bytes.endIndex ? bytes[(end + 1)...] : []
            return line
        }
        var rest: [UInt8] { Array(bytes) }
    }

    static func lines(_ data: [UInt8]) -> Lines { Lines(bytes: data[...]) }

    private mutating func set(_ name: String, _ value: String) {
        request.headers.removeAll { $0.name.lowercased() == name.lowercased() }
        request.headers.append((name: name, value: value))
    }

    private func header(_ name: String) -> String { request.header(name) ?? "" }

    /// Sets the timestamp headers a scheme checks to `now`.
    private mutating func stampTimes(_ auth: InboundAuth, now: Date) {
        let seconds = String(now.timeIntervalSince1970.wholeSeconds)
        switch auth {
        case .standardWebhooks: set("webhook-timestamp", seconds)
        case .hmacSHA256(let hmac) where hmac.timestampHeader == "Date": set("Date", HTTPDate.format(now))
        case .hmacSHA256(let hmac): if let name = hmac.timestampHeader { set(name, seconds) }
        case .stripe: set("Stripe-Signature", "t=\(seconds)")
        case .none, .token, .moralis: break
        }
    }

    /// Signs the request as the source's real sender would, over its headers and body as they are now.
    private mutating func sign(_ auth: InboundAuth) {
        let body = request.body
        func mac(_ content: [UInt8], _ key: [UInt8]) -> [UInt8] {
            Array(HMAC<SHA256>.authenticationCode(for: content, using: SymmetricKey(data: key)))
        }
        switch auth {
        case .none: break
        case .token(let token):
            switch token.location {
            case .header(let name): set(name, token.secret.text)
            case .query(let name):
                request.query.removeAll { $0.name == name }
                request.query.append((name: name, value: token.secret.text))
            case .body(let pointer):
                if case .object(var object)? = try? JSONParser.parse(body), let key = pointer.tokens.first, pointer.tokens.count == 1 {
                    object[key] = .string(token.secret.text)
                    request.body = JSONValue.object(object).jsonBytes
                }
            }
        case .hmacSHA256(let hmac):
            var content: [UInt8] = []
            for part in hmac.signedContent {
                switch part {
                case .body: content += body
                case .literal(let text): content += Array(text.utf8)
                case .header(let name): content += Array(header(name).utf8)
                }
            }
            let digest = mac(content, hmac.secret.bytes)
            let encoded = hmac.encoding == .hex ? Hex.encode(digest) : Data(digest).base64EncodedString()
            set(hmac.header, hmac.prefix + encoded)
        case .standardWebhooks(let scheme):
            let id = request.header("webhook-id") ?? "msg_fuzz"
            set("webhook-id", id)
            let timestamp = header("webhook-timestamp")
            let digest = mac(Array("\(id).\(timestamp).".utf8) + body, scheme.key.bytes)
            set("webhook-signature", "v1," + Data(digest).base64EncodedString())
        case .stripe(let scheme):
            let timestamp = header("Stripe-Signature").split(separator: ",").first { $0.hasPrefix("t=") }.map { String($0.dropFirst(2)) } ?? ""
            let digest = mac(Array("\(timestamp).".utf8) + body, scheme.secret.bytes)
            set("Stripe-Signature", "t=\(timestamp),v1=\(Hex.encode(digest))")
        case .moralis(let secret):
            set("x-signature", "0x" + Hex.encode(Keccak256.hash(body + secret.bytes)))
        }
    }
}
