import Foundation
import Logging
import SignalBridgeCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Log lines as JSON (`logging.format: "json"`): one object a line, `{"ts", "level", "label", "message",
/// "metadata"}`, the time in UTC with milliseconds, metadata values as strings, arrays and objects. Lines are
/// written whole under one lock, so lines from several threads never interleave; a failed write (a full disk, a
/// closed pipe) loses the line, never the process.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String
    private let write: @Sendable ([UInt8]) -> Void

    /// A handler writing to `write` (standard error by default).
    public init(label: String, write: @escaping @Sendable ([UInt8]) -> Void = JSONLogHandler.writeToStandardError) {
        self.label = label
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        var object = JSONObject([
            ("ts", .string(Timestamp.format(Date()))), ("level", .string(event.level.rawValue)), ("label", .string(label)),
            ("message", .string(event.message.description)),
        ])
        if !merged.isEmpty {
            object["metadata"] = .object(JSONObject(merged.sorted { $0.key < $1.key }.map { ($0.key, Self.json($0.value)) }))
        }
        var line = JSONValue.object(object).jsonBytes
        line.append(0x0A)
        write(line)
    }

    private static let standardErrorLock = Mutex(())

    /// Writes `line` to standard error whole (retrying partial and interrupted writes), dropping it on any error.
    @Sendable public static func writeToStandardError(_ line: [UInt8]) {
        standardErrorLock.withLock { _ in
            _ = Descriptor.writeAll(STDERR_FILENO, line)
        }
    }

    private static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let text): .string(text)
        case .stringConvertible(let convertible): .string(convertible.description)
        case .array(let values): .array(values.map(json))
        case .dictionary(let members): .object(JSONObject(members.sorted { $0.key < $1.key }.map { ($0.key, json($0.value)) }))
        }
    }
}
