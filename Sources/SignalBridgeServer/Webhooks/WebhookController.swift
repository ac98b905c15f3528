import HTTPTypes
import Hummingbird
import NIOCore
import SignalBridgeCore
import Synchronization

/// `POST /webhooks/{source}`: reads the raw body within the size limit and hands it to the core.
struct WebhookController: Sendable {
    let intake: SignalIntake
    let maxBodyBytes: Int
    let trustedProxies: [IPRange]
    /// The configured source names: only these are metric labels.
    let sourceNames: Set<String>
    let metrics: BridgeMetrics
    /// How long a sender may take to send its body.
    var bodyTimeout: Duration = .seconds(10)

    func addRoutes(to router: Router<WebhookContext>) {
        router.post("/webhooks/:source") { request, context in
            await self.receive(request, context: context)
        }
    }

    func receive(_ request: Request, context: WebhookContext) async -> Response {
        let sourceName = context.parameters.get("source") ?? ""
        var inbound = InboundRequest(
            sourceName: sourceName,
            headers: request.headers.map { (name: $0.name.rawName, value: $0.value) },
            query: request.uri.queryParameters.map { (name: String($0.key), value: String($0.value)) },
            body: [],
            remoteAddress: ClientAddress.resolve(
                peer: context.remoteAddress,
                forwardedFor: request.headers[values: .xForwardedFor],
                trustedProxies: trustedProxies
            )
        )
        let tooLarge = WebhookRejection(.payloadTooLarge, "the body is larger than \(maxBodyBytes) bytes")
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBodyBytes {
            context.stopReading()
            return await answer(.failure(tooLarge), to: inbound)
        }
        switch await readBody(request, context: context) {
        case .success(let body):
            inbound.body = body
        case .failure(let rejection):
            context.stopReading()
            return await answer(.failure(rejection), to: inbound)
        }
        return await answer(await intake.handle(inbound), to: inbound)
    }

    /// The raw body, refused past `maxBodyBytes` (without reading the rest) or past ``bodyTimeout``. The timeout is a
    /// task scheduled on the connection's event loop that closes its input, which ends the body; no task or timer of
    /// Swift concurrency is made per request.
    func readBody(_ request: Request, context: WebhookContext) async -> Result<[UInt8], WebhookRejection> {
        let limit = maxBodyBytes
        let timeout = bodyTimeout
        let timer = BodyTimer()
        let channel = context.channel
        let deadline = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            // Only while the body is still awaited: one that arrived in time is never cut off afterwards.
            if timer.fire() { channel.close(mode: .input, promise: nil) }
        }
        defer { deadline.cancel() }
        let result: Result<[UInt8], WebhookRejection>
        do {
            result = .success(Array(try await request.body.collect(upTo: limit).readableBytesView))
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            result = .failure(WebhookRejection(.payloadTooLarge, "the body is larger than \(limit) bytes"))
        } catch {
            result = .failure(WebhookRejection(.badRequest, "the body could not be read"))
        }
        // Cut off, the body may look complete but is not; the timer and the body race for the one outcome.
        guard timer.complete() else { return .failure(WebhookRejection(.requestTimeout, "the body did not arrive within \(timeout)")) }
        return result
    }

    /// The HTTP answer to the core's answer or refusal (SPEC section 4); a refusal is journaled with its status.
    func answer(_ result: Result<WebhookAnswer, WebhookRejection>, to request: InboundRequest) async -> Response {
        let source = sourceNames.contains(request.sourceName) ? request.sourceName : nil
        switch result {
        case .success(let answer):
            metrics.signal(source: source, outcome: answer.isDuplicate ? "duplicate" : "accepted")
            var headers: HTTPFields = [:]
            if answer.isDuplicate { headers[.signalbridgeDuplicate] = "true" }
            return JSONResponse.make(status: answer.isDuplicate ? .ok : .accepted, body: answer.body, headers: headers)
        case .failure(let rejection):
            metrics.signal(source: source, outcome: rejection.kind.rawValue)
            let status = rejection.kind.status
            await intake.recordRejection(rejection, status: Int(status.code), request: request)
            var headers: HTTPFields = [:]
            if rejection.kind == .journalUnavailable { headers[.retryAfter] = "5" }
            let body = JSONValue.object(JSONObject([("error", .string(rejection.kind.rawValue)), ("message", .string(rejection.message))]))
            return JSONResponse.make(status: status, body: body, headers: headers)
        }
    }
}

extension WebhookRejection.Kind {
    /// The status SPEC section 4 gives this refusal.
    var status: HTTPResponse.Status {
        switch self {
        case .unknownSource: return .notFound
        case .forbidden: return .forbidden
        case .unauthorized: return .unauthorized
        case .payloadTooLarge: return .contentTooLarge
        case .requestTimeout: return .requestTimeout
        case .badRequest: return .badRequest
        case .staleSignal: return .unprocessableContent
        case .journalUnavailable: return .serviceUnavailable
        }
    }
}

/// Whether a body arrived before its deadline: the first of ``fire()`` and ``complete()`` wins, once.
final class BodyTimer: Sendable {
    private static let pending = 0
    private static let fired = 1
    private static let completed = 2
    private let state = Atomic(BodyTimer.pending)

    /// The deadline passed; true when the body had not arrived (then the input is closed).
    func fire() -> Bool { state.compareExchange(expected: Self.pending, desired: Self.fired, ordering: .sequentiallyConsistent).exchanged }

    /// The body was read; true when that was before the deadline.
    func complete() -> Bool {
        state.compareExchange(expected: Self.pending, desired: Self.completed, ordering: .sequentiallyConsistent).exchanged
    }
}

/// JSON responses from ``JSONValue``.
enum JSONResponse {
    static func make(status: HTTPResponse.Status, body: JSONValue, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body.jsonText + "\n")))
    }
}

extension HTTPField.Name {
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let signalbridgeDuplicate = HTTPField.Name("Signalbridge-Duplicate")!
}
