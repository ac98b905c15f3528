import Foundation
import HummingbirdWSClient
import NIOWebSocket
import SignalBridgeCore
import Synchronization

/// An OKX WebSocket connection given up: it confirmed nothing in time, or went silent.
public struct OKXSilentConnection: Error, CustomStringConvertible {
    public let description: String
}

/// One OKX WebSocket connection once its first message is sent: reads every message, sends the text `ping` every 20 s
/// (OKX closes a connection after 30 s of silence), and gives the connection up when it has not confirmed (login and
/// subscription) within `confirmTimeout`, or when nothing (not even a `pong`) has come for 30 s.
///
/// Reading, pinging and watching run side by side and the first to end ends the connection; the watchdog closes it
/// before it gives up, so that a read waiting on a silent peer ends too.
struct OKXWebSocketSession: Sendable {
    let inbound: WebSocketInboundStream
    let outbound: WebSocketOutboundWriter
    let confirmTimeout: Duration

    /// The client's settings for OKX: a close handshake with a peer that has gone quiet is waited for 2 s, not 15.
    static let clientConfiguration = WebSocketClientConfiguration(closeTimeout: .seconds(2))

    /// When the connection was last heard from, and whether it has confirmed.
    private final class Liveness: Sendable {
        private let state = Mutex((at: ContinuousClock.now, confirmed: false))

        func heard() { state.withLock { $0.at = ContinuousClock.now } }
        func confirm() { state.withLock { $0.confirmed = true } }
        var current: (at: ContinuousClock.Instant, confirmed: Bool) { state.withLock { $0 } }
    }

    /// Runs until the peer closes (returns), the connection is given up (throws ``OKXSilentConnection``), or `handle`
    /// throws.
    /// - Parameters:
    ///   - state: what `handle` keeps from one message to the next (the messages are handled one at a time).
    ///   - handle: called with each JSON object the peer sends (not `pong`); returns true once what it waits for is
    ///     confirmed (the subscription).
    func run<State: Sendable>(
        state: State,
        _ handle: @escaping @Sendable (JSONObject, inout State) async throws -> Bool
    ) async throws {
        let liveness = Liveness()
        let (inbound, outbound, confirmTimeout) = (self.inbound, self.outbound, self.confirmTimeout)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while true {
                    try await Task.sleep(for: .seconds(20))
                    try await outbound.write(.text("ping"))
                }
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: .milliseconds(250))
                    let (at, confirmed) = liveness.current
                    let silence = ContinuousClock.now - at
                    guard confirmed ? silence > .seconds(30) : silence > confirmTimeout else { continue }
                    try? await outbound.close(.goingAway, reason: "silent")
                    throw OKXSilentConnection(description: confirmed ? "silent for 30 s" : "nothing confirmed within \(confirmTimeout)")
                }
            }
            group.addTask {
                var state = state
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    liveness.heard()
                    guard case .text(let text) = message, text != "pong", let object = (try? JSONParser.parse(text))?.objectValue else { continue }
                    if try await handle(object, &state) { liveness.confirm() }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }
}
