/// A webhook's answer: `202` with the decisions, or `200` with the first answer again for a duplicate.
public struct WebhookAnswer: Sendable, Equatable {
    public var status: Int
    public var body: JSONValue
    /// Set on a duplicate: the server adds `Signalbridge-Duplicate: true`.
    public var isDuplicate: Bool
}

/// Why a webhook was refused (SPEC section 4). The message never holds a secret.
public struct WebhookRejection: Error, Sendable, Equatable {
    /// The kinds of refusal, each with its HTTP status from the contract.
    public enum Kind: String, Sendable {
        case unknownSource = "unknown_source"
        case forbidden
        case unauthorized
        case payloadTooLarge = "payload_too_large"
        case requestTimeout = "request_timeout"
        case badRequest = "bad_request"
        case staleSignal = "stale_signal"
        case journalUnavailable = "journal_unavailable"

        /// The status SPEC section 4 gives this refusal.
        public var status: Int {
            switch self {
            case .unknownSource: return 404
            case .forbidden: return 403
            case .unauthorized: return 401
            case .payloadTooLarge: return 413
            case .requestTimeout: return 408
            case .badRequest: return 400
            case .staleSignal: return 422
            case .journalUnavailable: return 503
            }
        }
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// `{"error": "<code>", "message": "<text>"}`.
    public var body: JSONValue {
        .object(JSONObject([("error", .string(kind.rawValue)), ("message", .string(message))]))
    }
}
