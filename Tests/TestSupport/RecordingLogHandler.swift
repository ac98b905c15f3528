import Logging
import Synchronization

/// A log handler that keeps every message, for tests that check what was logged.
public struct RecordingLogHandler: LogHandler {
    /// The messages logged through every handler made from one recording, with their level and metadata.
    public final class Recording: Sendable {
        public let entries = Mutex<[(level: Logger.Level, message: String, metadata: Logger.Metadata)]>([])

        /// The messages logged so far.
        public var messages: [String] { entries.withLock { $0.map(\.message) } }

        public init() {}

        /// A logger whose messages land in this recording.
        public func logger(level: Logger.Level = .trace) -> Logger {
            var logger = Logger(label: "test") { _ in RecordingLogHandler(recording: self) }
            logger.logLevel = level
            return logger
        }
    }

    let recording: Recording
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        recording.entries.withLock { $0.append((event.level, event.message.description, metadata.merging(event.metadata ?? [:]) { $1 })) }
    }
}
