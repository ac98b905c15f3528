import Crypto
import Foundation

/// The auditor's page (`signalbridge journal report --format html`, SPEC section 2): one self-contained HTML file
/// (inline CSS and SVG; one optional inline script for the filters; no external resource of any kind) with a summary,
/// a timeline, latency figures with a chart, and each signal's lineage: signal → decisions with reasons → orders with
/// their exact request → acks, fills, final state.
public struct HTMLReport: Sendable {
    /// The report it shows; built with `detailed: true`, so that its rows keep their lineage.
    public var report: JournalReport
    /// Shown in the header: the journal's directory and the `--since` asked for.
    public var title: String
    public var generatedAt: Date

    public init(report: JournalReport, title: String, generatedAt: Date = Date()) {
        self.report = report
        self.title = title
        self.generatedAt = generatedAt
    }

    /// Latency from a webhook's arrival (`receivedAt`) to three later moments, in milliseconds, with its percentiles.
    public struct Latency: Sendable, Equatable {
        public var name: String
        /// Sorted, in milliseconds.
        public var samples: [Int]

        /// The value below which `percent` of the samples are (nearest rank); nil without samples.
        public func percentile(_ percent: Int) -> Int? {
            guard !samples.isEmpty else { return nil }
            let rank = (samples.count * percent + 99) / 100
            return samples[max(0, min(samples.count - 1, rank - 1))]
        }
    }

    /// Signal to its batch's journal write (the record's `ts`, stamped before the write; the 202 follows the fsync after
    /// it), to the exchange's acknowledgement of each order
    /// (`order.ack`), and to each order's fill (`order.update` `filled`).
    public var latencies: [Latency] {
        var journaled: [Int] = []
        var acknowledged: [Int] = []
        var filled: [Int] = []
        for row in report.rows {
            guard let received = row.receivedAt.flatMap({ Timestamp.parse(utf8: $0.utf8) }) else { continue }
            func since(_ ts: String) -> Int? {
                guard let time = Timestamp.parse(utf8: ts.utf8) else { return nil }
                let millis = (time.timeIntervalSince(received) * 1000).rounded()
                return millis >= 0 && millis < 1e12 ? Int(millis) : nil
            }
            since(row.ts).map { journaled.append($0) }
            for order in row.orders {
                if let ack = order.events.first(where: { $0.type == JournalRecordType.orderAck.rawValue }) {
                    since(ack.ts).map { acknowledged.append($0) }
                }
                if let fill = order.events.first(where: { $0.type == JournalRecordType.orderUpdate.rawValue && $0.state == "filled" }) {
                    since(fill.ts).map { filled.append($0) }
                }
            }
        }
        return [
            Latency(name: "signal to its journal write (the 202 follows that write's fsync)", samples: journaled.sorted()),
            Latency(name: "signal to order acknowledged by the exchange", samples: acknowledged.sorted()),
            Latency(name: "signal to order filled", samples: filled.sorted()),
        ]
    }

    /// The page.
    public var html: String {
        var page = HTMLText()
        page.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
        page.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
        // The browser itself refuses anything from outside and any script but the page's own.
        page.raw("<meta http-equiv=\"Content-Security-Policy\" content=\"\(Self.contentSecurityPolicy)\">\n")
        page.element("title", "signalbridge journal report")
        page.raw("\n<style>\n\(Self.style)</style>\n</head>\n<body>\n<header>\n")
        page.element("h1", "signalbridge journal report")
        page.element("p", "\(title) — generated \(Timestamp.format(generatedAt)) — \(report.rows.count) signals", className: "meta")
        page.raw("</header>\n")
        summary(&page)
        timeline(&page)
        latency(&page)
        lineage(&page)
        // Exactly the text the policy's hash covers.
        page.raw("<script>\(Self.script)</script>\n</body>\n</html>\n")
        return page.text
    }

    private func summary(_ page: inout HTMLText) {
        page.raw("<section id=\"summary\">\n")
        page.element("h2", "Summary")
        var sources: [String: Int] = [:]
        var outcomes: [String: Int] = [:]
        var states: [String: Int] = [:]
        var perInstrument: [String: (orders: Int, filled: Decimal, notional: Decimal, fees: [String: Decimal])] = [:]
        for row in report.rows {
            sources[row.source, default: 0] += 1
            for decision in row.decisions { outcomes[decision.outcome, default: 0] += 1 }
            for order in row.orders {
                states[order.state, default: 0] += 1
                var entry = perInstrument[order.instId] ?? (0, 0, 0, [:])
                entry.orders += 1
                entry.filled += order.filledSize
                entry.notional += order.filledSize * (order.averagePrice ?? 0)
                if order.fee != 0 { entry.fees[order.feeCurrency ?? "", default: 0] += order.fee }
                perInstrument[order.instId] = entry
            }
        }
        page.raw("<div class=\"cards\">\n")
        for (heading, counts) in [("Signals by source", sources), ("Decisions by outcome", outcomes), ("Orders by state", states)] {
            page.raw("<div class=\"card\">")
            page.element("h3", heading)
            page.table(header: ["", "count"], rows: counts.sorted { $0.key < $1.key }.map { [$0.key, String($0.value)] }, numeric: [1])
            page.raw("</div>\n")
        }
        page.raw("</div>\n")
        page.element("h3", "Filled per instrument")
        page.table(
            header: ["instrument", "orders", "filled (base, buys and sells)", "filled notional (quote, gross)", "fees (negative: charged)"],
            rows: perInstrument.sorted { $0.key < $1.key }.map { instId, entry in
                [
                    instId, String(entry.orders), DecimalText.format(entry.filled), DecimalText.format(entry.notional),
                    entry.fees.sorted { $0.key < $1.key }.map { "\(DecimalText.format($0.value)) \($0.key)" }.joined(separator: ", "),
                ]
            },
            numeric: [1, 2, 3]
        )
        page.raw("</section>\n")
    }

    /// One dot per signal on a time axis, a row per source, coloured by what became of it.
    private func timeline(_ page: inout HTMLText) {
        page.raw("<section id=\"timeline\">\n")
        page.element("h2", "Timeline")
        let dated = report.rows.enumerated().compactMap { index, row in Timestamp.parse(utf8: row.ts.utf8).map { (index, row, $0) } }
        guard let first = dated.map(\.2).min(), let last = dated.map(\.2).max() else {
            page.element("p", "No signals.")
            page.raw("</section>\n")
            return
        }
        let sources = Array(Set(dated.map(\.1.source))).sorted()
        let width = 960.0
        let left = 140.0
        let span = max(last.timeIntervalSince(first), 1)
        let height = Double(sources.count) * 28 + 40
        page.raw("<svg class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"signals over time\">\n")
        for (index, source) in sources.enumerated() {
            let y = Double(index) * 28 + 20
            page.raw("<line x1=\"\(Int(left))\" y1=\"\(Int(y))\" x2=\"\(Int(width - 10))\" y2=\"\(Int(y))\" class=\"axis\"/>")
            page.raw("<text x=\"\(Int(left - 8))\" y=\"\(Int(y + 4))\" text-anchor=\"end\">")
            page.text(source)
            page.raw("</text>\n")
        }
        for (index, row, time) in dated {
            let x = left + (width - left - 20) * time.timeIntervalSince(first) / span
            let y = Double(sources.firstIndex(of: row.source) ?? 0) * 28 + 20
            page.raw(
                "<a href=\"#signal-\(index)\"><circle cx=\"\(String(format: "%.1f", x))\" cy=\"\(Int(y))\" r=\"5\" class=\"dot \(Self.mainOutcome(row))\">"
            )
            page.raw("<title>")
            page.text("\(row.ts) \(row.signalId): \(row.outcomes.joined(separator: ", "))")
            page.raw("</title></circle></a>\n")
        }
        let bottom = Int(height - 8)
        page.raw("<text x=\"\(Int(left))\" y=\"\(bottom)\">")
        page.text(Timestamp.format(first))
        page.raw("</text><text x=\"\(Int(width - 10))\" y=\"\(bottom)\" text-anchor=\"end\">")
        page.text(Timestamp.format(last))
        page.raw("</text>\n</svg>\n<p class=\"legend\">")
        for outcome in ["order", "dryRun", "blocked", "skip"] { page.raw("<span class=\"key \(outcome)\"></span>\(outcome) ") }
        page.raw("</p>\n</section>\n")
    }

    /// The percentiles of each latency as a table, and as bars on a logarithmic scale.
    private func latency(_ page: inout HTMLText) {
        page.raw("<section id=\"latency\">\n")
        page.element("h2", "Latency")
        let latencies = self.latencies
        func shown(_ value: Int?) -> String { value.map { "\($0) ms" } ?? "–" }
        page.table(
            header: ["from the webhook's arrival", "samples", "p50", "p90", "p99", "max"],
            rows: latencies.map { latency in
                [latency.name, String(latency.samples.count)] + [50, 90, 99, 100].map { shown(latency.percentile($0)) }
            },
            numeric: [1, 2, 3, 4, 5]
        )
        let top = latencies.compactMap { $0.samples.last }.max() ?? 0
        let scale = log10(Double(max(top, 1)) + 1)
        let barsLeft = 330.0
        let barWidth = 540.0
        var y = 10.0
        page.raw("<svg class=\"chart\" viewBox=\"0 0 960 \(latencies.count * 78 + 10)\" role=\"img\" aria-label=\"latency percentiles\">\n")
        for latency in latencies {
            page.raw("<text x=\"0\" y=\"\(Int(y + 12))\" class=\"label\">")
            page.text(latency.name)
            page.raw("</text>\n")
            for (index, percent) in [50, 90, 99].enumerated() {
                let value = latency.percentile(percent) ?? 0
                let length = scale > 0 ? barWidth * log10(Double(value) + 1) / scale : 0
                let rowY = y + 20 + Double(index) * 18
                page.raw("<text x=\"\(Int(barsLeft - 8))\" y=\"\(Int(rowY + 11))\" text-anchor=\"end\">p\(percent)</text>")
                page.raw(
                    "<rect x=\"\(Int(barsLeft))\" y=\"\(Int(rowY))\" width=\"\(String(format: "%.1f", length))\" height=\"14\" class=\"bar p\(percent)\"/>"
                )
                page.raw(
                    "<text x=\"\(String(format: "%.1f", barsLeft + length + 6))\" y=\"\(Int(rowY + 11))\">\(shown(latency.percentile(percent)))</text>\n"
                )
            }
            y += 78
        }
        page.raw("</svg>\n")
        page.element("p", "Times come from the journal (milliseconds); bars are on a logarithmic scale.", className: "meta")
        page.raw("</section>\n")
    }

    private func lineage(_ page: inout HTMLText) {
        page.raw("<section id=\"signals\">\n")
        page.element("h2", "Signals")
        page.raw("<form id=\"filters\" hidden><label>source <select data-filter=\"source\"></select></label> ")
        page.raw("<label>rule <select data-filter=\"rules\"></select></label> <label>outcome <select data-filter=\"outcomes\"></select></label> ")
        page.raw("<output id=\"shown\"></output></form>\n")
        for (index, row) in report.rows.enumerated() {
            page.raw("<article class=\"signal\" id=\"signal-\(index)\"")
            page.attribute("data-source", row.source)
            page.attribute("data-rules", row.rules.joined(separator: " "))
            page.attribute("data-outcomes", row.outcomes.joined(separator: " "))
            page.raw(">\n<h3><span class=\"key \(Self.mainOutcome(row))\"></span>")
            page.text(row.signalId)
            page.raw("</h3>\n<p class=\"meta\">")
            page.text(
                ["source \(row.source)", "journaled \(row.ts)", row.receivedAt.map { "received \($0)" }, row.remoteAddr.map { "from \($0)" }]
                    .compactMap { $0 }.joined(separator: " · ")
            )
            page.raw("</p>\n")
            if let payload = row.payload {
                page.raw("<details><summary>payload</summary><pre>")
                page.text(payload)
                page.raw("</pre></details>\n")
            }
            page.raw("<ol class=\"decisions\">\n")
            for decision in row.decisions {
                page.raw("<li><span class=\"outcome \(Self.cssName(decision.outcome))\">")
                page.text(decision.outcome)
                page.raw("</span> ")
                page.element("b", decision.ruleId ?? "no rule")
                page.raw(" ")
                page.text(decision.reason)
                page.raw("</li>\n")
            }
            page.raw("</ol>\n")
            for order in row.orders { self.order(order, into: &page) }
            page.raw("</article>\n")
        }
        page.raw("</section>\n")
    }

    private func order(_ order: JournalReport.Order, into page: inout HTMLText) {
        page.raw("<div class=\"lineage-order\">\n<p><span class=\"state \(Self.cssName(order.state))\">")
        page.text(order.state)
        page.raw("</span> ")
        page.text("\(order.side) \(order.instId) · clOrdId \(order.clOrdId)" + (order.ordId.map { " · ordId \($0)" } ?? ""))
        if order.filledSize > 0 {
            page.text(
                " · filled \(DecimalText.format(order.filledSize))" + (order.averagePrice.map { " at \(DecimalText.format($0))" } ?? "")
                    + (order.fee != 0 ? " · fee \(DecimalText.format(order.fee)) \(order.feeCurrency ?? "")" : "")
            )
        }
        if let reason = order.reason { page.text(" · \(reason)") }
        page.raw("</p>\n")
        if let request = order.requestText {
            page.raw("<pre class=\"request\">POST /api/v5/trade/order ")
            page.text(request)
            page.raw("</pre>\n")
        }
        if !order.events.isEmpty {
            page.raw("<table class=\"events\">")
            for event in order.events {
                page.raw("<tr><td>")
                page.text(event.ts)
                page.raw("</td><td>")
                page.text(event.type)
                page.raw("</td><td>")
                page.text(event.text)
                page.raw("</td></tr>")
            }
            page.raw("</table>\n")
        }
        page.raw("</div>\n")
    }

    /// What a signal's dot and mark show: `order` when any decision ordered, then `dryRun`, `blocked`, `skip`.
    static func mainOutcome(_ row: JournalReport.Row) -> String {
        ["order", "dryRun", "blocked", "skip"].first { row.outcomes.contains($0) } ?? "skip"
    }

    /// A CSS class from journal text: letters, digits and `-` only.
    static func cssName(_ text: String) -> String {
        String(text.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) && $0.isASCII ? Character($0) : "-" })
    }

    /// Nothing may load; the inline style is allowed, and the one script by its hash.
    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-\(Data(SHA256.hash(data: Array(script.utf8))).base64EncodedString())'; base-uri 'none'; form-action 'none'"

    static let style = """
        :root { color-scheme: light; --order: #1a7f37; --dryRun: #0969da; --blocked: #cf222e; --skip: #8c959f; }
        body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 1100px; padding: 0 16px; color: #1f2328; background: #fff; }
        h1 { font-size: 22px; margin: 0 } h2 { font-size: 18px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; margin-top: 32px }
        h3 { font-size: 15px; margin: 12px 0 4px } .meta { color: #59636e; margin: 2px 0 }
        table { border-collapse: collapse; margin: 6px 0 } th, td { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left; vertical-align: top }
        th { background: #f6f8fa } td.num { text-align: right; font-variant-numeric: tabular-nums }
        .cards { display: flex; flex-wrap: wrap; gap: 16px } .card { min-width: 220px }
        svg.chart { width: 100%; height: auto; font-size: 12px } svg .axis { stroke: #d0d7de }
        .dot.order, .key.order { fill: var(--order); background: var(--order) } .dot.dryRun, .key.dryRun { fill: var(--dryRun); background: var(--dryRun) }
        .dot.blocked, .key.blocked { fill: var(--blocked); background: var(--blocked) } .dot.skip, .key.skip { fill: var(--skip); background: var(--skip) }
        .key { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin: 0 4px 0 8px }
        .bar.p50 { fill: #54aeff } .bar.p90 { fill: #0969da } .bar.p99 { fill: #0a3069 }
        article.signal { border: 1px solid #d0d7de; border-radius: 6px; padding: 4px 12px 10px; margin: 10px 0; break-inside: avoid }
        .outcome, .state { display: inline-block; min-width: 64px; padding: 0 6px; border-radius: 10px; font-size: 12px; color: #fff; background: var(--skip); text-align: center }
        .outcome.order, .state.filled { background: var(--order) } .outcome.dryRun, .state.live, .state.partially-filled { background: var(--dryRun) }
        .outcome.blocked, .state.rejected, .state.abandoned, .state.unknown { background: var(--blocked) }
        ol.decisions { margin: 4px 0; padding-left: 20px } .lineage-order { margin: 6px 0 0 20px; padding-left: 10px; border-left: 3px solid #d0d7de }
        pre { background: #f6f8fa; padding: 6px 8px; overflow-x: auto; white-space: pre-wrap; word-break: break-all; margin: 4px 0 }
        table.events td { font-size: 12px } details summary { cursor: pointer; color: #59636e }
        form#filters { position: sticky; top: 0; background: #fff; padding: 6px 0; border-bottom: 1px solid #d0d7de } label { margin-right: 12px }
        @media print { form#filters { display: none } body { margin: 0; max-width: none } a { color: inherit } }

        """

    /// Optional: fills the filters from the signals' data attributes and hides the signals that do not pass. The page
    /// reads the same without it.
    static let script = """
        (function () {
          var form = document.getElementById("filters");
          var signals = Array.prototype.slice.call(document.querySelectorAll("article.signal"));
          var selects = Array.prototype.slice.call(form.querySelectorAll("select"));
          selects.forEach(function (select) {
            var key = select.dataset.filter, values = Object.create(null);
            signals.forEach(function (s) { (s.dataset[key] || "").split(" ").forEach(function (v) { if (v) values[v] = true; }); });
            select.add(new Option("all", ""));
            Object.keys(values).sort().forEach(function (v) { select.add(new Option(v, v)); });
            select.addEventListener("change", apply);
          });
          function apply() {
            var shown = 0;
            signals.forEach(function (s) {
              var pass = selects.every(function (select) {
                return !select.value || (s.dataset[select.dataset.filter] || "").split(" ").indexOf(select.value) >= 0;
              });
              s.hidden = !pass;
              if (pass) shown += 1;
            });
            document.getElementById("shown").textContent = shown + " of " + signals.length + " signals";
          }
          form.hidden = false;
          apply();
        })();

        """
}

/// HTML built as text, everything from outside escaped.
struct HTMLText {
    private(set) var text = ""

    /// Markup written as given: only constants of this file, never journal content.
    mutating func raw(_ markup: String) { text += markup }

    /// Journal content as text: `& < > " '` escaped, scalar by scalar (a `Character` is a whole grapheme cluster, and
    /// `"\u{0600}<"` is one: matching characters would let the `<` through). Bidirectional and other invisible format
    /// controls are shown as `\u{…}`, so that they cannot disguise what a line says.
    mutating func text(_ content: String) {
        var scalars = String.UnicodeScalarView()
        for scalar in content.unicodeScalars {
            switch scalar {
            case "&": scalars.append(contentsOf: "&amp;".unicodeScalars)
            case "<": scalars.append(contentsOf: "&lt;".unicodeScalars)
            case ">": scalars.append(contentsOf: "&gt;".unicodeScalars)
            case "\"": scalars.append(contentsOf: "&quot;".unicodeScalars)
            case "'": scalars.append(contentsOf: "&#39;".unicodeScalars)
            default:
                if scalar.properties.generalCategory == .format || (scalar.value < 0x20 && scalar != "\n" && scalar != "\t") {
                    scalars.append(contentsOf: "\\u{\(String(scalar.value, radix: 16))}".unicodeScalars)
                } else {
                    scalars.append(scalar)
                }
            }
        }
        text += String(scalars)
    }

    mutating func element(_ name: String, _ content: String, className: String? = nil) {
        text += className.map { "<\(name) class=\"\($0)\">" } ?? "<\(name)>"
        self.text(content)
        text += "</\(name)>\n"
    }

    mutating func attribute(_ name: String, _ value: String) {
        text += " \(name)=\""
        self.text(value)
        text += "\""
    }

    /// A table; the columns in `numeric` are right-aligned.
    mutating func table(header: [String], rows: [[String]], numeric: Set<Int> = []) {
        text += "<table><thead><tr>"
        for cell in header { element("th", cell) }
        text += "</tr></thead><tbody>"
        for row in rows {
            text += "<tr>"
            for (index, cell) in row.enumerated() { element("td", cell, className: numeric.contains(index) ? "num" : nil) }
            text += "</tr>"
        }
        text += "</tbody></table>\n"
    }
}
