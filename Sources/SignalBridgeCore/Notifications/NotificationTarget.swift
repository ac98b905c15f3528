import Foundation

/// What a notice is about (SPEC section 3a, `notifications[].events`).
public enum NotificationEvent: String, Sendable, CaseIterable {
    case orderFilled = "order.filled"
    case orderRejected = "order.rejected"
    case orderAbandoned = "order.abandoned"
    /// An order's outcome is unknown (`order.unknown`): it is being looked up, and later orders of its instrument wait.
    case orderUnresolved = "order.unresolved"
    /// The kill switch was engaged or released.
    case killSwitch
    /// A rule reload was refused; the previous rules stay in force.
    case rulesRefused = "rules.refused"
}

/// Where notices go and in what shape (`notifications[]`). It prints (and dumps) as its ``displayName`` only: its URL
/// may hold a chat service's token.
public struct NotificationTarget: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public enum Format: String, Sendable {
        /// `{"type", "timestamp", "data"}`, signed as a Standard Webhooks sender.
        case json
        /// A Slack incoming webhook: `{"text"}`.
        case slack
        /// A Discord webhook: `{"content"}`.
        case discord
        /// Telegram's `sendMessage` (the `chat_id` in the URL's query): `{"text"}`.
        case telegram
    }

    /// The URL notices are POSTed to. Chat services' URLs hold their token: it is never logged (``displayName``).
    public var url: URL
    public var format: Format
    public var events: Set<NotificationEvent>
    /// The Standard Webhooks key of a `json` target (the base64-decoded part of its `whsec_` secret).
    public var signingKey: Secret?

    /// What logs and errors say of the target: its position, format and host, never its path or query.
    public var displayName: String

    public var description: String { displayName }
    public var debugDescription: String { displayName }
    public var customMirror: Mirror { Mirror(self, children: []) }

    static let keys: Set<String> = ["url", "format", "events", "secretEnv", "secretFile"]

    /// Reads one entry of `notifications[]`.
    static func read(
        _ reader: ObjectReader,
        index: Int,
        baseDirectory: URL,
        environment: [String: String]
    ) throws(DocumentError)
        -> NotificationTarget
    {
        let text = try reader.requiredString("url")
        guard let url = URL(string: text), url.scheme == "https" || url.scheme == "http", let host = url.host, !host.isEmpty,
            !BridgeConfiguration.hasAmbiguousAuthority(url, text: text)
        else {
            throw reader.error("url", "expected an http(s) URL (no user info, backslash or percent-encoding in the host)")
        }
        guard url.scheme == "https" || BridgeConfiguration.isLoopback(host: host) else {
            throw reader.error("url", "notices would travel in clear: use https:// (http:// only to a loopback address)")
        }
        let formatText = try reader.string("format") ?? "json"
        guard let format = Format(rawValue: formatText) else {
            throw reader.error("format", "expected \"json\", \"slack\", \"discord\" or \"telegram\"")
        }
        guard let names = try reader.stringArray("events"), !names.isEmpty else {
            throw reader.error("events", "required: a list of at least one of \(NotificationEvent.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var events = Set<NotificationEvent>()
        for (i, name) in names.enumerated() {
            guard let event = NotificationEvent(rawValue: name) else {
                throw DocumentError(
                    pointer: reader.pointer.appending("events").appending(i),
                    message: "unknown event \"\(name.prefix(40))\" (use \(NotificationEvent.allCases.map(\.rawValue).joined(separator: ", ")))"
                )
            }
            events.insert(event)
        }
        var signingKey: Secret?
        let hasSecret = reader.has("secretEnv") || reader.has("secretFile")
        switch (format, hasSecret) {
        case (.json, true):
            let key = reader.has("secretEnv") ? "secretEnv" : "secretFile"
            let secret = try SecretSource.read(reader, base: "secret", baseDirectory: baseDirectory)
                .resolve(environment: environment, pointer: reader.pointer.appending(key))
            guard let decoded = StandardWebhooksAuth.key(fromSecret: secret) else {
                throw reader.error(key, "the secret is not a whsec_<base64> Standard Webhooks secret")
            }
            signingKey = decoded
        case (.json, false):
            throw reader.error("secretEnv", "required for json notices: the whsec_ secret they are signed with (secretEnv or secretFile)")
        case (_, true):
            throw reader.error(
                reader.has("secretEnv") ? "secretEnv" : "secretFile",
                "only json notices are signed; \(format.rawValue) takes no secret"
            )
        case (_, false):
            break
        }
        return NotificationTarget(
            url: url,
            format: format,
            events: events,
            signingKey: signingKey,
            displayName: "notifications[\(index)] (\(format.rawValue), \(host))"
        )
    }
}
