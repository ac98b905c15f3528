import Foundation

/// A webhook that passed every check that needs no memory of other signals.
public struct AdmittedSignal: Sendable {
    public var key: SignalKey
    public var source: SourceSettings
    /// The parsed body, a body token removed.
    public var payload: JSONValue
}

/// The stateless part of the path of a webhook (SPEC section 1): source, allowlist, authentication on the raw
/// bytes, then parsing and the signal id. Pure and `Sendable`, so many webhooks pass it at once.
///
/// The body is parsed as JSON only after the signature or token passed, except for a token in the body, which
/// needs the parse: that costs one pass over at most `limits.maxBodyBytes` bytes, nested at most 64 deep. An
/// unauthenticated request therefore costs a source lookup, an allowlist check and one HMAC or digest at most.
public struct WebhookAdmission: Sendable {
    public var configuration: BridgeConfiguration
    /// The JSON parser; tests count its calls.
    var parse: @Sendable ([UInt8]) throws(JSONParseError) -> JSONValue = { bytes throws(JSONParseError) in
        try JSONParser.parse(bytes)
    }

    public init(configuration: BridgeConfiguration) {
        self.configuration = configuration
    }

    /// Checks `request` up to its signal id.
    /// - Throws: ``WebhookRejection`` of kind unknown source, forbidden, unauthorized or bad request.
    public func admit(_ request: InboundRequest) throws(WebhookRejection) -> AdmittedSignal {
        guard let source = configuration.source(named: request.sourceName) else {
            throw WebhookRejection(.unknownSource, "no source named \"\(request.sourceName)\" is configured")
        }
        if !source.allowFrom.isEmpty {
            guard let address = request.remoteAddress, source.allowFrom.contains(where: { $0.contains(address) }) else {
                throw WebhookRejection(.forbidden, "\(request.remoteAddress ?? "this address") may not post to \"\(source.name)\"")
            }
        }
        var parsed: Result<JSONValue, JSONParseError>?
        let parseOnce = { () -> Result<JSONValue, JSONParseError> in
            if let parsed { return parsed }
            let result = Result { () throws(JSONParseError) -> JSONValue in try parse(request.body) }
            parsed = result
            return result
        }
        let authenticated: Authenticated
        do {
            authenticated = try source.auth.verify(request, parsedBody: { try? parseOnce().get() })
        } catch {
            throw WebhookRejection(.unauthorized, error.message)
        }
        var payload: JSONValue
        switch parseOnce() {
        case .success(let value): payload = value
        case .failure(let error): throw WebhookRejection(.badRequest, "the body is not JSON: \(error.description)")
        }
        if let redact = authenticated.redactPointer { payload = redact.removing(from: payload) }
        let signalId = try signalId(for: request, source: source, authenticated: authenticated, payload: payload)
        return AdmittedSignal(key: SignalKey(source: source.name, signalId: signalId), source: source, payload: payload)
    }

    private func signalId(
        for request: InboundRequest,
        source: SourceSettings,
        authenticated: Authenticated,
        payload: JSONValue
    ) throws(WebhookRejection) -> String {
        if let id = authenticated.schemeSignalId {
            guard !id.isEmpty, id.utf8.count <= 256 else { throw WebhookRejection(.badRequest, "webhook-id must be 1 to 256 bytes") }
            return id
        }
        if let pointer = source.idPointer {
            guard let id = pointer.resolve(in: payload)?.scalarText, !id.isEmpty, id.utf8.count <= 256 else {
                throw WebhookRejection(.badRequest, "the payload has no id at \(pointer) (idPointer of \"\(source.name)\")")
            }
            return id
        }
        return Hex.sha256(Array(source.name.utf8) + [0] + request.body)
    }

    /// Refuses a signal older than its source allows, or as far in the future (422), or whose time is missing or not
    /// a time (400).
    /// A time is a plausible one (2000 to 2100, ``SignalTime``), so the lag is finite and small.
    public func checkLag(_ signal: AdmittedSignal, now: Date) throws(WebhookRejection) {
        let source = signal.source
        let payload = signal.payload
        var maxLag = source.maxLagSeconds
        if source.isOKXSignalBot, maxLag == nil {
            guard let lag = OKXSignalBot.maxLag(payload) else {
                throw WebhookRejection(
                    .badRequest,
                    "maxLag must be a whole number of seconds from \(OKXSignalBot.maxLagRange.lowerBound) to \(OKXSignalBot.maxLagRange.upperBound)"
                )
            }
            maxLag = lag
        }
        guard let pointer = source.timestampPointer ?? (source.isOKXSignalBot ? OKXSignalBot.timestampPointer : nil) else { return }
        guard let value = pointer.resolve(in: payload) else {
            throw WebhookRejection(.badRequest, "the payload has no time at \(pointer) (timestampPointer of \"\(source.name)\")")
        }
        guard let time = SignalTime.parse(value) else {
            throw WebhookRejection(
                .badRequest,
                "the value at \(pointer) is not a time: expected ISO 8601, or Unix seconds or milliseconds, between 2000 and 2100"
            )
        }
        let age = now.timeIntervalSince(time)
        guard let maxLag else { return }
        if age > TimeInterval(maxLag) {
            throw WebhookRejection(.staleSignal, "the signal is \(age.wholeSeconds) s old; \"\(source.name)\" accepts at most \(maxLag) s")
        }
        // A time far ahead would stay fresh, so a captured request could be replayed for as long: refused alike.
        if -age > TimeInterval(maxLag) {
            throw WebhookRejection(
                .staleSignal,
                "the signal's time is \((-age).wholeSeconds) s in the future; \"\(source.name)\" accepts at most \(maxLag) s of clock difference"
            )
        }
    }
}
