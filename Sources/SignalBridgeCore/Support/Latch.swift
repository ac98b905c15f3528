import Synchronization

/// A one-way signal many tasks can wait for: ``open()`` once, and every waiter, present or later, goes on. A waiter
/// whose task is cancelled goes on too.
public final class Latch: Sendable {
    private struct State {
        var open = false
        var next = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Whether ``open()`` was called.
    public var isOpen: Bool { state.withLock { $0.open } }

    /// Returns once the latch is open, or the calling task is cancelled.
    public func wait() async {
        let id = state.withLock { state -> Int? in
            guard !state.open else { return nil }
            state.next += 1
            return state.next
        }
        guard let id else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state in
                    guard !state.open, !Task.isCancelled else { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Opens the latch: every waiter goes on.
    public func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        waiters.forEach { $0.resume() }
    }
}
