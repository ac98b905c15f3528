import Foundation
import Synchronization

/// Where a price in the cache came from.
public enum PriceSource: String, Sendable {
    /// Pushed by the exchange's public WebSocket (`tickers` channel).
    case push
    /// Fetched over REST (`GET /api/v5/market/ticker`), while the feed is down or quiet.
    case poll
}

/// What the bridge last heard from the exchange: instruments and tickers, kept fresh in the background.
public struct MarketSnapshot: Sendable {
    public var instruments: [String: Instrument] = [:]
    public var tickers: [String: Ticker] = [:]
    /// When each ticker was fetched or pushed (by our clock).
    public var tickerFetchedAt: [String: Date] = [:]
    /// How each ticker came.
    public var tickerSource: [String: PriceSource] = [:]
    /// Available balance per currency, and when it was fetched.
    public var balances: [String: Decimal] = [:]
    public var balancesFetchedAt: Date?
    /// The account mode, once read from the exchange.
    public var accountMode: AccountMode?

    /// The `tdMode` spot orders carry: the account mode's, `cash` until it is known.
    public var tdMode: String { accountMode?.spotTdMode ?? "cash" }

    public init() {}

    /// The available balance of `ccy` (zero when the exchange lists none), if the balances are no older than `maxAge`.
    public func freshBalance(_ ccy: String, now: Date, maxAge: Int) -> Decimal? {
        guard let fetched = balancesFetchedAt, now.timeIntervalSince(fetched) <= TimeInterval(maxAge) else { return nil }
        return balances[ccy] ?? 0
    }

    /// A ticker no older than `maxAge` seconds.
    public func freshTicker(_ instId: String, now: Date, maxAge: Int) -> Ticker? {
        guard let ticker = tickers[instId], let fetched = tickerFetchedAt[instId],
            now.timeIntervalSince(fetched) <= TimeInterval(maxAge)
        else { return nil }
        return ticker
    }
}

/// The shared, thread-safe holder of the latest ``MarketSnapshot``. Decisions read it and never wait on the exchange.
public final class MarketData: Sendable {
    private let state = Mutex(MarketSnapshot())

    public init() {}

    /// A copy of the current snapshot.
    public var snapshot: MarketSnapshot { state.withLock { $0 } }

    /// Replaces the instrument list.
    public func update(instruments: [Instrument]) {
        state.withLock { snapshot in
            snapshot.instruments = Dictionary(instruments.map { ($0.instId, $0) }, uniquingKeysWith: { $1 })
        }
    }

    /// Replaces the balances, fetched at `fetchedAt`.
    public func update(balances: [Balance], fetchedAt: Date) {
        state.withLock { snapshot in
            snapshot.balances = Dictionary(balances.map { ($0.ccy, $0.available) }, uniquingKeysWith: { $1 })
            snapshot.balancesFetchedAt = fetchedAt
        }
    }

    /// Stores the account mode.
    public func update(accountMode: AccountMode) {
        state.withLock { $0.accountMode = accountMode }
    }

    /// Stores a ticker fetched (or pushed) at `fetchedAt`, unless the cache holds a newer one (a poll asked before a
    /// push arrived answers after it).
    public func update(ticker: Ticker, fetchedAt: Date, source: PriceSource = .poll) {
        state.withLock { snapshot in
            if let held = snapshot.tickerFetchedAt[ticker.instId], held > fetchedAt { return }
            snapshot.tickers[ticker.instId] = ticker
            snapshot.tickerFetchedAt[ticker.instId] = fetchedAt
            snapshot.tickerSource[ticker.instId] = source
        }
    }
}
