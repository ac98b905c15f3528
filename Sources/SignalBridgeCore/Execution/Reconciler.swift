import Foundation
import Logging

/// Resolves orders whose outcome the journal does not know: intents with no answer (a crash mid-request),
/// `order.unknown` (no clear answer), and accepted orders not yet final.
///
/// It never re-posts blindly: it waits until the request's `expTime` has passed, asks the exchange by
/// `clOrdId`, and resubmits (same `clOrdId`) only when the exchange has no such order and the intent is
/// younger than ``resubmitWindow``; otherwise it journals `order.abandoned`.
public struct Reconciler: Sendable {
    /// How old an intent may be and still be sent again when the exchange never got it.
    public var resubmitWindow: TimeInterval
    let exchange: any Exchange
    let journal: Journal
    let executor: OrderExecutor
    let logger: Logger
    let clock: @Sendable () -> Date

    public init(
        exchange: any Exchange,
        journal: Journal,
        executor: OrderExecutor,
        logger: Logger,
        resubmitWindow: TimeInterval = 60,
        clock: @escaping @Sendable () -> Date = Date.init
    ) {
        self.exchange = exchange
        self.journal = journal
        self.executor = executor
        self.logger = logger
        self.resubmitWindow = resubmitWindow
        self.clock = clock
    }

    /// What a reconciliation run did.
    public struct Report: Sendable, Equatable {
        public var checked = 0
        public var resubmitted = 0
        public var abandoned = 0
        /// Orders the exchange could not be asked about; they stay open for the next run.
        public var unresolved: [String] = []

        public init() {}
    }

    /// Resolves `orders`.
    /// - Parameter startedAt: when this process started: a request of a previous process cannot outlive
    ///   `startedAt + requestLifetime`.
    public func resolve(_ orders: [JournalReplay.OpenOrder], startedAt: Date) async -> Report {
        var report = Report()
        for order in orders {
            report.checked += 1
            let intent = order.intent
            let metadata: Logger.Metadata = ["clOrdId": "\(intent.clOrdId)", "instId": "\(intent.request.instId)"]
            if order.lastType == nil || order.lastType == .orderUnknown {
                let deadline = order.unknownExpiry ?? startedAt.addingTimeInterval(executor.requestLifetime)
                let wait = deadline.timeIntervalSince(clock()) + 1
                if wait > 0 { try? await Task.sleep(for: .milliseconds(Int(wait * 1000))) }
            }
            let status: OrderStatus?
            do {
                status = try await exchange.order(instId: intent.request.instId, clOrdId: intent.clOrdId)
            } catch {
                logger.error("reconcile: cannot query the order", metadata: metadata.merging(["error": "\(error)"]) { $1 })
                report.unresolved.append(intent.clOrdId)
                continue
            }
            if let status {
                var entries: [JournalEntry] = []
                if order.ordId == nil { entries.append(.ack(clOrdId: intent.clOrdId, ordId: status.ordId)) }
                if status.state != "live" { entries.append(.update(status)) }
                if !entries.isEmpty { await record(entries, metadata) }
                logger.info("reconcile: order found", metadata: metadata.merging(["state": "\(status.state)"]) { $1 })
                continue
            }
            if order.ordId != nil {
                // Accepted before but unknown now: OKX keeps canceled unfilled orders for 2 hours only.
                await record([.abandoned(clOrdId: intent.clOrdId, reason: "OKX no longer knows this accepted order")], metadata)
                report.abandoned += 1
                continue
            }
            let age = clock().timeIntervalSince(order.intentTime)
            if age <= resubmitWindow {
                logger.notice("reconcile: the exchange never got the order; sending it again", metadata: metadata)
                await executor.execute(intent)
                report.resubmitted += 1
            } else {
                let reason = "OKX has no order with this clOrdId and the intent is \(Int(age)) s old (resubmit window \(Int(resubmitWindow)) s)"
                await record([.abandoned(clOrdId: intent.clOrdId, reason: reason)], metadata)
                logger.warning("reconcile: order abandoned", metadata: metadata.merging(["reason": "\(reason)"]) { $1 })
                report.abandoned += 1
            }
        }
        return report
    }

    private func record(_ entries: [JournalEntry], _ metadata: Logger.Metadata) async {
        do {
            try await journal.append(entries)
        } catch {
            logger.critical("journal: cannot record a reconciliation", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        }
    }
}
