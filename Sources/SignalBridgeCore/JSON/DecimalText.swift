import Foundation

/// Exact decimal parsing and formatting for money: no binary floating point, no exponent in output.
public enum DecimalText {
    private static let posix = Locale(identifier: "en_US_POSIX")

    /// Numbers are accepted only below 10^30 in magnitude.
    public static let maxIntegerDigits = 30
    /// Numbers are accepted only down to 10^-30: a finer digit is not a price, a size or a time.
    public static let maxFractionDigits = 30
    /// At most this many significant digits, so that `Decimal` (38 digits) holds every accepted number exactly.
    public static let maxSignificantDigits = 34
    /// The range of accepted numbers in words, for error messages.
    public static let acceptedRange =
        "a finite decimal below 10^\(maxIntegerDigits), with at most \(maxFractionDigits) decimals and \(maxSignificantDigits) significant digits"

    /// Parses a JSON-number-shaped text (`-12.5`, `1e-3`) into an exact, range-checked `Decimal`.
    ///
    /// Refused (nil): anything that is not a JSON number literal (trailing garbage, blanks, `NaN`, `Infinity`, hex),
    /// and numbers that `Decimal` would not hold exactly or whose arithmetic could leave the finite range:
    /// 10^30 or more in magnitude, a nonzero digit below 10^-30, more than 34 significant digits. Every value this
    /// returns is finite, and sums and products of a few of them are too.
    public static func parse(_ text: String) -> Decimal? {
        guard let shape = NumberShape(text), shape.isWithinRange else { return nil }
        return Decimal(string: text, locale: posix)
    }

    /// Formats a decimal in plain notation, without exponent or trailing zeros (`0.00010000` → `0.0001`).
    public static func format(_ value: Decimal) -> String {
        value.description
    }

    /// Whether `value` is one ``parse(_:)`` would accept: finite, below 10^30, no nonzero digit below 10^-30, at most
    /// 34 significant digits. Results of arithmetic are checked with this before they reach a guard, a ledger or
    /// the journal, so that what is written reads back the same.
    public static func isWithinRange(_ value: Decimal) -> Bool {
        value.isFinite && NumberShape(format(value))?.isWithinRange == true
    }

    /// Whether `text` is a JSON number literal (RFC 8259 section 6), the only decimal form we accept.
    public static func isNumberLiteral(_ text: String) -> Bool {
        NumberShape(text) != nil
    }
}

/// The digits of a JSON number literal, read without arithmetic that could overflow.
struct NumberShape {
    /// Power of ten of the most significant nonzero digit (nil for zero).
    var highestPower: Int?
    /// Power of ten of the least significant nonzero digit (nil for zero).
    var lowestPower: Int?

    /// Reads a JSON number literal of at most 64 bytes; nil when `text` is not one.
    init?(_ text: String) {
        var bytes = Array(text.utf8)[...]
        guard !bytes.isEmpty, bytes.count <= 64 else { return nil }
        if bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        func digits(_ slice: inout ArraySlice<UInt8>) -> ArraySlice<UInt8> {
            let run = slice.prefix(while: { $0 >= 0x30 && $0 <= 0x39 })
            slice = slice.dropFirst(run.count)
            return run
        }
        let integer = digits(&bytes)
        if integer.isEmpty || (integer.first == UInt8(ascii: "0") && integer.count > 1) { return nil }
        var fraction = ArraySlice<UInt8>()
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            fraction = digits(&bytes)
            if fraction.isEmpty { return nil }
        }
        var exponent = 0
        if bytes.first == UInt8(ascii: "e") || bytes.first == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            var negative = false
            if bytes.first == UInt8(ascii: "+") || bytes.first == UInt8(ascii: "-") {
                negative = bytes.first == UInt8(ascii: "-")
                bytes = bytes.dropFirst()
            }
            let run = digits(&bytes)
            if run.isEmpty { return nil }
            // At most 64 bytes, so the run is short, but saturate anyway: only "far out of range" matters.
            for digit in run { exponent = min(exponent * 10 + Int(digit - 0x30), 1_000_000) }
            if negative { exponent = -exponent }
        }
        guard bytes.isEmpty else { return nil }
        // The i-th digit of integer + fraction stands for 10^(integer.count - 1 - i + exponent).
        var index = 0
        var first: Int?
        var last: Int?
        for digit in [integer, fraction].joined() {
            if digit != 0x30 {
                if first == nil { first = index }
                last = index
            }
            index += 1
        }
        guard let first, let last else { return }
        highestPower = integer.count - 1 - first + exponent
        lowestPower = integer.count - 1 - last + exponent
    }

    /// Whether the number lies in the range of ``DecimalText/parse(_:)``.
    var isWithinRange: Bool {
        guard let highestPower, let lowestPower else { return true }
        return highestPower < DecimalText.maxIntegerDigits && lowestPower >= -DecimalText.maxFractionDigits
            && highestPower - lowestPower < DecimalText.maxSignificantDigits
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
