import Foundation
import Logging
import ServiceLifecycle
import SignalBridgeCore
import Synchronization

/// Keeps ``MarketData`` fresh in the background, so that decisions never wait on the exchange: tickers pushed by the
/// exchange's public WebSocket (`tickers`) when it has one, reconnecting with backoff and resubscribing; over REST every
/// few seconds for each instrument the feed has not pushed lately (all of them while it is down); instruments every
/// few minutes and balances every few seconds over REST.
public final class MarketDataService: Service, Sendable {
    let exchange: any Exchange
    let market: MarketData
    let instruments: @Sendable () async -> Set<String>
    let logger: Logger
    let metrics: BridgeMetrics
    let tickerInterval: Duration
    let instrumentInterval: Duration
    let maxBackoff: Duration
    private let lastSuccess = Mutex<Date?>(nil)
    private let feedConnected = Mutex(false)

    /// - Parameters:
    ///   - instruments: which instruments need tickers (the allowed ones, and those the rules name).
    ///   - tickerInterval: how often tickers (of instruments the feed has not pushed within it) and balances are polled.
    public init(
        exchange: any Exchange,
        market: MarketData,
        instruments: @escaping @Sendable () async -> Set<String>,
        logger: Logger,
        metrics: BridgeMetrics = BridgeMetrics(),
        tickerInterval: Duration = .seconds(5),
        instrumentInterval: Duration = .seconds(300),
        maxBackoff: Duration = .seconds(30)
    ) {
        self.exchange = exchange
        self.market = market
        self.instruments = instruments
        self.logger = logger
        self.metrics = metrics
        self.tickerInterval = tickerInterval
        self.instrumentInterval = instrumentInterval
        self.maxBackoff = maxBackoff
    }

    /// Whether the public WebSocket feed is subscribed now.
    public var isFeedConnected: Bool { feedConnected.withLock { $0 } }

    /// Whether the exchange answered within the last minute.
    public var isReachable: Bool {
        lastSuccess.withLock { $0.map { Date().timeIntervalSince($0) < 60 } ?? false }
    }

    /// Fetches the account mode (until known), instruments, tickers and balances once; each part that fails is
    /// logged and left for the next round.
    public func refresh(instrumentsToo: Bool) async {
        var reached = false
        if market.snapshot.accountMode == nil {
            reached =
                await attempt("account mode") {
                    let mode = AccountMode(level: try await exchange.accountLevel())
                    market.update(accountMode: mode)
                    if mode.level >= 3 {
                        logger.warning(
                            "OKX account in \(mode): spot orders use tdMode \(mode.spotTdMode), as OKX documents; in this mode OKX may borrow to fill them"
                        )
                    } else {
                        logger.notice("OKX account in \(mode): spot orders use tdMode \(mode.spotTdMode)")
                    }
                } || reached
        }
        if instrumentsToo || market.snapshot.instruments.isEmpty {
            reached = await attempt("instruments") { market.update(instruments: try await exchange.instruments()) } || reached
        }
        let snapshot = market.snapshot
        let pushedSince = Date().addingTimeInterval(-tickerInterval.seconds)
        var failed: [String] = []
        var lastError: (any Error)?
        for instId in await instruments().sorted() where snapshot.instruments[instId] != nil {
            // A price the feed pushed within the interval is fresher than a poll would be.
            if snapshot.tickerSource[instId] == .push, let pushed = snapshot.tickerFetchedAt[instId], pushed > pushedSince { continue }
            // Stamped when asked, so that a push that lands meanwhile is newer and kept.
            let asked = Date()
            do {
                market.update(ticker: try await exchange.ticker(instId: instId), fetchedAt: asked, source: .poll)
                reached = true
            } catch {
                failed.append(instId)
                lastError = error
            }
        }
        if let lastError {
            logger.warning(
                "market data: cannot refresh tickers from the exchange",
                metadata: ["instruments": "\(failed.joined(separator: ","))", "error": "\(lastError)"]
            )
        }
        reached = await attempt("balances") { market.update(balances: try await exchange.balances(), fetchedAt: Date()) } || reached
        if reached { lastSuccess.withLock { $0 = Date() } }
    }

    /// Runs one part of a refresh; false (and a log line) when it fails.
    private func attempt(_ what: String, _ body: () async throws -> Void) async -> Bool {
        do {
            try await body()
            return true
        } catch {
            logger.warning("market data: cannot refresh \(what) from the exchange", metadata: ["error": "\(error)"])
            return false
        }
    }

    public func run() async {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                if let feed = self.exchange.tickerFeed() { group.addTask { await self.follow(feed) } }
                group.addTask { await self.poll() }
                group.addTask { await self.reportEverySecond() }
                await group.waitForAll()
            }
        }
    }

    /// Polls every `tickerInterval` (instruments every `instrumentInterval`).
    private func poll() async {
        var sinceInstruments = Duration.zero
        while !Task.isCancelled {
            do { try await Task.sleep(for: tickerInterval) } catch { return }
            sinceInstruments += tickerInterval
            let instrumentsToo = sinceInstruments >= instrumentInterval
            if instrumentsToo { sinceInstruments = .zero }
            await refresh(instrumentsToo: instrumentsToo)
        }
    }

    /// Reports the prices' ages and the feed's state every second, whatever the exchange does meanwhile.
    private func reportEverySecond() async {
        while (try? await Task.sleep(for: .seconds(1))) != nil { await reportAges() }
    }

    /// The age and source of each wanted instrument's price, and the feed's state, in `/metrics`.
    func reportAges() async {
        let snapshot = market.snapshot
        let now = Date()
        for instId in await instruments().sorted() {
            guard let fetched = snapshot.tickerFetchedAt[instId] else { continue }
            metrics.priceAge(
                instrument: instId,
                seconds: max(0, now.timeIntervalSince(fetched)),
                source: (snapshot.tickerSource[instId] ?? .poll).rawValue
            )
        }
        metrics.marketFeed(connected: isFeedConnected)
    }

    /// Keeps the ticker feed subscribed to the wanted instruments: reconnects with backoff when it ends or fails, and
    /// resubscribes when the wanted set changes (a rule reload).
    func follow(_ feed: any TickerFeed) async {
        var backoff = Duration.seconds(1)
        while !Task.isCancelled {
            let wanted = await wantedInstruments()
            let started = ContinuousClock.now
            if wanted.isEmpty {
                guard (try? await Task.sleep(for: tickerInterval)) != nil else { return }
                continue
            }
            let outcome = await withTaskGroup(of: String?.self) { group -> String? in
                group.addTask {
                    do {
                        try await feed.follow(
                            instruments: wanted.sorted(),
                            connected: { [self] in
                                feedConnected.withLock { $0 = true }
                                metrics.marketFeed(connected: true)
                                logger.info("market data feed connected", metadata: ["instruments": "\(wanted.sorted().joined(separator: ","))"])
                            },
                            ticker: { [self] ticker in
                                guard wanted.contains(ticker.instId) else { return }
                                market.update(ticker: ticker, fetchedAt: Date(), source: .push)
                            }
                        )
                        return "closed"
                    } catch {
                        return "failed: \(error)"
                    }
                }
                group.addTask { [self] in
                    // Resubscribe when the rules come to want other instruments.
                    while (try? await Task.sleep(for: tickerInterval)) != nil {
                        if await wantedInstruments() != wanted { return nil }
                    }
                    return "stopped"
                }
                let first = await group.next() ?? nil
                group.cancelAll()
                return first
            }
            let wasConnected = feedConnected.withLock { connected in
                defer { connected = false }
                return connected
            }
            metrics.marketFeed(connected: false)
            if Task.isCancelled { return }
            guard let outcome else {
                logger.info("market data feed: the rules want other instruments; resubscribing")
                continue
            }
            logger.warning(
                "market data feed \(outcome); REST polling takes over until it reconnects",
                metadata: ["backoff": "\(backoff)"]
            )
            // Only a connection that stayed up a while starts the backoff again: one that is refused right after its
            // subscription (a flapping server) backs off as a refused connection does.
            if wasConnected, ContinuousClock.now - started > .seconds(60) { backoff = .seconds(1) }
            // Up to a fifth more, at random, so that reconnects do not come in step (OKX allows 3 a second per address).
            let jitter = backoff * Double.random(in: 0...0.2)
            guard (try? await Task.sleep(for: backoff + jitter)) != nil else { return }
            backoff = min(backoff * 2, maxBackoff)
        }
    }

    /// The wanted instruments the exchange lists (a feed subscription to an unknown one would be refused).
    private func wantedInstruments() async -> Set<String> {
        let listed = market.snapshot.instruments
        return await instruments().filter { listed[$0] != nil }
    }
}

extension Duration {
    /// The duration in seconds, as a `TimeInterval`.
    var seconds: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
