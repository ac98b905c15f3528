import Foundation
import Testing

@testable import SignalBridgeCore

/// The HTML report: every signal's lineage, everything from the journal escaped, nothing fetched from outside.
@Suite struct HTMLReportTests {
    static func page(_ records: [JournalRecord]) -> String {
        HTMLReport(report: JournalReport(records: records, detailed: true), title: "journal test", generatedAt: Fixture.now).html
    }

    @Test func itShowsEachSignalsLineage() {
        let html = Self.page(JournalAuditTests.records)
        for signalId in ["s1", "s2", "s3"] { #expect(html.contains("<h3><span class=\"key") && html.contains(">\(signalId)</h3>")) }
        // Decision reasons, the exact request, the exchange's answers and the final states.
        #expect(html.contains("why, with &quot;quotes&quot;"))
        #expect(html.contains("POST /api/v5/trade/order {&quot;instId&quot;:&quot;BTC-USDT&quot;"))
        #expect(html.contains("order.ack") && html.contains("ordId 9001"))
        #expect(html.contains("state partially_filled") && html.contains(">filled</span>"))
        #expect(html.contains(">rejected</span>") && html.contains("51008") && html.contains(">abandoned</span>"))
        #expect(html.contains("id=\"summary\"") && html.contains("id=\"timeline\"") && html.contains("id=\"latency\""))
    }

    @Test func journalContentIsEscapedAndNothingIsFetched() throws {
        // U+0600 joins the `<` after it into one Character, and U+0301 the `"` before it: escaping must go by scalar.
        let hostile =
            "</pre><script>alert(1)</script><img src=x onerror=alert(2)>\"'& \u{0600}<img src=y onerror=alert(4) \u{0600}> x\"\u{0301} onx=1"
        var records = JournalAuditTests.records
        let signal = JournalEntry.signal(
            signalId: hostile,
            source: "tv\" onmouseover=\"alert(3)",
            remoteAddr: nil,
            bodySha256: "00",
            receivedAt: Fixture.now,
            payload: ["note": .string(hostile)]
        )
        records.append(JournalRecord.make(signal, seq: records.count + 1, ts: "2026-11-25T13:00:00.000Z", prev: records.last!.line))
        let html = Self.page(records)
        #expect(!html.contains(hostile) && !html.contains("<img") && !html.contains("onmouseover=\"alert"))
        // Compared by scalars: `contains` on Strings compares whole Characters, which would hide the unescaped `<`.
        #expect(!Array(html.unicodeScalars).contains([Unicode.Scalar(0x0600)!, "<"]), "no < right after U+0600")
        #expect(!html.contains("\"\u{0301}") && html.contains("&quot;\u{0301} onx=1"))
        #expect(html.contains("Content-Security-Policy") && html.contains("default-src 'none'"))
        #expect(html.contains("&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.components(separatedBy: "<script").count == 2, "only the page's own script")
        for outside in ["http://", "https://", "url(", "@import", "<link"] { #expect(!html.contains(outside), "\(outside)") }
        // No markup refers to anything: a payload's text, escaped, may still say src=.
        #expect(!html.contains(try Regex(##"<[^>]*\s(src|href)="?[^"#]"##)))
    }

    @Test func latencyCountsFromTheWebhooksArrival() throws {
        let received = try #require(Timestamp.parse("2026-11-25T10:00:00.000Z"))
        let entries: [(String, JournalEntry)] = [
            ("2026-11-25T10:00:00.002Z", .signal(signalId: "a", source: "tv", remoteAddr: nil, bodySha256: "00", receivedAt: received, payload: [:])),
            (
                "2026-11-25T10:00:00.003Z",
                .intent(
                    OrderIntent(
                        signalId: "a",
                        ruleId: "r",
                        request: OrderRequest(instId: "BTC-USDT", clOrdId: "c", side: .buy, ordType: .market, sz: 20, tgtCcy: "quote_ccy")
                    )
                )
            ),
            ("2026-11-25T10:00:00.040Z", .ack(clOrdId: "c", ordId: "1")),
            (
                "2026-11-25T10:00:00.250Z",
                .update(
                    OrderStatus(ordId: "1", clOrdId: "c", instId: "BTC-USDT", state: "filled", accFillSz: 1, avgPx: 20, fee: 0, feeCcy: "BTC")
                )
            ),
        ]
        var records: [JournalRecord] = []
        for (ts, entry) in entries {
            records.append(JournalRecord.make(entry, seq: records.count + 1, ts: ts, prev: records.last?.line ?? JournalRecord.genesis))
        }
        let report = HTMLReport(report: JournalReport(records: records, detailed: true), title: "t")
        #expect(report.latencies.map(\.samples) == [[2], [40], [250]])
        #expect(report.latencies[2].percentile(50) == 250 && report.latencies[0].percentile(99) == 2)
        #expect(HTMLReport.Latency(name: "", samples: Array(1...100)).percentile(90) == 90)
    }
}
