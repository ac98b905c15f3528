import Foundation
import Logging
import Synchronization
import Testing

@testable import SignalBridgeCore

/// Records what would be sent.
final class RecordingDispatcher: OrderDispatcher {
    let intents = Mutex<[OrderIntent]>([])
    func submit(_ intents: [OrderIntent]) { self.intents.withLock { $0 += intents } }
    func hasRoom(for instId: String) -> Bool { true }
    func isOpen(clOrdId: String) -> Bool { false }
}

@Suite struct SignalIntakeTests {
    static let rules = #"""
        {"rules": [{"id": "buy", "source": "tv", "when": {"pointer": "/action", "eq": "buy"},
          "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"quote": "100"}}]}]}
        """#

    struct Harness {
        let intake: SignalIntake
        let journal: Journal
        let dispatcher: RecordingDispatcher
        let directory: String
    }

    func harness(records: [JournalRecord] = [], directory: String = temporaryFolder()) async throws -> Harness {
        let environment = ["TV_TOKEN": "t0ken"]
        let configuration = try BridgeConfiguration.parse(
            try JSONParser.parse(
                #"""
                {"sources": [{"name": "tv", "auth": {"scheme": "token", "in": "body", "pointer": "/token", "secretEnv": "TV_TOKEN"},
                              "allowFrom": ["127.0.0.0/8"], "idPointer": "/id", "timestampPointer": "/time", "maxLagSeconds": 60}],
                 "journal": {"directory": "\#(directory)"}}
                """#
            ),
            baseDirectory: URL(fileURLWithPath: directory),
            environment: environment
        )
        let (journal, existing) = try Journal.open(directory: directory, logger: Logger(label: "test"))
        let market = MarketData()
        market.update(instruments: [Fixture.btc])
        let dispatcher = RecordingDispatcher()
        let intake = SignalIntake(
            configuration: configuration,
            rules: try Fixture.rules(Self.rules),
            replay: JournalReplay(records: existing, since: Date().addingTimeInterval(-3600)),
            journal: journal,
            market: market,
            dispatcher: dispatcher,
            logger: Logger(label: "test")
        )
        return Harness(intake: intake, journal: journal, dispatcher: dispatcher, directory: directory)
    }

    func webhook(_ body: String, from address: String = "127.0.0.1") -> InboundRequest {
        InboundRequest(sourceName: "tv", headers: [], body: Array(body.utf8), remoteAddress: address)
    }

    var now: String { Timestamp.format(Date()) }

    @Test func acceptedSignalsAreJournaledBeforeTheAnswerAndTokensRemoved() async throws {
        let h = try await harness()
        defer { try? FileManager.default.removeItem(atPath: h.directory) }
        let answer = try await h.intake.handle(webhook(#"{"id":"s1","token":"t0ken","action":"buy","time":"\#(now)"}"#)).get()
        #expect(!answer.isDuplicate)
        let clOrdId = ClOrdId.make(source: "tv", signalId: "s1", ruleId: "buy", orderIndex: 0)
        #expect(
            answer.body.jsonText
                == #"{"signalId":"s1","decisions":[{"ruleId":"buy","outcome":"order","reason":"buy 100 BTC-USDT market (quote_ccy)","clOrdId":"\#(clOrdId)"}]}"#
        )
        let records = try JournalReader.read(directory: h.directory, allowTornTail: false).records
        #expect(records.map(\.type) == ["signal", "decision", "order.intent"])
        #expect(!records[0].line.contains("t0ken"))
        #expect(records[2]["request"]?.objectValue?["clOrdId"] == .string(clOrdId))
        #expect(h.dispatcher.intents.withLock { $0.map(\.clOrdId) } == [clOrdId])
    }

    @Test func refusalsHaveTheirKindAndAreJournaledWithTheStatusTheServerGives() async throws {
        let h = try await harness()
        defer { try? FileManager.default.removeItem(atPath: h.directory) }
        func kind(_ request: InboundRequest) async -> WebhookRejection.Kind? {
            guard case .failure(let rejection) = await h.intake.handle(request) else { return nil }
            return rejection.kind
        }
        let old = Timestamp.format(Date().addingTimeInterval(-120))
        #expect(await kind(webhook(#"{"id":"a","token":"t0ken","time":"\#(now)"}"#, from: "10.0.0.1")) == .forbidden)
        #expect(await kind(webhook(#"{"id":"a","token":"wrong","time":"\#(now)"}"#)) == .unauthorized)
        #expect(await kind(webhook(#"not json"#)) == .unauthorized)
        #expect(await kind(webhook(#"{"token":"t0ken","time":"\#(now)"}"#)) == .badRequest)
        #expect(await kind(webhook(#"{"id":"a","token":"t0ken"}"#)) == .badRequest)
        #expect(await kind(webhook(#"{"id":"a","token":"t0ken","time":"\#(old)"}"#)) == .staleSignal)
        var unknown = webhook("{}")
        unknown.sourceName = "nope"
        #expect(await kind(unknown) == .unknownSource)
        #expect(h.dispatcher.intents.withLock { $0.isEmpty })
        // The core answers; journaling a refusal is the server's, with the status it sent.
        #expect(try JournalReader.read(directory: h.directory, allowTornTail: false).records.map(\.type) == [])
        await h.intake.recordRejection(WebhookRejection(.unknownSource, "no source nope"), status: 404, request: unknown)
        let records = try JournalReader.read(directory: h.directory, allowTornTail: false).records
        #expect(records.map(\.type) == ["rejected"] && records[0]["status"] == .integer(404))
    }

    @Test func concurrentResendsMakeOneOrderAndRestartsRemember() async throws {
        let directory = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let h = try await harness(directory: directory)
        let body = #"{"id":"s2","token":"t0ken","action":"buy","time":"\#(now)"}"#
        let answers = await withTaskGroup(of: Result<WebhookAnswer, WebhookRejection>.self) { group in
            for _ in 0..<20 { group.addTask { await h.intake.handle(self.webhook(body)) } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let duplicates = try answers.map { try $0.get().isDuplicate }
        #expect(duplicates.count { $0 } == 19 && duplicates.count == 20)
        #expect(Set(try answers.map { try $0.get().body }).count == 1)
        #expect(h.dispatcher.intents.withLock { $0.count } == 1)
        await h.journal.close()

        let again = try await harness(directory: directory)
        let resent = try await again.intake.handle(webhook(body)).get()
        #expect(resent.isDuplicate)
        #expect(resent.body == (try answers[0].get().body))
        #expect(again.dispatcher.intents.withLock { $0.isEmpty })
    }

    /// A crash between write and fsync left the signal and its decision on disk but its order intent torn: the
    /// sender was never acknowledged, so its resend is a new signal that orders, not a duplicate that orders nothing.
    @Test func aSignalWhoseBatchIsOnlyPartlyOnDiskIsNeverAnswered() async throws {
        let directory = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let h = try await harness(directory: directory)
        let body = #"{"id":"torn","token":"t0ken","action":"buy","time":"\#(now)"}"#
        #expect(!(try await h.intake.handle(webhook(body)).get()).isDuplicate)
        await h.journal.close()
        let path = directory + "/journal-000001.jsonl"
        let size = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(truncate(path, off_t(size - 30)) == 0)

        let again = try await harness(directory: directory)
        let resent = try await again.intake.handle(webhook(body)).get()
        #expect(!resent.isDuplicate)
        #expect(again.dispatcher.intents.withLock { $0.count } == 1)
        await again.journal.close()
        let types = try JournalReader.read(directory: directory, allowTornTail: false).records.map(\.type)
        #expect(types == ["signal", "decision", "order.intent"])
    }

    @Test func aLateResendOfAnAcknowledgedSignalIsADuplicateNotAnError() async throws {
        let h = try await harness()
        defer { try? FileManager.default.removeItem(atPath: h.directory) }
        let time = Timestamp.format(Date().addingTimeInterval(-50))
        let body = #"{"id":"late","token":"t0ken","action":"buy","time":"\#(time)"}"#
        #expect(!(try await h.intake.handle(webhook(body)).get()).isDuplicate)
        // 50 s later than its time plus the resend delay: past maxLagSeconds (60), still a duplicate.
        let resend = InboundRequest(
            sourceName: "tv",
            headers: [],
            body: Array(body.utf8),
            remoteAddress: "127.0.0.1",
            receivedAt: Date().addingTimeInterval(30)
        )
        #expect((try await h.intake.handle(resend).get()).isDuplicate)
    }

    @Test func aJournalThatCannotWriteAnswers503AndAcknowledgesNothing() async throws {
        let h = try await harness()
        defer { try? FileManager.default.removeItem(atPath: h.directory) }
        await h.journal.close()
        let result = await h.intake.handle(webhook(#"{"id":"s3","token":"t0ken","action":"buy","time":"\#(now)"}"#))
        #expect(
            result
                == .failure(WebhookRejection(.journalUnavailable, "the journal cannot be written; the signal was not accepted, send it again later"))
        )
        #expect(h.dispatcher.intents.withLock { $0.isEmpty })
    }
}

extension Array {
    static func * (lhs: Array, rhs: Int) -> Array { Array((0..<rhs).flatMap { _ in lhs }) }
}

@Suite struct RejectionSamplerTests {
    @Test func atMostSixtyAMinuteAndTheRestCounted() {
        var sampler = RejectionSampler(perMinute: 60)
        let minute = Date(timeIntervalSince1970: 1_795_600_020)
        let admitted = (0..<75).filter { _ in sampler.admit(now: minute).admitted }.count
        #expect(admitted == 60)
        let next = sampler.admit(now: minute.addingTimeInterval(60))
        #expect(next.admitted && next.suppressedLastMinute == 15)
        #expect(sampler.admit(now: minute.addingTimeInterval(61)).suppressedLastMinute == 0)
    }
}
