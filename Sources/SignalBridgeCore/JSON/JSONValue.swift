import Foundation

/// A JSON value that keeps what JSON says exactly.
///
/// Numbers keep their literal text, so a price such as `0.1` is never rounded through binary floating point,
/// and objects keep their keys in order, so a journal line or an OKX body is written the same way every time.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// A number, as its literal text (validated by the parser).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// A number from an exact decimal.
    public static func decimal(_ value: Decimal) -> JSONValue { .number(DecimalText.format(value)) }

    /// A number from an integer.
    public static func integer(_ value: Int) -> JSONValue { .number(String(value)) }

    /// The string, when this is a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The object, when this is an object.
    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// The array, when this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The boolean, when this is a boolean.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The exact decimal of a number or of a numeric string (`"0.5"`), as senders use both.
    public var decimalValue: Decimal? {
        switch self {
        case .number(let literal): return DecimalText.parse(literal)
        case .string(let s): return DecimalText.parse(s)
        default: return nil
        }
    }

    /// The whole number of a number or numeric string within `range` (`60`, `"60"`, `6e1`); nil for a fraction, a
    /// value out of range or anything else. Never traps, whatever the value.
    public func wholeNumber(in range: ClosedRange<Int>) -> Int? {
        guard let decimal = decimalValue, decimal.isMultiple(of: 1), let whole = Int(DecimalText.format(decimal)) else { return nil }
        return range.contains(whole) ? whole : nil
    }

    /// The text a value stands for when interpolated or used as an id: strings as they are, numbers as written.
    public var scalarText: String? {
        switch self {
        case .string(let s): return s
        case .number(let n): return n
        case .bool(let b): return b ? "true" : "false"
        default: return nil
        }
    }

    /// A short name of the value's JSON type, for error messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// Where in this value a number is not a JSON number literal (`NaN`, `inf`, a `Decimal` that overflowed), if
    /// anywhere: such a number must never be written.
    public var invalidNumberPointer: JSONPointer? {
        func find(_ value: JSONValue, _ path: inout [String]) -> Bool {
            switch value {
            case .number(let literal): return !DecimalText.isNumberLiteral(literal)
            case .array(let elements):
                for (index, element) in elements.enumerated() {
                    path.append(String(index))
                    if find(element, &path) { return true }
                    path.removeLast()
                }
                return false
            case .object(let object):
                for member in object.members {
                    path.append(member.key)
                    if find(member.value, &path) { return true }
                    path.removeLast()
                }
                return false
            case .null, .bool, .string: return false
            }
        }
        var path: [String] = []
        return find(self, &path) ? JSONPointer(tokens: path) : nil
    }

    /// The value at a JSON Pointer, if there is one.
    public subscript(pointer: JSONPointer) -> JSONValue? {
        pointer.resolve(in: self)
    }
}

/// A JSON object whose keys keep the order in which they were read or added.
public struct JSONObject: Sendable, Hashable, Sequence {
    /// The members, in order.
    public private(set) var members: [(key: String, value: JSONValue)]

    public init(_ members: [(String, JSONValue)] = []) {
        self.members = members.map { (key: $0.0, value: $0.1) }
    }

    /// The value of `key`; setting `nil` removes it, setting a new key appends it.
    public subscript(key: String) -> JSONValue? {
        get { members.first(where: { $0.key == key })?.value }
        set {
            if let index = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[index].value = newValue } else { members.remove(at: index) }
            } else if let newValue {
                members.append((key: key, value: newValue))
            }
        }
    }

    /// The keys, in order.
    public var keys: [String] { members.map(\.key) }

    public func makeIterator() -> IndexingIterator<[(key: String, value: JSONValue)]> { members.makeIterator() }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.members.count == rhs.members.count
            && zip(lhs.members, rhs.members).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for member in members {
            hasher.combine(member.key)
            hasher.combine(member.value)
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral, ExpressibleByIntegerLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(JSONObject(elements)) }
    public init(integerLiteral value: Int) { self = .number(String(value)) }
}
