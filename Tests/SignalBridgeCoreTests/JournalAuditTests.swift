import Foundation
import Testing

@testable import SignalBridgeCore

/// `journal query` and `journal report` over a journal with a filled order, a skipped signal, and a signal whose
/// two orders ended rejected and abandoned.
@Suite struct JournalAuditTests {
    static let records: [JournalRecord] = {
        func decision(_ signalId: String, ruleId: String?, outcome: String, clOrdIds: [String]) -> JournalEntry {
            var fields: [(String, JSONValue)] = [
                ("signalId", .string(signalId)), ("ruleId", ruleId.map(JSONValue.string) ?? .null), ("outcome", .string(outcome)),
                ("reason", "why, with \"quotes\""),
            ]
            if let first = clOrdIds.first {
                fields += [("clOrdId", .string(first)), ("clOrdIds", .array(clOrdIds.map(JSONValue.string)))]
            }
            return JournalEntry(.decision, fields)
        }
        func intent(_ clOrdId: String, signalId: String, ruleId: String, side: OrderSide) -> JournalEntry {
            .intent(
                OrderIntent(
                    signalId: signalId,
                    ruleId: ruleId,
                    request: OrderRequest(instId: "BTC-USDT", clOrdId: clOrdId, side: side, ordType: .market, sz: 0.01, tgtCcy: "base_ccy")
                )
            )
        }
        func update(_ clOrdId: String, state: String, filled: Decimal, fee: Decimal) -> JournalEntry {
            .update(
                OrderStatus(
                    ordId: "9001",
                    clOrdId: clOrdId,
                    instId: "BTC-USDT",
                    state: state,
                    accFillSz: filled,
                    avgPx: 65000.5,
                    fee: fee,
                    feeCcy: "BTC"
                )
            )
        }
        let entries: [(String, JournalEntry)] = [
            ("2026-11-25T10:00:00.000Z", JournalEntry(.rulesLoaded, [("ruleSetHash", "abc"), ("files", [])])),
            (
                "2026-11-25T10:00:01.000Z",
                .signal(
                    signalId: "s1",
                    source: "tv",
                    remoteAddr: "127.0.0.1",
                    bodySha256: "00",
                    receivedAt: nil,
                    payload: ["a": 1]
                )
            ),
            ("2026-11-25T10:00:01.001Z", decision("s1", ruleId: "r1", outcome: "order", clOrdIds: ["c1"])),
            ("2026-11-25T10:00:01.002Z", intent("c1", signalId: "s1", ruleId: "r1", side: .buy)),
            ("2026-11-25T10:00:01.100Z", .ack(clOrdId: "c1", ordId: "9001")),
            ("2026-11-25T10:00:01.200Z", update("c1", state: "partially_filled", filled: 0.004, fee: -0.000004)),
            ("2026-11-25T10:00:01.300Z", update("c1", state: "filled", filled: 0.01, fee: -0.00001)),
            (
                "2026-11-25T11:00:00.000Z",
                .signal(
                    signalId: "s2",
                    source: "tv",
                    remoteAddr: nil,
                    bodySha256: "01",
                    receivedAt: nil,
                    payload: [:]
                )
            ),
            ("2026-11-25T11:00:00.001Z", decision("s2", ruleId: nil, outcome: "skip", clOrdIds: [])),
            ("2026-11-25T11:30:00.000Z", .rejected(source: "tv", status: 401, error: "bad signature", remoteAddr: "10.0.0.9", bodySha256: nil)),
            (
                "2026-11-25T12:00:00.000Z",
                .signal(
                    signalId: "s3",
                    source: "alchemy",
                    remoteAddr: nil,
                    bodySha256: "02",
                    receivedAt: nil,
                    payload: [:]
                )
            ),
            ("2026-11-25T12:00:00.001Z", decision("s3", ruleId: "r2", outcome: "order", clOrdIds: ["c3a", "c3b"])),
            ("2026-11-25T12:00:00.002Z", intent("c3a", signalId: "s3", ruleId: "r2", side: .sell)),
            ("2026-11-25T12:00:00.003Z", intent("c3b", signalId: "s3", ruleId: "r2", side: .sell)),
            ("2026-11-25T12:00:00.100Z", .reject(clOrdId: "c3a", sCode: "51008", sMsg: "Insufficient balance")),
            ("2026-11-25T12:00:00.200Z", .unknown(clOrdId: "c3b", error: "timeout", expTime: Date(timeIntervalSince1970: 1_764_072_010))),
            ("2026-11-25T12:05:00.000Z", .abandoned(clOrdId: "c3b", reason: "no such order and the signal is stale")),
        ]
        var records: [JournalRecord] = []
        for (ts, entry) in entries {
            let prev = records.last.map { Hex.sha256($0.line.utf8) } ?? JournalRecord.genesis
            records.append(JournalRecord.make(entry, seq: records.count + 1, ts: ts, prev: prev))
        }
        return records
    }()

    func select(_ query: JournalQuery) -> [Int] { query.select(Self.records).map(\.record.seq) }

    @Test func aSignalsQueryFollowsItsOrders() {
        let selection = JournalQuery(signalId: "s1").select(Self.records)
        #expect(selection.map(\.record.type) == ["signal", "decision", "order.intent", "order.ack", "order.update", "order.update"])
        #expect(selection.allSatisfy { $0.signalId == "s1" })
    }

    @Test func filtersCombine() {
        #expect(select(JournalQuery(clOrdId: "c3b")) == [12, 14, 16, 17])
        #expect(select(JournalQuery(types: ["decision"])) == [3, 9, 12])
        #expect(select(JournalQuery(types: ["order.reject", "order.abandoned"])) == [15, 17])
        #expect(select(JournalQuery(signalId: "s3", types: ["order.intent"])) == [13, 14])
        #expect(select(JournalQuery(since: Timestamp.parse("2026-11-25T11:30:00Z"))) == Array(10...17))
        #expect(select(JournalQuery(signalId: "nope")).isEmpty)
    }

    @Test func jsonPrintsTheRecordsUnchanged() {
        let selection = JournalQuery(signalId: "s3").select(Self.records)
        let lines = JournalQuery.render(selection, format: .json).split(separator: "\n").map(String.init)
        #expect(lines == selection.map(\.record.line))
        #expect(lines.count == 7)
        #expect(JournalQuery.render([], format: .json) == "")
    }

    @Test func tableAndCSVShowEveryField() throws {
        let selection = JournalQuery(clOrdId: "c3a").select(Self.records)
        let table = JournalQuery.render(selection, format: .table).split(separator: "\n").map(String.init)
        #expect(table.count == 4)
        #expect(table[0].hasPrefix("seq  ts"))
        let reject = try #require(table.last)
        #expect(reject.contains("order.reject") && reject.contains("s3") && reject.contains("sCode=51008 sMsg=Insufficient balance"))
        // Columns line up: every row has its type where the header has "type".
        let typeColumn = try #require(table[0].range(of: "type")).lowerBound.utf16Offset(in: table[0])
        #expect(table.dropFirst().allSatisfy { $0.dropFirst(typeColumn).hasPrefix("order.") || $0.dropFirst(typeColumn).hasPrefix("decision") })

        let csv = JournalQuery.render(JournalQuery(signalId: "s1", types: ["decision"]).select(Self.records), format: .csv)
        let csvLines = csv.split(separator: "\n").map(String.init)
        #expect(csvLines[0] == "seq,ts,type,signalId,clOrdId,details")
        #expect(csvLines[1].hasPrefix("3,2026-11-25T10:00:01.001Z,decision,s1,c1,\"{\"\"ruleId\"\":\"\"r1\"\","))
        #expect(csvLines[1].contains(#"why, with \""quotes\"""#))
    }

    @Test func theReportHasOneRowPerSignalWithTheOrdersFinalState() throws {
        let report = JournalReport(records: Self.records)
        #expect(report.rows.map(\.signalId) == ["s1", "s2", "s3"])
        let filled = report.rows[0]
        #expect(filled.source == "tv" && filled.rules == ["r1"] && filled.outcomes == ["order"])
        #expect(filled.orders.map(\.state) == ["filled"])
        #expect(filled.orders[0].filledSize == Decimal(string: "0.01") && filled.orders[0].averagePrice == Decimal(string: "65000.5"))
        #expect(filled.orders[0].ordId == "9001" && filled.orders[0].side == "buy" && filled.orders[0].instId == "BTC-USDT")
        #expect(filled.fees.map(\.currency) == ["BTC"] && filled.fees.map(\.amount) == [Decimal(string: "-0.00001")!])

        #expect(report.rows[1].rules.isEmpty && report.rows[1].outcomes == ["skip"] && report.rows[1].orders.isEmpty)

        let failed = report.rows[2]
        #expect(failed.orders.map(\.state) == ["rejected", "abandoned"])
        #expect(failed.orders.map(\.reason) == ["51008 Insufficient balance", "no such order and the signal is stale"])

        let since = try #require(Timestamp.parse("2026-11-25T11:00:00Z"))
        #expect(JournalReport(records: Self.records, since: since).rows.map(\.signalId) == ["s2", "s3"])
    }

    @Test func theReportPrintsInEveryFormat() throws {
        let report = JournalReport(records: Self.records)
        let json = report.render(format: .json).split(separator: "\n").map(String.init)
        #expect(json.count == 3)
        let first = try #require(try JSONParser.parse(json[0]).objectValue)
        #expect(first["source"] == "tv")
        #expect(first["orders"]?.arrayValue?.first?.objectValue?["accFillSz"] == "0.01")
        #expect(first["fees"] == [["ccy": "BTC", "fee": "-0.00001"]])

        let csv = report.render(format: .csv).split(separator: "\n").map(String.init)
        #expect(csv[0] == "ts,signalId,source,rules,outcome,orders,state,filledSz,avgPx,fees")
        #expect(csv[1] == "2026-11-25T10:00:01.000Z,s1,tv,r1,order,1,filled,0.01,65000.5,-0.00001 BTC")
        #expect(csv[3] == "2026-11-25T12:00:00.000Z,s3,alchemy,r2,order,2,rejected;abandoned,0;0,;,")

        let table = report.render(format: .table).split(separator: "\n").map(String.init)
        #expect(table.count == 4)
        #expect(table[1].contains("filled") && table[1].contains("65000.5"))
    }

    @Test func sinceTakesTimesDaysAndAges() throws {
        let now = try #require(Timestamp.parse("2026-11-25T12:00:00Z"))
        #expect(SinceTime.parse("2026-11-24T08:30:00.250Z", now: now) == Timestamp.parse("2026-11-24T08:30:00.250Z"))
        #expect(SinceTime.parse("2026-11-24", now: now) == Timestamp.parse("2026-11-24T00:00:00Z"))
        #expect(SinceTime.parse("24h", now: now) == Timestamp.parse("2026-11-24T12:00:00Z"))
        #expect(SinceTime.parse("90m", now: now) == Timestamp.parse("2026-11-25T10:30:00Z"))
        #expect(SinceTime.parse("7d", now: now) == Timestamp.parse("2026-11-18T12:00:00Z"))
        #expect(SinceTime.parse("yesterday", now: now) == nil)
        #expect(SinceTime.parse("-5h", now: now) == nil)
        #expect(SinceTime.parse("h", now: now) == nil)
    }

    @Test func csvQuotesOnlyWhatNeedsIt() {
        let listing = Listing(header: ["a", "b"], rows: [["plain", "with,comma"], ["line\nbreak", "say \"hi\""]])
        #expect(listing.csv == "a,b\nplain,\"with,comma\"\n\"line\nbreak\",\"say \"\"hi\"\"\"")
        #expect(listing.table == "a" + String(repeating: " ", count: 11) + "b\nplain       with,comma\nline break  say \"hi\"")
    }
}
