import Foundation
import Logging
import Synchronization
import Testing

@testable import SignalBridgeCore

@Suite struct SignalBotIntakeTests {
    @Test func signalBotMessagesHonourTheirMaxLagAndTrade() async throws {
        let directory = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = try BridgeConfiguration.parse(
            try JSONParser.parse(
                #"{"sources": [{"name": "bot", "format": "okx-signal-bot", "auth": {"scheme": "token", "in": "body", "pointer": "/signalToken", "secretEnv": "T"}}], "journal": {"directory": "j"}}"#
            ),
            baseDirectory: URL(fileURLWithPath: directory),
            environment: ["T": "t0ken"]
        )
        let (journal, _) = try Journal.open(directory: configuration.journalDirectory, logger: Logger(label: "test"))
        let market = MarketData()
        market.update(instruments: [Fixture.btc])
        let dispatcher = RecordingDispatcher()
        let intake = SignalIntake(
            configuration: configuration,
            rules: RuleSet(rules: [], files: []),
            replay: JournalReplay(records: [], since: .distantPast),
            journal: journal,
            market: market,
            dispatcher: dispatcher,
            logger: Logger(label: "test")
        )
        func message(age: TimeInterval, maxLag: Int) -> InboundRequest {
            let time = Timestamp.format(Date().addingTimeInterval(-age))
            let body =
                #"{"action":"ENTER_LONG","instrument":"BTCUSDT","signalToken":"t0ken","timestamp":"\#(time)","maxLag":"\#(maxLag)","investmentType":"margin","amount":"50"}"#
            return InboundRequest(sourceName: "bot", headers: [], body: Array(body.utf8), remoteAddress: "127.0.0.1")
        }
        #expect(
            await intake.handle(message(age: 30, maxLag: 20))
                == .failure(WebhookRejection(.staleSignal, "the signal is 30 s old; \"bot\" accepts at most 20 s"))
        )
        let accepted = try await intake.handle(message(age: 5, maxLag: 20)).get()
        #expect(!accepted.isDuplicate)
        #expect(accepted.body[try JSONPointer("/decisions/0/ruleId")] == .string("okx-signal-bot"))
        #expect(dispatcher.intents.withLock { $0.map(\.request.sz) } == [50])
        let records = try JournalReader.read(directory: configuration.journalDirectory, allowTornTail: false).records
        #expect(!records.contains { $0.line.contains("t0ken") })
    }
}
