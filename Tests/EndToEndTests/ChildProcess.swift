import Foundation
import Synchronization

/// A `signalbridge` process started by a test, whose standard output is read line by line.
final class ChildProcess: Sendable {
    /// The built `signalbridge` executable, next to the test bundle.
    static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("signalbridge")
    }

    private let process: Process
    /// Output lines; read by one caller at a time.
    private let lines: AsyncStream<String>
    /// Where the process's standard error (its log) goes.
    let logFile: URL

    /// `signalbridge ARGUMENTS` in `directory`, with this process's environment plus `environment`, its standard
    /// output on a pipe; not started.
    private static func process(_ arguments: [String], environment: [String: String], directory: URL) -> (Process, Pipe) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        return (process, output)
    }

    init(_ arguments: [String], environment: [String: String] = [:], directory: URL) throws {
        let (process, output) = Self.process(arguments, environment: environment, directory: directory)
        self.process = process
        logFile = FileManager.default.temporaryDirectory.appendingPathComponent("\(arguments[0])-\(UUID().uuidString.prefix(8)).log")
        guard FileManager.default.createFile(atPath: logFile.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown)
        }
        process.standardError = try FileHandle(forWritingTo: logFile)
        let (stream, continuation) = AsyncStream<String>.makeStream()
        let pending = Mutex(Data())
        output.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            guard !data.isEmpty else {
                handle.readabilityHandler = nil
                continuation.finish()
                return
            }
            let complete = pending.withLock { buffer -> [String] in
                buffer.append(data)
                var lines: [String] = []
                while let newline = buffer.firstIndex(of: 0x0A) {
                    lines.append(String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self))
                    buffer.removeSubrange(buffer.startIndex...newline)
                }
                return lines
            }
            complete.forEach { continuation.yield($0) }
        }
        lines = stream
        try process.run()
    }

    /// The next output line that starts with `prefix`, or nil when the process ended first.
    func line(startingWith prefix: String) async -> String? {
        for await line in lines where line.hasPrefix(prefix) {
            return line
        }
        return nil
    }

    /// The port in a `... http://127.0.0.1:PORT...` line that starts with `prefix`.
    func port(announcedBy prefix: String) async -> Int? {
        guard let line = await line(startingWith: prefix), let range = line.range(of: "http://127.0.0.1:") else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }

    /// Runs a short command to its end and returns its exit status and standard output (and standard error, with
    /// `withStandardError`).
    static func run(
        _ arguments: [String],
        environment: [String: String] = [:],
        directory: URL,
        withStandardError: Bool = false
    ) async throws -> (status: Int32, output: String) {
        let (process, output) = Self.process(arguments, environment: environment, directory: directory)
        process.standardError = withStandardError ? output : FileHandle.nullDevice
        try process.run()
        let data = await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: output.fileHandleForReading.readDataToEndOfFile()) }
        }
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Sends SIGTERM and waits for the exit.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    /// Waits for the process to exit and returns its status.
    func wait() -> Int32 {
        process.waitUntilExit()
        return process.terminationStatus
    }
}
