import Foundation
import Logging
import ServiceLifecycle
import SignalBridgeCore

/// Follows accepted orders to their final state: the exchange's push feed (OKX's private WebSocket `orders`
/// channel) when it has one, reconnecting with backoff and catching up over REST after each reconnect, and a
/// REST look-up of every open order at a slower pace, so fills are journaled even when the feed is down.
struct OrderFollowService: BridgeService {
    let exchange: any Exchange
    let book: OpenOrderBook
    let journal: Journal
    let logger: Logger
    var catchUpInterval: Duration = .seconds(30)
    var maxBackoff: Duration = .seconds(30)

    func run() async {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    while (try? await Task.sleep(for: catchUpInterval)) != nil { await catchUp() }
                }
                if let feed = exchange.orderFeed() {
                    group.addTask { await keepFollowing("order feed") { try await feed.follow(connected: $0, update: { await apply($0) }) } }
                }
                if let feed = exchange.algoFeed() {
                    group.addTask { await keepFollowing("algo order feed") { try await feed.follow(connected: $0, update: { await apply($0) }) } }
                }
                await group.waitForAll()
            }
        }
    }

    /// Keeps a feed (`follow`, given what to do once connected) connected; after every (re)connection, catches up
    /// over REST on what it missed.
    func keepFollowing(_ name: String, _ follow: (@escaping @Sendable () async -> Void) async throws -> Void) async {
        var backoff = Duration.seconds(1)
        while !Task.isCancelled {
            do {
                try await follow {
                    logger.info("\(name) connected")
                    await catchUp()
                }
                if Task.isCancelled { return }
                logger.warning("\(name) closed; reconnecting")
                backoff = .seconds(1)
            } catch {
                if Task.isCancelled { return }
                logger.warning("\(name) failed; reconnecting", metadata: ["error": "\(error)", "backoff": "\(backoff)"])
            }
            guard (try? await Task.sleep(for: backoff)) != nil else { return }
            backoff = min(backoff * 2, maxBackoff)
        }
    }

    /// Follows `feed` (``keepFollowing(_:_:)``).
    func follow(_ feed: any OrderUpdateFeed) async {
        await keepFollowing("order feed") { try await feed.follow(connected: $0, update: { await apply($0) }) }
    }

    /// Looks up every accepted open order over REST and journals what changed.
    func catchUp() async {
        for order in book.open where order.ordId != nil {
            guard let status = try? await exchange.status(of: order.intent) else { continue }
            await apply(status)
        }
    }

    /// Journals an `algo.update` when a pushed algo order change is new for an accepted open algo order; once it
    /// has triggered, with the fills of the order it placed, read over REST (a failed read leaves them to the next
    /// catch-up).
    func apply(_ algo: AlgoStatus) async {
        guard let open = book.order(algo.algoClOrdId), open.intent.isAlgo, open.ordId != nil else { return }
        var placed: OrderStatus?
        if algo.progress.state == "effective", let ordId = algo.progress.ordId {
            placed = try? await exchange.order(instId: open.instId, ordId: ordId)
        }
        await apply(algo.orderStatus(placed: placed))
    }

    /// Journals `order.update` when a pushed or looked-up state is new for an accepted open order, trying again
    /// with backoff until it is durable (the book already holds it). Orders not yet acknowledged are left to the
    /// executor, which reads them right after the ack.
    func apply(_ status: OrderStatus) async {
        // A push of the order an algo order of ours placed when it triggered: that algo order's life, read whole.
        if status.clOrdId.isEmpty, let algoClOrdId = status.placedBy, let open = book.order(algoClOrdId), open.intent.isAlgo, open.ordId != nil {
            if let algo = try? await exchange.status(of: open.intent) { await apply(algo) }
            return
        }
        guard book.order(status.clOrdId)?.ordId != nil, book.claim(status) else { return }
        var delay = Duration.seconds(1)
        // A journal failed for good refuses every record until restart; the next start follows the order again.
        while !Task.isCancelled, await journal.isWritable {
            do {
                try await journal.append([.update(status)])
                return
            } catch {
                logger.critical(
                    "journal: cannot record an order update; trying again",
                    metadata: ["clOrdId": "\(status.clOrdId)", "error": "\(error)"]
                )
            }
            guard (try? await Task.sleep(for: delay)) != nil else { return }
            delay = min(delay * 2, maxBackoff)
        }
    }
}
