import Logging
import Synchronization

/// A log handler that keeps every message, for tests that check what was logged.
struct RecordingLogHandler: LogHandler {
    /// The messages logged through every handler made from one recording, with their level and metadata.
    final class Recording: Sendable {
        let entries = Mutex<[(level: Logger.Level, message: String, metadata: Logger.Metadata)]>([])

        /// The messages logged so far.
        var messages: [String] { entries.withLock { $0.map(\.message) } }

        /// A logger whose messages land in this recording.
        func logger(level: Logger.Level = .trace) -> Logger {
            var logger = Logger(label: "test") { _ in RecordingLogHandler(recording: self) }
            logger.logLevel = level
            return logger
        }
    }

    let recording: Recording
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        recording.entries.withLock { $0.append((event.level, event.message.description, metadata.merging(event.metadata ?? [:]) { $1 })) }
    }
}
