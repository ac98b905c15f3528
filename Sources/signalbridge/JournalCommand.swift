import ArgumentParser
import Foundation
import SignalBridgeCore

struct JournalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journal",
        abstract: "Audit the journal.",
        subcommands: [Verify.self, Query.self, Report.self, Replay.self]
    )

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check sequence numbers and the hash chain; print the record count. Exit 1 and the first bad record on damage."
        )

        @OptionGroup var options: ConfigOption

        func run() async throws {
            let directory = try options.journalDirectory()
            let progress = isatty(STDERR_FILENO) == 1 ? ProgressLine() : nil
            do {
                let summary = try JournalScanner.scan(
                    directory: directory,
                    allowTornTail: false,
                    progress: progress.map { line in { line.show($0) } }
                ) { _ in }
                progress?.clear()
                let segments = JournalReader.segments(in: directory).count
                print("journal OK: \(summary.records) records in \(segments) segment\(segments == 1 ? "" : "s") (\(directory))")
            } catch {
                progress?.clear()
                print("journal DAMAGED: \(error)")
                throw ExitCode(1)
            }
        }
    }

    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Audit review: the records of a signal, an order, a type or a time span.",
            discussion: "--format json prints one journal record per line, unchanged."
        )

        @OptionGroup var options: ConfigOption
        @Option(name: .customLong("signal"), help: "Only this signal's records and those of its orders.")
        var signalId: String?
        @Option(name: .customLong("clordid"), help: "Only the records that name this clOrdId.")
        var clOrdId: String?
        @Option(
            name: .customLong("type"),
            help: "Only records of this type (repeatable): \(JournalRecordType.allCases.map(\.rawValue).joined(separator: ", "))."
        )
        var types: [String] = []
        @OptionGroup var filter: ListingOptions

        func validate() throws {
            let known = Set(JournalRecordType.allCases.map(\.rawValue))
            for type in types where !known.contains(type) {
                throw ValidationError("--type \(type) is not a journal record type; the types are \(known.sorted().joined(separator: ", "))")
            }
        }

        func run() async throws {
            var selection = JournalQuery.Selection(
                JournalQuery(signalId: signalId, clOrdId: clOrdId, types: Set(types), since: filter.sinceDate),
                tracksEveryOwner: filter.format != .json
            )
            var selected: [(record: JournalRecord, signalId: String?)] = []
            if filter.format == .json {
                // Each record's line as it streams by: memory does not grow with the answer either.
                try options.streamJournal { record in
                    if let chosen = selection.consider(record) { print(chosen.record.line) }
                }
                return
            }
            try options.streamJournal { record in
                if let chosen = selection.consider(record) { selected.append(chosen) }
            }
            Console.printListing(JournalQuery.render(selected, format: filter.format))
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One row per signal: source, rules matched, orders, their final state, filled size, average price, fees.",
            discussion: "--format html writes one self-contained page: summary, timeline, latency, and each signal's lineage."
        )

        enum Format: String, ExpressibleByArgument, CaseIterable {
            case table, json, csv, html
        }

        @OptionGroup var options: ConfigOption
        @OptionGroup var time: SinceOption
        @Option(help: "table, json, csv or html.") var format: Format = .table
        @Option(help: "Write the report to this file instead of standard output.") var output: String?

        func run() async throws {
            let html = format == .html
            var report = JournalReport(since: time.sinceDate, detailed: html)
            try options.streamJournal { report.add($0) }
            let text: String
            if html {
                let title = "journal \(try options.journalDirectory())" + (time.sinceDate.map { " since \(Timestamp.format($0))" } ?? "")
                text = HTMLReport(report: report, title: title).html
            } else {
                text = report.render(format: ListingFormat(rawValue: format.rawValue) ?? .table)
            }
            guard let output else {
                Console.printListing(text)
                return
            }
            do {
                try Data(text.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
            } catch {
                throw Console.fail("cannot write \(output): \(error.localizedDescription)")
            }
        }
    }
    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What-if: every journaled signal decided again by the rules at --rules, offline, with its journaled market inputs.",
            discussion: """
                Sends nothing and writes nothing. A changed signal is marked * with both versions; one whose inputs were \
                not journaled is marked ? and not counted as a change. --format json prints one object a line per \
                signal, then one {"summary": ...} line.
                """
        )

        @OptionGroup var options: ConfigOption
        @Option(name: .customLong("rules"), help: "The rule files or folders to decide with (repeatable).") var rulePaths: [String]
        @OptionGroup var filter: ListingOptions

        func run() async throws {
            let configuration: BridgeConfiguration
            let rules: RuleSet
            do {
                configuration = try options.load()
                do {
                    rules = try RuleSet.load(paths: rulePaths, knownSources: options.config == nil ? nil : Set(configuration.sources.map(\.name)))
                } catch {
                    error.errors.forEach { print($0) }
                    throw CommandFailure("the rules have errors")
                }
            } catch let failure as CommandFailure {
                throw failure.exit()
            }
            var replay = WhatIfReplay(
                rules: rules,
                risk: configuration.risk,
                signalBotSources: Set(configuration.sources.filter(\.isOKXSignalBot).map(\.name)),
                since: filter.sinceDate
            )
            var outcomes: [WhatIfReplay.Outcome] = []
            let format = filter.format
            func emit(_ outcome: WhatIfReplay.Outcome?) {
                guard let outcome else { return }
                if format == .json { print(outcome.json.jsonText) } else { outcomes.append(outcome) }
            }
            try options.streamJournal { emit(replay.add($0)) }
            emit(replay.finish())
            switch format {
            case .json: print(replay.summary.json.jsonText)
            case .csv: Console.printListing(WhatIfReplay.listing(outcomes).csv)
            case .table:
                Console.printListing(WhatIfReplay.listing(outcomes).table)
                print(replay.summary.text(ruleSetHash: rules.hash))
            }
        }
    }
}

extension ListingFormat: ExpressibleByArgument {}

/// `--since` and `--format`, shared by `journal query` and `journal replay`.
struct ListingOptions: ParsableArguments {
    @OptionGroup var time: SinceOption
    @Option(help: "table, json or csv.")
    var format: ListingFormat = .table

    /// The `--since` time (checked by `validate`).
    var sinceDate: Date? { time.sinceDate }
}

/// `--since`, shared by the journal commands.
struct SinceOption: ParsableArguments {
    @Option(help: "Only from this time on: RFC 3339 (2026-11-25T12:00:00Z), a UTC day (2026-11-25), or an age (90m, 24h, 7d).")
    var since: String?

    func validate() throws {
        if let since, SinceTime.parse(since, now: Date()) == nil {
            throw ValidationError("--since \(since) is not a time: give RFC 3339 (2026-11-25T12:00:00Z), a day (2026-11-25) or an age (24h)")
        }
    }

    /// The `--since` time (checked by `validate`).
    var sinceDate: Date? { since.flatMap { SinceTime.parse($0, now: Date()) } }
}

extension ConfigOption {
    /// The journal directory of the configuration, or of the embedded default.
    func journalDirectory() throws -> String {
        guard let config else { return try load().journalDirectory }
        do {
            return try BridgeConfiguration.journalDirectory(configPath: config)
        } catch {
            throw Console.fail("configuration error: \(error)")
        }
    }

    /// Streams every record of the journal to `visit`, in order; a torn last line or batch (the bridge writing right
    /// now) is left out. Exits 1 on damage or when there is no journal at all (a mistyped `--config` should not look
    /// like an empty history).
    func streamJournal(_ visit: (JournalRecord) -> Void) throws {
        let directory = try journalDirectory()
        guard !JournalReader.segments(in: directory).isEmpty else {
            throw Console.fail("no journal at \(directory): nothing has been journaled there (check --config)")
        }
        do {
            try JournalReader.stream(directory: directory, allowTornTail: true, visit: visit)
        } catch {
            throw Console.fail("journal DAMAGED (run signalbridge journal verify): \(error)")
        }
    }
}

/// How far `journal verify` has come, on one line of a terminal's standard error, redrawn at most 5 times a second.
final class ProgressLine {
    private var lastDrawn = Date.distantPast

    func show(_ progress: JournalScanner.Progress) {
        let now = Date()
        guard now.timeIntervalSince(lastDrawn) >= 0.2 else { return }
        lastDrawn = now
        let percent = progress.totalBytes > 0 ? progress.bytesRead * 100 / progress.totalBytes : 100
        FileHandle.standardError.write(
            Data(
                "\r\u{1B}[Kverifying: \(progress.records) records, \(percent) % (\(progress.bytesRead >> 20) of \(progress.totalBytes >> 20) MiB)"
                    .utf8
            )
        )
    }

    func clear() {
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
