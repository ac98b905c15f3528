/// A webhook's answer: the decisions of a newly accepted signal, or, for a duplicate, the first answer again.
/// The server says how it goes over the wire (SPEC section 4: `202`, or `200` with `Signalbridge-Duplicate`).
public struct WebhookAnswer: Sendable, Equatable {
    /// `{"signalId", "decisions", "message"?}`.
    public var body: JSONValue
    /// Whether the signal was answered before; nothing new was decided.
    public var isDuplicate: Bool
}

/// Why a webhook was refused (SPEC section 4), in the core's terms: the server maps each kind to its HTTP status and
/// error body. The message never holds a secret.
public struct WebhookRejection: Error, Sendable, Equatable {
    /// The kinds of refusal; the raw value is the contract's `error` code.
    public enum Kind: String, Sendable, CaseIterable {
        /// No source of that name is configured.
        case unknownSource = "unknown_source"
        /// The sender's address is not in the source's allowlist.
        case forbidden
        /// The signature or token is missing or wrong.
        case unauthorized
        /// The body is over `maxBodyBytes`.
        case payloadTooLarge = "payload_too_large"
        /// The body did not arrive in time.
        case requestTimeout = "request_timeout"
        /// The body is not a signal: not JSON, no id, an unknown action.
        case badRequest = "bad_request"
        /// The signal is older than the source allows.
        case staleSignal = "stale_signal"
        /// The journal cannot be written; the signal was not accepted.
        case journalUnavailable = "journal_unavailable"
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
}
