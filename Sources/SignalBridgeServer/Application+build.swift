import Hummingbird
import Logging
import NIOCore
import SignalBridgeCore

/// Builds the bridge's server: the webhook listener, with the admin listener, market data refresh, the journal
/// checkpoint, the order feed, the execution watch, `SIGHUP` rule reload and the order executor as services. Orders
/// left open by a previous run are queued for reconciliation ahead of any new order before it listens.
///
/// On `SIGTERM` or `SIGINT` the webhook listener stops accepting first and answers what it has; then the executor
/// finishes the orders being sent (10 s at most); then the other services stop, the admin listener last. The caller
/// closes the journal once this returns.
/// - Parameters:
///   - bridge: the assembled components.
///   - onListening: called with the listener's kind (`webhooks` or `admin`), host and actual port once each listens.
public func buildApplication(
    bridge: Bridge,
    logger: Logger,
    onListening: @escaping @Sendable (_ listener: String, _ host: String, _ port: Int) async -> Void = { _, _, _ in }
) -> some ApplicationProtocol {
    let configuration = bridge.configuration

    let admin = Application(
        router: buildAdminRouter(bridge: bridge),
        configuration: .init(address: .hostname(configuration.admin.host, port: configuration.admin.port), serverName: "signalbridge-admin"),
        onServerRunning: { channel in
            await onListening("admin", configuration.admin.host, channel.localAddress?.port ?? configuration.admin.port)
        },
        logger: logger
    )

    var app = Application(
        router: buildWebhookRouter(bridge: bridge),
        server: .http1(configuration: .init(idleTimeout: .seconds(30))),
        configuration: .init(address: .hostname(configuration.listen.host, port: configuration.listen.port), serverName: "signalbridge"),
        onServerRunning: { channel in
            await onListening("webhooks", configuration.listen.host, channel.localAddress?.port ?? configuration.listen.port)
        },
        logger: logger
    )
    app.addServices(
        admin,
        // Early, so that it stops late: the notices of the orders finished during shutdown are still sent.
        bridge.notifier,
        bridge.marketData,
        JournalCheckpointService(journal: bridge.journal, configuration: configuration, logger: logger),
        OrderFollowService(exchange: bridge.exchange, book: bridge.executor.book, journal: bridge.journal, logger: logger),
        ExecutionWatchService(
            executor: bridge.executor,
            cancelsOpenOrders: configuration.risk.killSwitchCancelsOpenOrders,
            notifier: bridge.notifier,
            logger: logger
        ),
        RulesReloadService(
            rulePaths: configuration.rulePaths,
            knownSources: Set(configuration.sources.map(\.name)),
            intake: bridge.intake,
            logger: logger,
            metrics: bridge.metrics.metrics,
            notifier: bridge.notifier
        ),
        // Last, so that it is the first to shut down after the webhook listener (services stop in reverse order, and
        // the listener before them all).
        OrderExecutionService(executor: bridge.executor, logger: logger)
    )
    app.beforeServerStarts {
        await bridge.marketData.refresh(instrumentsToo: true)
        await bridge.executor.measureClockOffset()
        // Queued ahead of every new order of their instruments; the listener does not wait for the exchange.
        bridge.enqueueReconciliation(logger: logger)
    }
    return app
}

/// The webhook listener's router (`POST /webhooks/{source}`), apart from the application, so that it can be tested
/// on its own.
public func buildWebhookRouter(bridge: Bridge) -> Router<WebhookContext> {
    let router = Router(context: WebhookContext.self)
    WebhookController(
        intake: bridge.intake,
        maxBodyBytes: bridge.configuration.maxBodyBytes,
        trustedProxies: bridge.configuration.trustedProxies,
        sourceNames: Set(bridge.configuration.sources.map(\.name)),
        metrics: bridge.metrics.metrics
    )
    .addRoutes(to: router)
    return router
}
