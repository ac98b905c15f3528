import Foundation

/// One webhook sender (`sources[]` in the configuration).
public struct SourceSettings: Sendable {
    /// The `{source}` in `POST /webhooks/{source}`.
    public var name: String
    public var auth: InboundAuth
    /// When not empty, only these addresses may post.
    public var allowFrom: [IPRange]
    /// Where the sender's own event id is.
    public var idPointer: JSONPointer?
    /// Where the signal's time is (ISO 8601, or Unix seconds or milliseconds).
    public var timestampPointer: JSONPointer?
    /// A signal older than this is refused with 422.
    public var maxLagSeconds: Int?
    /// Set for sources whose payloads are OKX Signal Bot messages, mapped to orders without rules.
    public var isOKXSignalBot = false

    public init(
        name: String,
        auth: InboundAuth,
        allowFrom: [IPRange] = [],
        idPointer: JSONPointer? = nil,
        timestampPointer: JSONPointer? = nil,
        maxLagSeconds: Int? = nil
    ) {
        self.name = name
        self.auth = auth
        self.allowFrom = allowFrom
        self.idPointer = idPointer
        self.timestampPointer = timestampPointer
        self.maxLagSeconds = maxLagSeconds
    }

    static let keys: Set<String> = ["name", "auth", "allowFrom", "idPointer", "timestampPointer", "maxLagSeconds", "format"]
    static let hmacPresets = ["github", "alchemy", "nansen", "quicknode", "tenderly"]
    static let authKeys: Set<String> = [
        "scheme", "in", "pointer", "header", "name", "encoding", "prefix", "signedContent", "timestampHeader",
        "toleranceSeconds", "secretEnv", "secretFile",
    ]

    static func read(_ reader: ObjectReader, baseDirectory: URL, environment: [String: String]) throws(DocumentError) -> SourceSettings {
        let name = try reader.requiredString("name")
        guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw reader.error("name", "a source name may hold only letters, digits, '-' and '_'")
        }
        var allowFrom: [IPRange] = []
        for (i, text) in (try reader.stringArray("allowFrom") ?? []).enumerated() {
            guard let range = IPRange(text) else {
                throw DocumentError(
                    pointer: reader.pointer.appending("allowFrom").appending(i),
                    message: "\"\(text)\" is not an IP address or CIDR range"
                )
            }
            allowFrom.append(range)
        }
        guard let authReader = try reader.object("auth", allowedKeys: authKeys) else {
            throw reader.error("auth", "required: say how this source authenticates (scheme token, hmac-sha256, standard-webhooks or none)")
        }
        let auth = try readAuth(authReader, baseDirectory: baseDirectory, environment: environment)
        if case .none = auth {
            guard !allowFrom.isEmpty else {
                throw authReader.error("scheme", "scheme \"none\" is allowed only together with allowFrom")
            }
            if let breadth = IPRange.tooBroad(allowFrom) {
                throw reader.error(
                    "allowFrom",
                    "these ranges cover \(breadth), and scheme \"none\" checks nothing else: name the sender's addresses, or choose a scheme that authenticates"
                )
            }
        }
        var source = SourceSettings(
            name: name,
            auth: auth,
            allowFrom: allowFrom,
            idPointer: try reader.jsonPointer("idPointer"),
            timestampPointer: try reader.jsonPointer("timestampPointer"),
            maxLagSeconds: try reader.integer("maxLagSeconds", in: 1...31_536_000)
        )
        if let format = try reader.string("format") {
            guard format == "okx-signal-bot" else {
                throw reader.error("format", "unknown format \"\(format)\" (the only one is \"okx-signal-bot\")")
            }
            source.isOKXSignalBot = true
        }
        return source
    }

    private static func readAuth(_ reader: ObjectReader, baseDirectory: URL, environment: [String: String]) throws(DocumentError) -> InboundAuth {
        let scheme = try reader.requiredString("scheme")
        func secret() throws(DocumentError) -> Secret {
            let source = try SecretSource.read(reader, base: "secret", baseDirectory: baseDirectory)
            let key = reader.has("secretEnv") ? "secretEnv" : "secretFile"
            return try source.resolve(environment: environment, pointer: reader.pointer.appending(key))
        }
        switch scheme {
        case "none":
            return .none
        case "token":
            let place = try reader.string("in") ?? "header"
            let location: TokenAuth.Location
            switch place {
            case "body":
                guard let pointer = try reader.jsonPointer("pointer"), !pointer.tokens.isEmpty else {
                    throw reader.error("pointer", "required with \"in\": \"body\": the JSON Pointer of the token")
                }
                location = .body(pointer)
            case "header": location = .header(try reader.string("header") ?? "X-Signalbridge-Token")
            case "query": location = .query(try reader.string("name") ?? "token")
            default: throw reader.error("in", "expected \"body\", \"header\" or \"query\"")
            }
            return .token(TokenAuth(location: location, secret: try secret()))
        case "hmac-sha256":
            let encodingText = try reader.string("encoding") ?? "hex"
            guard let encoding = HMACAuth.Encoding(rawValue: encodingText) else {
                throw reader.error("encoding", "expected \"hex\" or \"base64\"")
            }
            var parts: [HMACAuth.Part] = []
            for (i, part) in (try reader.stringArray("signedContent") ?? ["body"]).enumerated() {
                if part == "body" {
                    parts.append(.body)
                } else if part.hasPrefix("header:") {
                    let name = String(part.dropFirst("header:".count))
                    guard !name.isEmpty else {
                        throw DocumentError(
                            pointer: reader.pointer.appending("signedContent").appending(i),
                            message: "a header name is required after \"header:\""
                        )
                    }
                    parts.append(.header(name))
                } else {
                    parts.append(.literal(part))
                }
            }
            let hmac = HMACAuth(
                header: try reader.requiredString("header"),
                encoding: encoding,
                prefix: try reader.string("prefix") ?? "",
                signedContent: parts,
                timestampHeader: try reader.string("timestampHeader"),
                toleranceSeconds: try reader.integer("toleranceSeconds", in: 1...86400) ?? 300,
                secret: try secret()
            )
            if let name = hmac.timestampHeader, !hmac.signsTimestamp {
                throw reader.error(
                    "timestampHeader",
                    "\(name) is not part of signedContent, so it proves nothing: add \"header:\(name)\" to signedContent"
                )
            }
            return .hmacSHA256(hmac)
        case "standard-webhooks":
            let raw = try secret()
            guard let key = StandardWebhooksAuth.key(fromSecret: raw) else {
                let key = reader.has("secretEnv") ? "secretEnv" : "secretFile"
                throw reader.error(key, "the secret is not a whsec_<base64> Standard Webhooks secret")
            }
            return .standardWebhooks(
                StandardWebhooksAuth(key: key, toleranceSeconds: try reader.integer("toleranceSeconds", in: 1...86400) ?? 300)
            )
        case "stripe":
            return .stripe(StripeAuth(secret: try secret(), toleranceSeconds: try reader.integer("toleranceSeconds", in: 1...86400) ?? 300))
        case "moralis":
            return .moralis(secret: try secret())
        default:
            let tolerance = try reader.integer("toleranceSeconds", in: 1...86400) ?? 300
            if Self.hmacPresets.contains(scheme), let preset = InboundAuth.hmacPreset(scheme, secret: try secret(), toleranceSeconds: tolerance) {
                return preset
            }
            throw reader.error(
                "scheme",
                "unknown scheme \"\(scheme)\" (use token, hmac-sha256, standard-webhooks, none, or a preset: \((Self.hmacPresets + ["stripe", "moralis"]).joined(separator: ", ")))"
            )
        }
    }
}
