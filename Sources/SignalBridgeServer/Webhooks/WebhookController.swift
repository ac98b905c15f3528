import HTTPTypes
import Hummingbird
import NIOCore
import SignalBridgeCore

/// `POST /webhooks/{source}`: reads the raw body within the size limit and hands it to the core.
struct WebhookController: Sendable {
    let intake: SignalIntake
    let maxBodyBytes: Int
    let trustedProxies: [IPRange]
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
            await intake.recordRejection(tooLarge, request: inbound)
            return answer(.failure(tooLarge))
        }
        switch await readBody(request) {
        case .success(let body):
            inbound.body = body
        case .failure(let rejection):
            context.stopReading()
            await intake.recordRejection(rejection, request: inbound)
            return answer(.failure(rejection))
        }
        return answer(await intake.handle(inbound))
    }

    /// The raw body, refused past `maxBodyBytes` (without reading the rest) or past ``bodyTimeout``.
    func readBody(_ request: Request) async -> Result<[UInt8], WebhookRejection> {
        let body = request.body
        let limit = maxBodyBytes
        let timeout = bodyTimeout
        return await withTaskGroup(of: Result<[UInt8], WebhookRejection>.self) { group in
            group.addTask {
                do {
                    return .success(Array(try await body.collect(upTo: limit).readableBytesView))
                } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
                    return .failure(WebhookRejection(.payloadTooLarge, "the body is larger than \(limit) bytes"))
                } catch {
                    return .failure(WebhookRejection(.badRequest, "the body could not be read"))
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return .failure(WebhookRejection(.requestTimeout, "the body did not arrive within \(timeout)"))
            }
            let first = await group.next()!
            group.cancelAll()
            return first
        }
    }

    func answer(_ result: Result<WebhookAnswer, WebhookRejection>) -> Response {
        switch result {
        case .success(let answer):
            metrics.webhook(answer.isDuplicate ? "duplicate" : "accepted")
            var headers: HTTPFields = [:]
            if answer.isDuplicate { headers[HTTPField.Name("Signalbridge-Duplicate")!] = "true" }
            return JSONResponse.make(status: .init(code: answer.status), body: answer.body, headers: headers)
        case .failure(let rejection):
            metrics.webhook(rejection.kind.rawValue)
            var headers: HTTPFields = [:]
            if rejection.kind == .journalUnavailable { headers[.retryAfter] = "5" }
            return JSONResponse.make(status: .init(code: rejection.kind.status), body: rejection.body, headers: headers)
        }
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
}
