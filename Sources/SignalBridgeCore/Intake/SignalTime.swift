import Foundation

/// Reads a signal's own time: an ISO 8601 string (TradingView's `{{timenow}}`) or a Unix time in seconds
/// or milliseconds (a number, or a string of digits).
public enum SignalTime {
    /// Unix times above this are taken as milliseconds (year 2286 in seconds).
    static let millisecondThreshold: Decimal = 10_000_000_000

    /// The time `value` stands for, or nil when it is none, or one outside 2000 to 2100 that no sender's clock
    /// shows (`-1e20`, `0`, `99999999999999`).
    public static func parse(_ value: JSONValue) -> Date? {
        let date: Date?
        if let number = value.decimalValue {
            date = number > millisecondThreshold ? Date(unixMilliseconds: number) : Date(unixSeconds: number)
        } else {
            date = value.stringValue.flatMap(Timestamp.parse)
        }
        return date.flatMap { UnixTime.isPlausible($0) ? $0 : nil }
    }
}
