import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import SignalBridgeCore
import Testing

@testable import SignalBridgeServer

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
