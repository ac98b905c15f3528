import Foundation

/// Reads a signal's own time: an ISO 8601 string (TradingView's `{{timenow}}`) or a Unix time in seconds
/// or milliseconds (a number, or a string of digits).
public enum SignalTime {
    /// Unix times above this are taken as milliseconds (year 2286 in seconds).
    static let millisecondThreshold: Decimal = 10_000_000_000

    /// The time `value` stands for, or nil when it is neither.
    public static func parse(_ value: JSONValue) -> Date? {
        if let number = value.decimalValue {
            return number > millisecondThreshold ? Date(unixMilliseconds: number) : Date(unixSeconds: number)
        }
        return value.stringValue.flatMap(Timestamp.parse)
    }
}
