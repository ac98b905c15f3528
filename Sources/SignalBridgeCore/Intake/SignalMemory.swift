import Crypto
import Foundation

/// The signal ids seen within the replay window (`limits.replayWindowSeconds`, default 7 days), for sources
/// whose signature covers no timestamp (GitHub, Alchemy, Nansen, Moralis, tokens): a captured request of theirs
/// stays valid forever, so its id must be remembered for as long as it could be replayed, well beyond the
/// 48 hours that full answers are kept.
///
/// Small by design: 16 bytes of SHA-256 of source and id plus a time per signal (about 50 bytes with the set's
/// overhead: 7 days at one signal a second is about 30 MB). Two different signals share a digest with a chance
/// of 2^-64 per pair.
public struct SignalMemory: Sendable {
    struct Digest: Hashable, Sendable {
        var high: UInt64
        var low: UInt64

        init(_ key: SignalKey) {
            let hash = SHA256.hash(data: Array(key.source.utf8) + [0] + Array(key.signalId.utf8))
            var high: UInt64 = 0
            var low: UInt64 = 0
            for (index, byte) in hash.prefix(16).enumerated() {
                if index < 8 { high = high << 8 | UInt64(byte) } else { low = low << 8 | UInt64(byte) }
            }
            self.high = high
            self.low = low
        }
    }

    /// How long an id is remembered.
    public let window: TimeInterval
    private var digests: Set<Digest> = []
    /// Insertion order, for expiry; entries before `head` have expired.
    private var order: [(digest: Digest, time: Date)] = []
    private var head = 0

    public init(window: TimeInterval) {
        self.window = window
    }

    /// How many ids are remembered.
    public var count: Int { digests.count }

    /// Whether `key` was seen within the window.
    public func contains(_ key: SignalKey) -> Bool { digests.contains(Digest(key)) }

    /// Remembers `key`, seen at `time`, and forgets what has left the window by then.
    public mutating func insert(_ key: SignalKey, at time: Date) {
        let digest = Digest(key)
        if digests.insert(digest).inserted { order.append((digest, time)) }
        expire(before: time.addingTimeInterval(-window))
    }

    private mutating func expire(before horizon: Date) {
        while head < order.count, order[head].time < horizon {
            digests.remove(order[head].digest)
            head += 1
        }
        // Drop the expired prefix once it is most of the array, so the array does not grow without bound.
        if head > 1024, head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }
}
