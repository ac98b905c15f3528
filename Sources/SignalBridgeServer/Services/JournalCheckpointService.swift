import Dispatch
import Foundation
import Logging
import ServiceLifecycle
import SignalBridgeCore

/// Writes a journal checkpoint each time a segment fills (``JournalCheckpoint``), at most once every
/// ``minimumInterval`` (segments that fill meanwhile are covered by the next one), so that start reads little more
/// than the last segment. The closed segments are read on a Dispatch thread, never on the cooperative pool the
/// webhooks use; a checkpoint that cannot be written is logged, and start then reads from the previous one.
struct JournalCheckpointService: BridgeService {
    let journal: Journal
    let configuration: BridgeConfiguration
    let logger: Logger
    var minimumInterval: Duration = .seconds(10)

    func run() async {
        let clock = ContinuousClock()
        var last: ContinuousClock.Instant?
        // The last checkpoint written, so that each is brought forward from memory, not read back from its file.
        var previous: JournalCheckpoint?
        for await position in journal.newSegments.cancelOnGracefulShutdown() {
            if let last, last + minimumInterval > clock.now {
                await cancelWhenGracefulShutdown { try? await Task.sleep(until: last + minimumInterval, clock: clock) }
            }
            last = clock.now
            let windows = configuration.journalWindows(now: Date())
            let directory = journal.directory
            let logger = logger
            let from = previous
            let outcome: Result<JournalCheckpoint, JournalError> = await withCheckedContinuation { continuation in
                DispatchQueue.global(qos: .utility).async {
                    continuation.resume(
                        returning: Result { () throws(JournalError) in
                            try JournalCheckpoint.advance(
                                directory: directory,
                                from: from,
                                to: position,
                                since: windows.since,
                                rememberSince: windows.rememberSince,
                                written: Date(),
                                logger: logger
                            )
                        }
                    )
                }
            }
            switch outcome {
            case .success(let checkpoint):
                previous = checkpoint
                logger.info("journal: checkpoint written", metadata: ["segment": "\(position.segment)", "seq": "\(position.seq)"])
            case .failure(let error):
                previous = nil
                logger.error("journal: cannot write the checkpoint; the next start reads more of the journal", metadata: ["reason": "\(error)"])
            }
        }
    }
}
