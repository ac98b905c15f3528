import Foundation

/// An RFC 6901 JSON Pointer such as `/event/amount` or `/items/0`.
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible {
    /// The unescaped reference tokens.
    public let tokens: [String]

    /// Parses a pointer; `""` is the whole document.
    /// - Throws: ``JSONPointerError`` when the text is not a pointer.
    public init(_ text: String) throws(JSONPointerError) {
        if text.isEmpty {
            tokens = []
            return
        }
        guard text.hasPrefix("/") else { throw JSONPointerError(text: text, reason: "a JSON Pointer starts with '/'") }
        var result: [String] = []
        for raw in text.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            var token = ""
            var iterator = raw.makeIterator()
            while let c = iterator.next() {
                if c == "~" {
                    switch iterator.next() {
                    case "0": token.append("~")
                    case "1": token.append("/")
                    default: throw JSONPointerError(text: text, reason: "'~' must be followed by 0 or 1")
                    }
                } else {
                    token.append(c)
                }
            }
            result.append(token)
        }
        tokens = result
    }

    /// A pointer from already unescaped tokens.
    public init(tokens: [String]) { self.tokens = tokens }

    /// This pointer with one more token.
    public func appending(_ token: String) -> JSONPointer { JSONPointer(tokens: tokens + [token]) }

    /// This pointer with one more array index.
    public func appending(_ index: Int) -> JSONPointer { appending(String(index)) }

    public var description: String {
        tokens.map { "/" + $0.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1") }
            .joined()
    }

    /// The value this pointer names in `document`, or `nil` when there is none.
    public func resolve(in document: JSONValue) -> JSONValue? {
        var current = document
        for token in tokens {
            switch current {
            case .object(let object):
                guard let next = object[token] else { return nil }
                current = next
            case .array(let array):
                guard let index = Self.arrayIndex(token), index < array.count else { return nil }
                current = array[index]
            default:
                return nil
            }
        }
        return current
    }

    /// `document` with the value at this pointer removed (used to strip a body token before journaling).
    public func removing(from document: JSONValue) -> JSONValue {
        guard let first = tokens.first else { return document }
        let rest = JSONPointer(tokens: Array(tokens.dropFirst()))
        switch document {
        case .object(var object):
            guard let child = object[first] else { return document }
            object[first] = rest.tokens.isEmpty ? nil : rest.removing(from: child)
            return .object(object)
        case .array(var array):
            guard let index = Self.arrayIndex(first), index < array.count else { return document }
            if rest.tokens.isEmpty { array.remove(at: index) } else { array[index] = rest.removing(from: array[index]) }
            return .array(array)
        default:
            return document
        }
    }

    private static func arrayIndex(_ token: String) -> Int? {
        guard !token.isEmpty, token.allSatisfy(\.isASCII), token.allSatisfy(\.isNumber),
            token == "0" || !token.hasPrefix("0")
        else { return nil }
        return Int(token)
    }
}

/// Text that is not a JSON Pointer.
public struct JSONPointerError: Error, Sendable, Equatable, CustomStringConvertible {
    public let text: String
    public let reason: String
    public var description: String { "\"\(text)\" is not a JSON Pointer: \(reason)" }
}
