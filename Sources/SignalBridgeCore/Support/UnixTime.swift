import Foundation

/// Unix times from outside (headers, payloads, exchange answers, journal fields), read into range-checked values
/// before any arithmetic, so that no sender can make a conversion trap.
public enum UnixTime {
    /// The times a sender's clock can sanely show, in Unix seconds: 2000-01-01 to 2100-01-01 (UTC).
    public static let plausibleSeconds: ClosedRange<Int64> = 946_684_800...4_102_444_800
    /// The times any outside value may stand for, in Unix seconds: 1970-01-01 to 9999-12-31 (UTC).
    static let representableSeconds: ClosedRange<Decimal> = 0...253_402_300_799

    /// A Unix time in whole seconds as a header carries it (`1732531200`): ASCII digits only, within
    /// ``plausibleSeconds``; nil otherwise (a sign, blanks, a fraction, or a time no clock shows).
    public static func plausibleSeconds(header text: String) -> Int64? {
        let bytes = text.utf8
        guard !bytes.isEmpty, bytes.count <= 12, bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        guard let seconds = Int64(text), plausibleSeconds.contains(seconds) else { return nil }
        return seconds
    }

    /// Whether `date` lies within ``plausibleSeconds``.
    public static func isPlausible(_ date: Date) -> Bool {
        let seconds = date.timeIntervalSince1970
        return seconds >= Double(plausibleSeconds.lowerBound) && seconds <= Double(plausibleSeconds.upperBound)
    }

    /// Whole seconds of the local clock's `date` (never from outside data: the local clock is finite and sane).
    static func seconds(_ date: Date) -> Int64 {
        date.timeIntervalSince1970.wholeSeconds
    }
}

extension TimeInterval {
    /// This interval in whole seconds, rounded down and clamped to ±9e18 (0 for NaN): safe for messages and
    /// arithmetic whatever the interval.
    public var wholeSeconds: Int64 {
        guard !isNaN else { return 0 }
        return Int64(Swift.min(Swift.max(self, -9.0e18), 9.0e18).rounded(.down))
    }
}

/// Sleeps for `seconds`, clamped to 0 through one day (NaN sleeps not at all): waits computed from outside times
/// can never trap `Duration`'s conversion.
func pause(seconds: TimeInterval) async {
    guard seconds > 0 else { return }
    try? await Task.sleep(for: .milliseconds((min(seconds, 86400) * 1000).wholeSeconds))
}

extension Date {
    /// The time `seconds` after 1970 (a Unix time, possibly with a fraction); nil outside 1970 to 9999.
    public init?(unixSeconds seconds: Decimal) {
        guard UnixTime.representableSeconds.contains(seconds) else { return nil }
        self.init(timeIntervalSince1970: TimeInterval(NSDecimalNumber(decimal: seconds).doubleValue))
    }

    /// The time `milliseconds` after 1970, as OKX writes times (`"1597026383085"`); nil outside 1970 to 9999.
    public init?(unixMilliseconds milliseconds: Decimal) {
        self.init(unixSeconds: milliseconds / 1000)
    }
}
