import Foundation

/// Exact decimal parsing and formatting for money: no binary floating point, no exponent in output.
public enum DecimalText {
    private static let posix = Locale(identifier: "en_US_POSIX")

    /// Parses a JSON-number-shaped text (`-12.5`, `1e-3`) into an exact `Decimal`.
    ///
    /// Unlike `Decimal(string:)` alone, trailing garbage (`"12abc"`), blanks, `NaN` and hex are refused.
    public static func parse(_ text: String) -> Decimal? {
        guard isNumberLiteral(text) else { return nil }
        return Decimal(string: text, locale: posix)
    }

    /// Formats a decimal in plain notation, without exponent or trailing zeros (`0.00010000` → `0.0001`).
    public static func format(_ value: Decimal) -> String {
        value.description
    }

    /// Whether `text` is a JSON number literal (RFC 8259 section 6), the only decimal form we accept.
    public static func isNumberLiteral(_ text: String) -> Bool {
        var bytes = Array(text.utf8)[...]
        guard !bytes.isEmpty, bytes.count <= 64 else { return false }
        if bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        func digits(_ slice: inout ArraySlice<UInt8>) -> Int {
            let count = slice.prefix(while: { $0 >= 0x30 && $0 <= 0x39 }).count
            slice = slice.dropFirst(count)
            return count
        }
        let leading = bytes.first
        let intDigits = digits(&bytes)
        if intDigits == 0 || (leading == UInt8(ascii: "0") && intDigits > 1) { return false }
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            if digits(&bytes) == 0 { return false }
        }
        if bytes.first == UInt8(ascii: "e") || bytes.first == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            if bytes.first == UInt8(ascii: "+") || bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
            if digits(&bytes) == 0 { return false }
        }
        return bytes.isEmpty
    }
}

extension Decimal {
    /// This value rounded to a whole multiple of `step`, in the given direction. `step` must be positive.
    public func rounded(toMultipleOf step: Decimal, _ mode: NSDecimalNumber.RoundingMode) -> Decimal {
        var quotient = self / step
        var whole = Decimal()
        NSDecimalRound(&whole, &quotient, 0, mode)
        return whole * step
    }

    /// Whether this value is a whole multiple of `step`.
    public func isMultiple(of step: Decimal) -> Bool {
        rounded(toMultipleOf: step, .down) == self
    }
}
