import Foundation
import Testing

@testable import SignalBridgeCore

/// `notifications[]` (SPEC 3a): the configuration, the notices journaled records call for, and their bodies and
/// Standard Webhooks signature.
@Suite struct NotificationTests {
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    func parse(_ notifications: String, environment: [String: String] = ["HOOK_SECRET": secret]) throws -> [NotificationTarget] {
        try BridgeConfiguration.parse(
            try JSONParser.parse(#"{"notifications": \#(notifications)}"#),
            baseDirectory: URL(fileURLWithPath: "/etc/signalbridge"),
            environment: environment
        ).notifications
    }

    func refusal(_ notifications: String) -> String {
        do {
            _ = try parse(notifications)
            return ""
        } catch {
            return "\(error)"
        }
    }

    @Test func targetsAreReadAndTheirMistakesNamed() throws {
        let targets = try parse(
            #"""
            [{"url": "https://hooks.example.com/signalbridge", "format": "json", "events": ["order.filled", "killSwitch"], "secretEnv": "HOOK_SECRET"},
             {"url": "https://hooks.slack.com/services/T0/B0/SECRETTOKEN", "format": "slack", "events": ["rules.refused"]},
             {"url": "http://127.0.0.1:9999/notices", "events": ["order.rejected"], "secretEnv": "HOOK_SECRET"}]
            """#
        )
        #expect(targets.map(\.format) == [.json, .slack, .json])
        #expect(targets[0].events == [.orderFilled, .killSwitch] && targets[0].signingKey != nil)
        // The URL of a chat service holds its token: what logs name is the host only.
        #expect(targets[1].displayName == "notifications[1] (slack, hooks.slack.com)" && !targets[1].displayName.contains("SECRET"))
        // Nor does printing or dumping a target or a whole configuration show it (service-lifecycle logs services,
        // and their configuration, at debug level).
        var dumped = ""
        dump(targets, to: &dumped)
        #expect(!"\(targets) \(String(reflecting: targets[1])) \(dumped)".contains("SECRETTOKEN"))

        #expect(refusal(#"[{"url": "http://hooks.example.com/x", "format": "slack", "events": ["order.filled"]}]"#).contains("/notifications/0/url"))
        #expect(refusal(#"[{"url": "https://h.example/x", "format": "slack", "events": ["order.filed"]}]"#).contains("/notifications/0/events/0"))
        #expect(refusal(#"[{"url": "https://h.example/x", "format": "json", "events": ["order.filled"]}]"#).contains("/notifications/0/secretEnv"))
        #expect(
            refusal(#"[{"url": "https://h.example/x", "format": "discord", "events": ["order.filled"], "secretEnv": "HOOK_SECRET"}]"#).contains(
                "takes no secret"
            )
        )
        #expect(refusal(#"[{"url": "https://h.example/x", "format": "sms", "events": ["order.filled"]}]"#).contains("/notifications/0/format"))
        #expect(refusal(#"[{"url": "https://h.example/x", "format": "slack", "events": []}]"#).contains("/notifications/0/events"))
        #expect(refusal(#"[{"url": "https://user:pw@h.example/x", "format": "slack", "events": ["killSwitch"]}]"#).contains("/notifications/0/url"))
    }

    static func intent(_ clOrdId: String) -> JournalEntry {
        JournalEntry(
            .orderIntent,
            [("clOrdId", .string(clOrdId)), ("request", .object(JSONObject([("instId", .string("BTC-USDT")), ("side", .string("buy"))])))]
        )
    }

    @Test func journaledRecordsCallForNoticesThatNameTheOrder() {
        var notices = OrderNotices()
        let time = Date(timeIntervalSince1970: 1_796_000_000)
        let status = OrderStatus(
            ordId: "7",
            clOrdId: "sb1",
            instId: "BTC-USDT",
            state: "filled",
            accFillSz: Decimal(string: "0.001")!,
            avgPx: 60000,
            fee: Decimal(string: "-0.0000008")!,
            feeCcy: "BTC"
        )
        let made = notices.notices(
            for: [
                Self.intent("sb1"), .ack(clOrdId: "sb1", ordId: "7"), .update(status), Self.intent("sb2"),
                .reject(clOrdId: "sb2", sCode: "51008", sMsg: "Insufficient balance"), .abandoned(clOrdId: "sb3", reason: "kill switch"),
            ],
            at: time
        )
        #expect(made.map(\.event) == [.orderFilled, .orderRejected, .orderAbandoned])
        #expect(made[0].summary == "BTC-USDT buy filled: 0.001 at 60000 (fee 0.0000008 BTC), clOrdId sb1")
        #expect(made[1].summary == "BTC-USDT buy rejected by the exchange: Insufficient balance (51008), clOrdId sb2")
        // An order the notices never saw the intent of is still named by its clOrdId.
        #expect(made[2].summary == "order abandoned, not sent: kill switch, clOrdId sb3")
        // The same notice has the same id, so a receiver can drop a second delivery.
        #expect(made[0].id == Notice.order(.update(status), order: nil, at: time.addingTimeInterval(9))?.id)
    }

    @Test func bodiesFitEachServiceAndJsonNoticesAreSignedAsAStandardWebhooksSender() throws {
        let time = Date(timeIntervalSince1970: 1_796_000_000)
        let notice = Notice.killSwitch(engaged: true, file: "/var/lib/signalbridge/KILL", at: time)
        #expect(
            String(decoding: notice.body(for: .json), as: UTF8.self)
                == #"{"type":"killSwitch","timestamp":"2026-11-30T00:53:20.000Z","data":{"engaged":true,"file":"/var/lib/signalbridge/KILL"}}"#
        )
        let text = #""signalbridge: kill switch engaged (/var/lib/signalbridge/KILL exists): nothing is sent""#
        #expect(String(decoding: notice.body(for: .slack), as: UTF8.self) == #"{"text":\#(text)}"#)
        #expect(String(decoding: notice.body(for: .telegram), as: UTF8.self) == #"{"text":\#(text)}"#)
        #expect(String(decoding: notice.body(for: .discord), as: UTF8.self) == #"{"content":\#(text),"allowed_mentions":{"parse":[]}}"#)

        // What the bridge's own Standard Webhooks verifier accepts; e2e/notifications.py checks it with the
        // standardwebhooks package.
        let key = try #require(StandardWebhooksAuth.key(fromSecret: Secret(Self.secret)))
        let body = notice.body(for: .json)
        let sentAt = time.addingTimeInterval(3)
        let headers = notice.headers(signingKey: key, body: body, sentAt: sentAt)
        #expect(headers.map(\.0) == ["Content-Type", "webhook-id", "webhook-timestamp", "webhook-signature"])
        var request = InboundRequest(sourceName: "n", headers: headers.map { (name: $0.0, value: $0.1) }, body: body, remoteAddress: nil)
        request.receivedAt = sentAt
        let verified = try InboundAuth.standardWebhooks(StandardWebhooksAuth(key: key, toleranceSeconds: 300)).verify(request) { nil }
        #expect(verified.schemeSignalId == notice.id)
        #expect(notice.headers(signingKey: nil, body: body, sentAt: sentAt).map(\.0) == ["Content-Type"])
    }

    /// Chat text is shown as written: Slack's control characters escaped, Discord told to mention nobody, and the
    /// text cut to each service's limit.
    @Test func chatMessagesAreInertAndWithinTheServicesLimits() throws {
        // An exchange's sMsg is text from outside.
        let short = try #require(
            Notice.order(
                .reject(clOrdId: "sb1", sCode: "1", sMsg: "<!channel> & <@U123> see"),
                order: nil,
                at: Date(timeIntervalSince1970: 1_796_000_000)
            )
        )
        #expect(String(decoding: short.body(for: .slack), as: UTF8.self).contains("&lt;!channel&gt; &amp; &lt;@U123&gt;"))
        #expect(!String(decoding: short.body(for: .slack), as: UTF8.self).contains("<!channel>"))
        func text(_ body: [UInt8], _ key: String) -> String? {
            (try? JSONParser.parse(body))?.objectValue?[key]?.stringValue
        }
        #expect(text(short.body(for: .telegram), "text") == "signalbridge: " + short.summary)
        let long = Notice(event: .rulesRefused, key: "k", time: Date(), summary: String(repeating: "y", count: 5000), data: JSONObject([]))
        #expect(text(long.body(for: .discord), "content")?.count == 2000)
        #expect(text(long.body(for: .discord), "content")?.hasSuffix("…") == true)
        #expect(text(long.body(for: .telegram), "text")?.count == 4096)
        #expect(text(long.body(for: .slack), "text")?.count == 4000)
        #expect(text(long.body(for: .json), "type") == "rules.refused")
        // Each service counts its own way: Discord Unicode scalars, Telegram UTF-16 units, Slack characters after
        // escaping; a cut never splits a character or an escape, and the text is one line.
        let flags = Notice(event: .rulesRefused, key: "k", time: Date(), summary: String(repeating: "🇨🇭e\u{301}\n", count: 1500), data: JSONObject([]))
        let discord = try #require(text(flags.body(for: .discord), "content"))
        #expect(discord.unicodeScalars.count <= 2000 && discord.unicodeScalars.count > 1990 && discord.hasSuffix("…"))
        #expect(!discord.contains("\n"))
        let telegram = try #require(text(flags.body(for: .telegram), "text"))
        #expect(telegram.utf16.count <= 4096 && telegram.utf16.count > 4086)
        let amps = Notice(event: .rulesRefused, key: "k", time: Date(), summary: String(repeating: "&", count: 5000), data: JSONObject([]))
        let slack = try #require(text(amps.body(for: .slack), "text"))
        #expect(slack.count <= 4000 && slack.hasSuffix("&amp;…"))
    }

    /// An algo order's notices: the order it placed when triggered filled, named with its type; a triggered order the
    /// exchange refused; nothing while it only waits.
    @Test func anAlgoOrdersTriggeredFillAndFailureAreTold() throws {
        var notices = OrderNotices()
        let time = Date(timeIntervalSince1970: 1_796_000_000)
        func stop(_ id: String) -> JournalEntry {
            .intent(
                OrderIntent(
                    signalId: id,
                    ruleId: "r",
                    algo: AlgoOrderRequest(
                        instId: "BTC-USDT",
                        algoClOrdId: id,
                        side: .sell,
                        ordType: .trigger,
                        sz: 1,
                        tgtCcy: "base_ccy",
                        triggerPx: 58000
                    )
                )
            )
        }
        func update(_ id: String, _ state: String, placed: OrderStatus?) -> JournalEntry {
            .update(AlgoStatus(algoId: "9" + id, algoClOrdId: id, instId: "BTC-USDT", state: state, ordId: placed?.ordId).orderStatus(placed: placed))
        }
        let fill = OrderStatus(ordId: "70", clOrdId: "", instId: "BTC-USDT", state: "filled", accFillSz: 1, avgPx: 57990, fee: -58, feeCcy: "USDT")
        let made = notices.notices(
            for: [
                stop("sa1"), .ack(clOrdId: "sa1", ordId: "9sa1", algo: true), update("sa1", "live", placed: nil),
                update("sa1", "effective", placed: fill), stop("sa2"), update("sa2", "order_failed", placed: nil),
            ],
            at: time
        )
        #expect(made.map(\.event) == [.orderFilled, .orderRejected])
        #expect(made[0].summary == "BTC-USDT sell trigger triggered, its order filled: 1 at 57990 (fee 58 USDT), algoClOrdId sa1")
        #expect(made[0].data["ordId"] == "70" && made[0].data["algoId"] == "9sa1" && made[0].data["ordType"] == "trigger")
        #expect(made[1].summary.hasPrefix("BTC-USDT sell trigger triggered, but the exchange refused the order it placed"))
    }

    /// An order canceled after a partial fill is a fill to tell of; a rebate is not called a fee; `mmp_canceled` ends
    /// the order as `canceled` does.
    @Test func partFillsRebatesAndMmpCancels() throws {
        var notices = OrderNotices()
        let time = Date(timeIntervalSince1970: 1_796_000_000)
        func status(_ clOrdId: String, _ state: String, filled: Decimal, fee: Decimal) -> JournalEntry {
            .update(
                OrderStatus(ordId: "7", clOrdId: clOrdId, instId: "BTC-USDT", state: state, accFillSz: filled, avgPx: 60000, fee: fee, feeCcy: "USDT")
            )
        }
        let made = notices.notices(
            for: [
                Self.intent("sb1"),
                status("sb1", "canceled", filled: try #require(Decimal(string: "0.4")), fee: try #require(Decimal(string: "0.02"))),
                Self.intent("sb2"), status("sb2", "mmp_canceled", filled: 0, fee: 0), status("sb2", "canceled", filled: 0, fee: 0),
                Self.intent("sb3"), status("sb3", "filled", filled: 1, fee: 0),
            ],
            at: time
        )
        #expect(
            made.map(\.summary) == [
                "BTC-USDT buy partly filled, the rest canceled (canceled): 0.4 at 60000 (rebate 0.02 USDT), clOrdId sb1",
                "BTC-USDT buy filled: 1 at 60000 (no fee), clOrdId sb3",
            ]
        )
        // sb2 ended with mmp_canceled: a later record of it no longer knows its instrument.
        let later = notices.notices(for: [.reject(clOrdId: "sb2", sCode: "1", sMsg: "x")], at: time)
        #expect(later.map(\.summary) == ["order rejected by the exchange: x (1), clOrdId sb2"])
    }
}
