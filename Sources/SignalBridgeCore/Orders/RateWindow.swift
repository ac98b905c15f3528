import Foundation

/// A sliding-window rate limit per key, such as OKX's 60 order requests per 2 s per instrument.
public struct RateWindow: Sendable {
    /// Requests allowed per window.
    public let limit: Int
    /// The window length.
    public let window: TimeInterval
    private var recent: [String: [Date]] = [:]

    public init(limit: Int, window: TimeInterval) {
        self.limit = limit
        self.window = window
    }

    /// Counts a request for `key` at `now` if the window has room.
    /// - Returns: whether the request is within the limit.
    public mutating func admit(_ key: String, now: Date) -> Bool {
        var times = recent[key, default: []].filter { now.timeIntervalSince($0) < window }
        guard times.count < limit else {
            recent[key] = times
            return false
        }
        times.append(now)
        recent[key] = times
        return true
    }

    /// How long until `key` has room again (zero when it has room now).
    public func wait(_ key: String, now: Date) -> TimeInterval {
        let times = recent[key, default: []].filter { now.timeIntervalSince($0) < window }
        guard times.count >= limit, let oldest = times.first else { return 0 }
        return max(0, window - now.timeIntervalSince(oldest))
    }
}
