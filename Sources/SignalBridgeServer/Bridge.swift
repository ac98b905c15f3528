import AsyncHTTPClient
import Foundation
import Logging
import OKXClient
import OKXSimulator
import SignalBridgeCore

/// Why the bridge cannot start. The message says what to fix.
public struct StartupError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Everything a running bridge is made of, assembled from a configuration: the journal (replayed), the rules,
/// the intake, the executor, market data, and the orders left open by a previous run.
public struct Bridge: Sendable {
    public let configuration: BridgeConfiguration
    public let exchange: any Exchange
    public let journal: Journal
    public let intake: SignalIntake
    public let executor: OrderExecutor
    public let market: MarketData
    public let marketData: MarketDataService
    /// Orders the journal leaves without a final record; resolved before new signals are executed.
    public let openOrders: [OpenOrder]
    /// The metrics every component reports to, and `/metrics` renders.
    public let metrics: PrometheusMetrics
    /// Sends the notices of `notifications[]` (a service of the application).
    public let notifier: Notifier
    public let startedAt: Date

    /// The exchange a configuration names: the OKX REST client, or a simulator in this process.
    /// - Parameter metrics: where the OKX client records each request's duration.
    public static func makeExchange(for configuration: BridgeConfiguration, logger: Logger, metrics: BridgeMetrics = BridgeMetrics()) -> any Exchange
    {
        okxClient(for: configuration, logger: logger, metrics: metrics) ?? SimulatorExchange()
    }

    /// The OKX client of an `okx` exchange; `nil` for the simulator in process.
    public static func okxClient(for configuration: BridgeConfiguration, logger: Logger, metrics: BridgeMetrics = BridgeMetrics()) -> OKXRestClient? {
        // `load` guarantees credentials for `okx`.
        guard configuration.exchange.kind == .okx, let credentials = configuration.exchange.credentials else { return nil }
        return OKXRestClient(
            baseURL: configuration.exchange.baseURL,
            credentials: credentials,
            demo: configuration.exchange.demo,
            webSocketURL: configuration.exchange.webSocketURL,
            publicWebSocketURL: configuration.exchange.publicWebSocketURL,
            logger: logger,
            metrics: metrics
        )
    }

    /// Loads the rules, opens and replays the journal, and journals `rules.loaded`.
    /// - Throws: ``StartupError`` listing every rule mistake, or why the journal cannot be used.
    /// - Parameters:
    ///   - lookupAttempts: how many lookups of an unknown outcome before giving up (`signalbridge reconcile`); nil:
    ///     until the exchange answers (`serve`).
    ///   - metrics: where the journal, the executor and the webhooks report (give the exchange the same).
    public static func assemble(
        configuration: BridgeConfiguration,
        exchange: any Exchange,
        logger: Logger,
        lookupAttempts: Int? = nil,
        metrics: PrometheusMetrics = PrometheusMetrics()
    ) async throws(StartupError) -> Bridge {
        for warning in configuration.replayWarnings { logger.warning("replay protection: \(warning)") }
        let rules: RuleSet
        do {
            rules = try RuleSet.load(paths: configuration.rulePaths, knownSources: Set(configuration.sources.map(\.name)))
        } catch {
            throw StartupError("the rules have errors:\n" + error.errors.map { "  \($0)" }.joined(separator: "\n"))
        }
        // The journal is streamed into the replay: only what the windows and the open orders need is kept.
        let windows = configuration.journalWindows(now: Date())
        let notifier = Notifier(targets: configuration.notifications, logger: logger, metrics: metrics.metrics)
        let journal: Journal
        let replay: JournalReplay
        do {
            (journal, replay) = try Journal.open(
                directory: configuration.journalDirectory,
                segmentLimit: configuration.journalSegmentBytes,
                logger: logger,
                since: windows.since,
                rememberSince: windows.rememberSince,
                metrics: metrics.metrics,
                observer: { notifier.journaled($0) }
            )
        } catch {
            throw StartupError(error.description)
        }
        // Once the journal is ours: a previous process still exiting may send until it lets go of the lock, and
        // requests it sent are looked up only after start + their lifetime.
        let startedAt = Date()
        notifier.remember(open: replay.openOrders.map(\.intent))
        let market = MarketData()
        let executor = OrderExecutor(
            exchange: exchange,
            journal: journal,
            logger: logger,
            lookupAttempts: lookupAttempts,
            killSwitch: KillSwitch(file: configuration.risk.killSwitchFile),
            metrics: metrics.metrics
        )
        let intake = SignalIntake(
            configuration: configuration,
            rules: rules,
            replay: replay,
            journal: journal,
            market: market,
            dispatcher: executor,
            logger: logger
        )
        do {
            try await intake.install(rules)
        } catch {
            throw StartupError("cannot write to the journal: \(error)")
        }
        let tickerInstruments = Self.tickerInstruments(configuration: configuration, intake: intake)
        return Bridge(
            configuration: configuration,
            exchange: exchange,
            journal: journal,
            intake: intake,
            executor: executor,
            market: market,
            marketData: MarketDataService(
                exchange: exchange,
                market: market,
                instruments: tickerInstruments,
                logger: logger,
                metrics: metrics.metrics
            ),
            openOrders: replay.openOrders,
            metrics: metrics,
            notifier: notifier,
            startedAt: startedAt
        )
    }

    /// The instruments whose tickers are kept: the allowed ones, and those rules name literally.
    static func tickerInstruments(configuration: BridgeConfiguration, intake: SignalIntake) -> @Sendable () async -> Set<String> {
        let allowed = configuration.risk.allowedInstruments ?? []
        return {
            intake.ruleSet.literalInstruments.union(allowed)
        }
    }

    /// Queues the orders a previous run left open for reconciliation; new orders of their instruments wait behind
    /// them.
    public func enqueueReconciliation(logger: Logger) {
        guard !openOrders.isEmpty else { return }
        logger.notice("reconciling orders left open by the previous run", metadata: ["orders": "\(openOrders.count)"])
        executor.enqueueReconciliation(openOrders, startedAt: startedAt)
    }

    /// Resolves the orders a previous run left open, then returns what was done (`signalbridge reconcile`).
    public func reconcileOpenOrders(logger: Logger) async -> OrderExecutor.Report {
        guard !openOrders.isEmpty else { return OrderExecutor.Report() }
        logger.notice("reconciling orders left open by the previous run", metadata: ["orders": "\(openOrders.count)"])
        await executor.measureClockOffset()
        let report = await executor.reconcile(openOrders, startedAt: startedAt)
        logger.notice(
            "reconciliation done",
            metadata: [
                "checked": "\(report.checked)", "resubmitted": "\(report.resubmitted)", "abandoned": "\(report.abandoned)",
                "unresolved": "\(report.unresolved.count)",
            ]
        )
        return report
    }
}
