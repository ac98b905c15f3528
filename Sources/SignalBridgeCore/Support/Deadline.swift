/// Runs `operation` for at most `limit`; when the time is up first (or the calling task is cancelled), the operation
/// is cancelled and awaited.
/// - Returns: what the operation returned, or nil when it was cut off.
public func withDeadline<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async -> T) async -> T? {
    await withTaskGroup(of: T?.self) { group in
        group.addTask { await operation() }
        group.addTask {
            try? await Task.sleep(for: limit)
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
}
