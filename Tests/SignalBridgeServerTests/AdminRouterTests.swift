import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SignalBridgeCore
import Testing

@testable import SignalBridgeServer

/// The webhook router on its own (`buildWebhookRouter`), through HummingbirdTesting: an unknown source, a bad
/// signature and a genuine signal.
@Suite struct WebhookRouterTests {
    @Test func theRouterAloneRefusesAndAccepts() async throws {
        let test = try await TestBridge.make()
        defer { try? FileManager.default.removeItem(atPath: test.directory) }
        await test.bridge.marketData.refresh(instrumentsToo: true)
        try await Application(router: buildWebhookRouter(bridge: test.bridge)).test(.router) { client in
            let body = ByteBuffer(string: #"{"id":"router-1","event":{"amount":"5"}}"#)
            try await client.execute(uri: "/webhooks/nobody", method: .post, body: body) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/webhooks/alchemy", method: .post, headers: [HTTPField.Name("X-Alchemy-Signature")!: "00"], body: body) {
                response in
                #expect(response.status == .unauthorized)
            }
            let signature = Hex.encode(
                HMAC<SHA256>.authenticationCode(for: Array(body.readableBytesView), using: SymmetricKey(data: Array(TestBridge.secret.utf8)))
            )
            try await client.execute(
                uri: "/webhooks/alchemy",
                method: .post,
                headers: [HTTPField.Name("X-Alchemy-Signature")!: signature],
                body: body
            ) {
                response in
                #expect(response.status == .accepted)
                #expect(String(buffer: response.body).contains(#""signalId":"router-1""#))
            }
        }
        // Each refusal is journaled with the status it was answered with (the core only names the kind).
        let records = try JournalReader.read(directory: test.directory + "/journal", allowTornTail: false).records
        let refusals = records.filter { $0.type == "rejected" }.map { [$0["source"], $0["status"]] }
        #expect(refusals == [[.string("nobody"), .integer(404)], [.string("alchemy"), .integer(401)]], "\(refusals)")
    }
}

/// The admin router on its own (`buildAdminRouter`), through HummingbirdTesting: `/healthz`, `/readyz` with its
/// reasons when not ready, `/metrics`.
@Suite struct AdminRouterTests {
    @Test func readyzSaysWhyItIsNotReadyThenReady() async throws {
        let test = try await TestBridge.make()
        defer { try? FileManager.default.removeItem(atPath: test.directory) }
        let app = Application(router: buildAdminRouter(bridge: test.bridge))
        try await app.test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok && String(buffer: response.body) == #"{"status":"ok"}"# + "\n")
            }
            // Before the exchange has answered: 503, with the reason.
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let body = try #require(try JSONParser.parse(String(buffer: response.body)).objectValue)
                #expect(body["ready"] == false && body["exchangeReachable"] == false && body["journalWritable"] == true)
                #expect(body["reasons"] == ["the exchange has not answered within the last minute"])
                #expect(body["rules"] == 1 && body["ruleSetHash"]?.stringValue == test.bridge.intake.ruleSet.hash)
                #expect(body["unresolvedOrders"] == 0 && body["queuedOrders"] == 0 && body["killSwitchEngaged"] == false)
            }
            await test.bridge.marketData.refresh(instrumentsToo: true)
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .ok)
                let body = try #require(try JSONParser.parse(String(buffer: response.body)).objectValue)
                #expect(body["ready"] == true && body["reasons"] == nil && body["exchangeClockOffsetMs"] != nil)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok && response.headers[.contentType] == "text/plain; version=0.0.4")
            }
        }
    }

    @Test func readyzIsNotReadyOnceTheJournalCannotBeWritten() async throws {
        let test = try await TestBridge.make()
        defer { try? FileManager.default.removeItem(atPath: test.directory) }
        await test.bridge.marketData.refresh(instrumentsToo: true)
        await test.bridge.journal.close()
        try await Application(router: buildAdminRouter(bridge: test.bridge)).test(.router) { client in
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let body = try #require(try JSONParser.parse(String(buffer: response.body)).objectValue)
                #expect(body["journalWritable"] == false)
                #expect(body["reasons"] == ["the journal cannot take records (a write or fsync failed, or it is closed): restart the bridge"])
            }
        }
    }
}
