import Crypto
import Dispatch
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The journal cannot take a record.
public struct JournalError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    /// The journal is damaged at `damage`: start stops, and says how to repair it.
    public static func damaged(_ damage: JournalDamage) -> JournalError {
        JournalError(
            "the journal is damaged; nothing was changed. \(damage.description)\nRun `signalbridge journal verify` and restore the segment from a backup."
        )
    }
}

/// The append-only, hash-chained, fsynced journal (SPEC section 6).
///
/// Appends write at once and then wait for a shared `fsync`: callers that append while a sync runs are made
/// durable together by the next one (group commit), so throughput does not pay one fsync per signal.
public actor Journal {
    /// Where the segment files are.
    public nonisolated let directory: String
    private let segmentLimit: Int
    private let logger: Logger
    private let clock: @Sendable () -> Date
    private let metrics: BridgeMetrics
    private let observer: @Sendable ([JournalEntry]) -> Void

    private var segmentNumber: Int
    private var fd: Int32
    private var offset: Int
    private var lastSeq: Int
    private var lastHash: String
    private var lockFD: Int32

    private var syncedSeq: Int
    private var syncing = false
    private var waiters: [(seq: Int, continuation: CheckedContinuation<Void, any Error>)] = []
    private var failure: JournalError?
    private var retiredFDs: [Int32] = []
    private var closed = false
    private let segmentStarts: AsyncStream<JournalPosition>.Continuation

    /// Where each new segment begins, once every segment before it is closed and on disk (the newest only, when
    /// they come faster than they are read): where a checkpoint can be written (``JournalCheckpoint``).
    public nonisolated let newSegments: AsyncStream<JournalPosition>

    /// The size at which a segment is closed and the next begun.
    public static let defaultSegmentLimit = 16 << 20

    /// Opens (creating if needed) the journal in `directory`, truncating a torn last line, and returns it with
    /// every record already there, for the caller to rebuild its state.
    /// - Throws: ``JournalError`` when the directory cannot be used, is locked by another process, or is damaged.
    public static func open(
        directory: String,
        segmentLimit: Int = defaultSegmentLimit,
        logger: Logger,
        clock: @escaping @Sendable () -> Date = Date.init
    ) throws(JournalError) -> (Journal, [JournalRecord]) {
        var records: [JournalRecord] = []
        let journal = try open(
            directory: directory,
            segmentLimit: segmentLimit,
            logger: logger,
            clock: clock,
            read: { line throws(JournalDamage) in try line.parsed() },
            visit: { records.append($0) }
        )
        return (journal, records)
    }

    /// Opens (creating if needed) the journal in `directory`, truncating a torn last line or batch, and streams what
    /// is already there to `visit`, in order, in memory bounded by one batch: every line is read and checked (sequence
    /// numbers, the hash chain, batches), and `read` makes of each what the caller needs
    /// (``JournalReader/stream(directory:allowTornTail:read:visit:)``). What is made of a batch reaches `visit` once
    /// the whole batch is known to be on disk; of a batch only partly there, never.
    /// - Throws: ``JournalError`` when the directory cannot be used, is locked by another process, or is damaged.
    public static func open<Item>(
        directory: String,
        segmentLimit: Int = defaultSegmentLimit,
        logger: Logger,
        clock: @escaping @Sendable () -> Date = Date.init,
        read: (ScannedLine) throws(JournalDamage) -> Item?,
        visit: (Item) -> Void
    ) throws(JournalError) -> Journal {
        try open(directory: directory, segmentLimit: segmentLimit, logger: logger, clock: clock) { () throws(JournalError) in
            do throws(JournalDamage) {
                return try JournalReader.stream(directory: directory, allowTornTail: true, read: read, visit: visit)
            } catch {
                throw .damaged(error)
            }
        }
    }

    /// Opens (creating if needed) the journal in `directory`: takes its lock, runs `scan` (which reads and checks
    /// the journal, allowing a torn tail, and says where it ends), truncates a torn last line or batch, and opens the
    /// last segment for appending.
    /// - Parameters:
    ///   - metrics: where each fsync's duration and batch, and the decisions and order records made durable, are
    ///     counted.
    ///   - observer: called with the entries of each append once they are durable (notifications).
    /// - Throws: ``JournalError`` when the directory cannot be used, is locked by another process, or what `scan`
    ///   throws.
    public static func open(
        directory: String,
        segmentLimit: Int = defaultSegmentLimit,
        logger: Logger,
        clock: @escaping @Sendable () -> Date = Date.init,
        metrics: BridgeMetrics = BridgeMetrics(),
        observer: @escaping @Sendable ([JournalEntry]) -> Void = { _ in },
        scan: () throws(JournalError) -> JournalScanner.Summary
    ) throws(JournalError) -> Journal {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw JournalError("cannot create the journal directory \(directory): \(error.localizedDescription)")
        }
        let lockPath = URL(fileURLWithPath: directory).appendingPathComponent("journal.lock").path
        let lockFD = Glibc.open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lockFD >= 0 else { throw JournalError("cannot open \(lockPath): \(String(cString: strerror(errno)))") }
        guard lock(lockFD) else {
            Glibc.close(lockFD)
            throw JournalError("the journal \(directory) is in use by another signalbridge process")
        }
        let summary: JournalScanner.Summary
        do {
            summary = try scan()
        } catch {
            Glibc.close(lockFD)
            throw error
        }
        if let torn = summary.tornTail {
            logger.warning(
                torn.records > 0
                    ? "journal: discarding a batch only partly on disk after a crash (its sender was never answered; a resend is a new signal)"
                    : "journal: truncating a torn last line left by a crash",
                metadata: ["file": "\(torn.path)", "offset": "\(torn.offset)", "bytes": "\(torn.bytes)", "records": "\(torn.records)"]
            )
            guard truncate(torn.path, off_t(torn.offset)) == 0 else {
                Glibc.close(lockFD)
                throw JournalError("cannot truncate the torn last line of \(torn.path): \(String(cString: strerror(errno)))")
            }
        }
        let segment = JournalReader.segments(in: directory).last?.number ?? 1
        let path = URL(fileURLWithPath: directory).appendingPathComponent(JournalReader.segmentName(segment)).path
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            Glibc.close(lockFD)
            throw JournalError("cannot open \(path) for writing: \(String(cString: strerror(errno)))")
        }
        var status = stat()
        fstat(fd, &status)
        let journal = Journal(
            directory: directory,
            segmentLimit: segmentLimit,
            logger: logger,
            clock: clock,
            metrics: metrics,
            observer: observer,
            segmentNumber: segment,
            fd: fd,
            offset: Int(status.st_size),
            lastSeq: summary.end.seq,
            lastHash: summary.end.hash,
            lockFD: lockFD
        )
        return journal
    }

    private init(
        directory: String,
        segmentLimit: Int,
        logger: Logger,
        clock: @escaping @Sendable () -> Date,
        metrics: BridgeMetrics,
        observer: @escaping @Sendable ([JournalEntry]) -> Void,
        segmentNumber: Int,
        fd: Int32,
        offset: Int,
        lastSeq: Int,
        lastHash: String,
        lockFD: Int32
    ) {
        self.directory = directory
        self.segmentLimit = segmentLimit
        self.logger = logger
        self.clock = clock
        self.metrics = metrics
        self.observer = observer
        self.segmentNumber = segmentNumber
        self.fd = fd
        self.offset = offset
        self.lastSeq = lastSeq
        self.lastHash = lastHash
        self.lockFD = lockFD
        self.syncedSeq = lastSeq
        (newSegments, segmentStarts) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Whether the journal can take records (false after a failed fsync, until restart).
    public var isWritable: Bool { failure == nil }

    /// Writes `entries` as consecutive records and returns once they are on disk.
    /// - Throws: ``JournalError`` when they could not be made durable; then none of them counts as written.
    @discardableResult
    public func append(_ entries: [JournalEntry]) async throws(JournalError) -> [JournalRecord] {
        let records = try write(entries)
        guard let last = records.last else { return [] }
        do {
            try await waitUntilDurable(last.seq)
        } catch let error as JournalError {
            throw error
        } catch {
            throw JournalError("\(error)")
        }
        metrics.journaled(entries)
        observer(entries)
        return records
    }

    /// Writes `entries` to the file without waiting for durability.
    private func write(_ entries: [JournalEntry]) throws(JournalError) -> [JournalRecord] {
        if let failure { throw failure }
        guard !entries.isEmpty else { return [] }
        for entry in entries {
            if let pointer = JSONValue.object(entry.fields).invalidNumberPointer {
                logger.error(
                    "journal: refused a record holding a number that is not finite",
                    metadata: ["type": "\(entry.type.rawValue)", "field": "\(pointer)"]
                )
                throw JournalError(
                    "refused a \(entry.type.rawValue) record: the number at \(pointer) is not finite; nothing of this batch was written"
                )
            }
        }
        guard lastSeq <= Int.max - entries.count else { throw JournalError("the journal's sequence numbers are exhausted") }
        if offset >= segmentLimit { try rotate() }
        let ts = Timestamp.format(clock())
        var records: [JournalRecord] = []
        var seq = lastSeq
        var hash = lastHash
        var bytes: [UInt8] = []
        for (index, entry) in entries.enumerated() {
            seq += 1
            let batch = index == 0 && entries.count > 1 ? entries.count : nil
            let start = bytes.count
            let record = JournalRecord.make(entry, seq: seq, ts: ts, prev: hash, batch: batch, appendingLineTo: &bytes)
            hash = bytes[start...].withUnsafeBytes { Hex.encode(SHA256.hash(data: $0)) }
            bytes.append(0x0A)
            records.append(record)
        }
        if let error = Descriptor.writeAll(fd, bytes) {
            let reason = String(cString: strerror(error))
            if ftruncate(fd, off_t(offset)) != 0 {
                failure = JournalError("journal write failed (\(reason)) and the partial write could not be undone")
            }
            throw JournalError("journal write failed: \(reason)")
        }
        offset += bytes.count
        lastSeq = seq
        lastHash = hash
        return records
    }

    private func rotate() throws(JournalError) {
        guard fsync(fd) == 0 else {
            failure = JournalError("journal fsync failed: \(String(cString: strerror(errno)))")
            throw failure!
        }
        let next = segmentNumber + 1
        let path = URL(fileURLWithPath: directory).appendingPathComponent(JournalReader.segmentName(next)).path
        let newFD = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard newFD >= 0 else { throw JournalError("cannot open \(path): \(String(cString: strerror(errno)))") }
        Self.syncDirectory(directory)
        // A sync in flight may still use the old descriptor: it is closed when that sync finishes.
        if syncing { retiredFDs.append(fd) } else { Glibc.close(fd) }
        fd = newFD
        segmentNumber = next
        offset = 0
        logger.info("journal: new segment", metadata: ["file": "\(path)"])
        segmentStarts.yield(JournalPosition(segment: next, offset: 0, seq: lastSeq, hash: lastHash))
    }

    /// Makes the entries of `directory` (a new or renamed file) durable.
    static func syncDirectory(_ directory: String) {
        let directoryFD = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryFD >= 0 else { return }
        fsync(directoryFD)
        Glibc.close(directoryFD)
    }

    private func waitUntilDurable(_ seq: Int) async throws {
        if syncedSeq >= seq { return }
        if let failure { throw failure }
        try await withCheckedThrowingContinuation { continuation in
            waiters.append((seq, continuation))
            startSyncIfIdle()
        }
    }

    private func startSyncIfIdle() {
        guard !syncing, !waiters.isEmpty else { return }
        syncing = true
        let target = lastSeq
        let records = target - syncedSeq
        let fd = self.fd
        let metrics = self.metrics
        Task {
            let started = ContinuousClock.now
            let result = await Self.fsyncOffThread(fd)
            metrics.journalSync(ContinuousClock.now - started, records: records)
            self.syncFinished(target: target, errorNumber: result)
        }
    }

    private func syncFinished(target: Int, errorNumber: Int32) {
        syncing = false
        retiredFDs.forEach { Glibc.close($0) }
        retiredFDs = []
        if errorNumber != 0 {
            let error = JournalError("journal fsync failed: \(String(cString: strerror(errorNumber))); refusing further records")
            failure = error
            logger.critical("journal: fsync failed; the bridge refuses new signals until it is restarted")
            for waiter in waiters { waiter.continuation.resume(throwing: error) }
            waiters = []
            return
        }
        syncedSeq = max(syncedSeq, target)
        var pending: [(seq: Int, continuation: CheckedContinuation<Void, any Error>)] = []
        for waiter in waiters {
            if waiter.seq <= syncedSeq { waiter.continuation.resume() } else { pending.append(waiter) }
        }
        waiters = pending
        startSyncIfIdle()
    }

    /// Runs `fsync` on a Dispatch thread so the cooperative pool is never blocked by the disk.
    private static func fsyncOffThread(_ fd: Int32) async -> Int32 {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: fsync(fd) == 0 ? 0 : errno)
            }
        }
    }

    /// Takes the journal's exclusive lock, trying for up to 2 s: the lock outlives its holder's `close` for a
    /// moment when the holder is exiting, or while a child process it is starting still holds copies of its
    /// descriptors (until the child's exec closes them).
    private static func lock(_ fd: Int32) -> Bool {
        let deadline = Date().addingTimeInterval(2)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, Date() < deadline else { return false }
            usleep(20_000)
        }
        return true
    }

    /// Flushes and closes the files; the journal takes no records afterwards.
    public func close() {
        guard !closed else { return }
        closed = true
        if failure == nil { fsync(fd) }
        (retiredFDs + [fd]).forEach { Glibc.close($0) }
        retiredFDs = []
        Glibc.close(lockFD)
        failure = JournalError("the journal is closed")
        segmentStarts.finish()
    }
}
