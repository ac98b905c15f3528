import Dispatch
import Foundation
import Logging
import ServiceLifecycle
import SignalBridgeCore

/// Writes a journal checkpoint each time a segment fills (``JournalCheckpoint``), so that start reads at most the
/// last segment. The closed segments are read on a Dispatch thread, never on the cooperative pool the webhooks use;
/// a checkpoint that cannot be written is logged, and start then reads from the previous one.
struct JournalCheckpointService: Service {
    let journal: Journal
    let configuration: BridgeConfiguration
    let logger: Logger

    func run() async {
        for await position in journal.newSegments.cancelOnGracefulShutdown() {
            let windows = configuration.journalWindows(now: Date())
            let directory = journal.directory
            let logger = logger
            let outcome: Result<Void, JournalError> = await withCheckedContinuation { continuation in
                DispatchQueue.global(qos: .utility).async {
                    continuation.resume(
                        returning: Result { () throws(JournalError) in
                            try JournalCheckpoint.advance(
                                directory: directory,
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
            case .success:
                logger.info("journal: checkpoint written", metadata: ["segment": "\(position.segment)", "seq": "\(position.seq)"])
            case .failure(let error):
                logger.error("journal: cannot write the checkpoint; the next start reads more of the journal", metadata: ["reason": "\(error)"])
            }
        }
    }
}
