import ArgumentParser
import Foundation
import SignalBridgeCore

struct JournalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "journal", abstract: "Audit the journal.", subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check sequence numbers and the hash chain; print the record count. Exit 1 and the first bad record on damage."
        )

        @OptionGroup var options: ConfigOption

        func run() async throws {
            let directory: String
            do {
                directory =
                    try options.config.map(BridgeConfiguration.journalDirectory(configPath:))
                    ?? BridgeConfiguration.embeddedDefault(workingDirectory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
                    .journalDirectory
            } catch {
                throw Console.fail("configuration error: \(error)")
            }
            do {
                let contents = try JournalReader.read(directory: directory, allowTornTail: false)
                let segments = JournalReader.segments(in: directory).count
                print("journal OK: \(contents.records.count) records in \(segments) segment\(segments == 1 ? "" : "s") (\(directory))")
            } catch {
                print("journal DAMAGED: \(error)")
                throw ExitCode(1)
            }
        }
    }
}
