import HTTPTypes
import Hummingbird
import NIOCore
import SignalBridgeCore

/// `POST /webhooks/{source}`: reads the raw body within the size limit and hands it to the core.
struct WebhookController: Sendable {
    let intake: SignalIntake
    let maxBodyBytes: Int
    let metrics: BridgeMetrics

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
            remoteAddress: context.remoteAddress
        )
        let tooLarge = WebhookRejection(.payloadTooLarge, "the body is larger than \(maxBodyBytes) bytes")
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBodyBytes {
            await intake.recordRejection(tooLarge, request: inbound)
            return answer(.failure(tooLarge))
        }
        do {
            inbound.body = Array(try await request.body.collect(upTo: maxBodyBytes).readableBytesView)
        } catch {
            await intake.recordRejection(tooLarge, request: inbound)
            return answer(.failure(tooLarge))
        }
        return answer(await intake.handle(inbound))
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
