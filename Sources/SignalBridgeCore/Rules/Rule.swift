import Foundation

/// One trader-written rule: when a signal from `source` matches `when`, place `orders` (SPEC section 5).
public struct Rule: Sendable {
    public var id: String
    public var description: String?
    public var source: String
    public var when: Condition
    public var orders: [OrderTemplate]
    public var cooldownSeconds: Int?
    public var maxOrdersPerDay: Int?
    /// Largest notional of one order of this rule.
    public var maxOrderNotional: Decimal?
    /// Largest notional of this rule's orders in one UTC day.
    public var maxDailyNotional: Decimal?
    public var dryRun: Bool
    /// The file the rule came from.
    public var file: String
    /// Where the rule sits in its file (`/rules/3`).
    public var pointer: JSONPointer
}

/// A condition on the signal's payload.
public indirect enum Condition: Sendable {
    case all([Condition])
    case any([Condition])
    case not(Condition)
    case test(JSONPointer, Comparison)
}

/// A leaf test of the value at a pointer.
public enum Comparison: Sendable {
    case eq(JSONValue)
    case ne(JSONValue)
    case isIn([JSONValue])
    case notIn([JSONValue])
    case gt(Decimal)
    case gte(Decimal)
    case lt(Decimal)
    case lte(Decimal)
    case exists(Bool)
    /// The value's text matches the regular expression somewhere (anchor with `^…$` for the whole text).
    case matches(TextPattern)
}

/// A compiled regular expression from a rule file.
public final class TextPattern: @unchecked Sendable {
    // NSRegularExpression is immutable and documented as safe to use from several threads at once.
    private let expression: NSRegularExpression
    /// The pattern as written.
    public let source: String

    /// Compiles `source`; throws when it is not a valid regular expression.
    public init(_ source: String) throws {
        self.expression = try NSRegularExpression(pattern: source)
        self.source = source
    }

    /// Whether the pattern matches somewhere in `text`.
    public func matches(_ text: String) -> Bool {
        expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
}

/// A string that may interpolate payload values: `"${/event/asset}-USDT"`.
public struct Template: Sendable, Equatable {
    public enum Part: Sendable, Equatable {
        case literal(String)
        case value(JSONPointer)
    }
    public var parts: [Part]

    /// A template without references.
    public init(literal: String) { parts = [.literal(literal)] }

    /// Parses `${/pointer}` references; `$` not followed by `{` is literal.
    public init(_ text: String) throws(JSONPointerError) {
        var parts: [Part] = []
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            if start.lowerBound > rest.startIndex { parts.append(.literal(String(rest[..<start.lowerBound]))) }
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                throw JSONPointerError(text: String(rest[start.lowerBound...]), reason: "\"${\" is not closed by \"}\"")
            }
            parts.append(.value(try JSONPointer(String(rest[start.upperBound..<end]))))
            rest = rest[rest.index(after: end)...]
        }
        if !rest.isEmpty { parts.append(.literal(String(rest))) }
        self.parts = parts
    }

    /// The text with every reference replaced by the payload's value.
    /// - Throws: ``DecisionBlock`` when the payload has no scalar at a referenced pointer.
    public func render(_ payload: JSONValue) throws(DecisionBlock) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .literal(let s): out += s
            case .value(let pointer):
                guard let text = pointer.resolve(in: payload)?.scalarText else {
                    throw DecisionBlock("the payload has no text or number at \(pointer)")
                }
                out += text
            }
        }
        return out
    }

    /// The literal text, when the template has no reference.
    public var literal: String? {
        if parts.isEmpty { return "" }
        if parts.count == 1, case .literal(let s) = parts[0] { return s }
        return nil
    }
}

/// How much to order.
public enum SizeSpec: Sendable {
    /// A base-currency amount.
    case base(Decimal)
    /// A quote-currency amount to spend or receive.
    case quote(Decimal)
    /// A payload value, in base or quote units, capped at `max`.
    case pointer(JSONPointer, unit: SizeUnit, max: Decimal)
    /// A percentage (0 to 100] of the available balance of the currency the order spends.
    case percentOfAvailable(Decimal)
}

/// The unit of a size.
public enum SizeUnit: String, Sendable { case base, quote }

/// At what price (not for market orders).
public enum PriceSpec: Sendable {
    case fixed(Decimal)
    case pointer(JSONPointer)
    /// From the cached ticker, moved by `offsetBps` basis points (positive is higher).
    case from(PriceReference, offsetBps: Decimal)
}

/// Which ticker price a `from` price starts at.
public enum PriceReference: String, Sendable { case bid, ask, last }

/// One order a rule places.
public struct OrderTemplate: Sendable {
    public var instId: Template
    public var side: Template
    public var ordType: OrderType
    public var size: SizeSpec
    public var price: PriceSpec?
    /// Attached to the order, created by OKX once it is fully filled; for an `oco` or `conditional` algo order, its
    /// legs.
    public var takeProfit: AttachedExit? = nil
    public var stopLoss: AttachedExit? = nil
    /// When set, the template places this algo order (`trade/order-algo`), and `ordType` and `price` are those of
    /// the order it places when triggered.
    public var algo: AlgoTemplate? = nil
}

/// An attached take-profit or stop-loss (`{"trigger": PRICE, "order": "market" | PRICE}`).
public struct AttachedExit: Sendable {
    /// The price that triggers it.
    public var trigger: ExitPrice
    /// The limit price of the order it places; nil for a market order.
    public var order: ExitPrice?
}

/// A take-profit's or stop-loss's price.
public enum ExitPrice: Sendable {
    case fixed(Decimal)
    case pointer(JSONPointer)
    /// Percent (signed) of the order's reference price: its limit price, else the cached ticker's last.
    case offsetPercent(Decimal)
}

/// Why a matched rule places no order; the reason is journaled and returned to the sender.
public struct DecisionBlock: Error, Sendable, Equatable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
}
