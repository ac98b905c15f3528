import Foundation
import Logging
import ServiceLifecycle
import SignalBridgeCore
import Synchronization

/// Keeps ``MarketData`` fresh in the background: instruments every few minutes, tickers every few seconds,
/// so that decisions never wait on the exchange.
public final class MarketDataService: Service, Sendable {
    let exchange: any Exchange
    let market: MarketData
    let instruments: @Sendable () async -> Set<String>
    let logger: Logger
    let tickerInterval: Duration
    let instrumentInterval: Duration
    private let lastSuccess = Mutex<Date?>(nil)

    /// - Parameter instruments: which instruments need tickers (the allowed ones, and those the rules name).
    public init(
        exchange: any Exchange,
        market: MarketData,
        instruments: @escaping @Sendable () async -> Set<String>,
        logger: Logger,
        tickerInterval: Duration = .seconds(5),
        instrumentInterval: Duration = .seconds(300)
    ) {
        self.exchange = exchange
        self.market = market
        self.instruments = instruments
        self.logger = logger
        self.tickerInterval = tickerInterval
        self.instrumentInterval = instrumentInterval
    }

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
        reached =
            await attempt("tickers") {
                for instId in await instruments().sorted() where market.snapshot.instruments[instId] != nil {
                    market.update(ticker: try await exchange.ticker(instId: instId), fetchedAt: Date())
                }
            } || reached
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
            var sinceInstruments = Duration.zero
            while !Task.isCancelled {
                do { try await Task.sleep(for: self.tickerInterval) } catch { return }
                sinceInstruments += self.tickerInterval
                let instrumentsToo = sinceInstruments >= self.instrumentInterval
                if instrumentsToo { sinceInstruments = .zero }
                await self.refresh(instrumentsToo: instrumentsToo)
            }
        }
    }
}
