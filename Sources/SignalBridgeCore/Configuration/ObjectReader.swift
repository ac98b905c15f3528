import Foundation

/// A mistake in a JSON document that a person wrote: a configuration or a rule file.
///
/// It names the file and the JSON Pointer of the mistake, so `rules check` and `serve` can say exactly where to look.
public struct DocumentError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file, when the document came from one.
    public var file: String?
    /// Where in the document.
    public var pointer: JSONPointer
    /// What is wrong, in words.
    public var message: String

    public init(file: String? = nil, pointer: JSONPointer, message: String) {
        self.file = file
        self.pointer = pointer
        self.message = message
    }

    public var description: String {
        let place = pointer.tokens.isEmpty ? "(document)" : pointer.description
        return "\(file.map { "\($0): " } ?? "")\(place): \(message)"
    }
}

/// Reads a JSON object field by field, refusing unknown keys and wrong types with the pointer of the mistake.
public struct ObjectReader {
    /// The object being read.
    public let object: JSONObject
    /// Where it sits in its document.
    public let pointer: JSONPointer

    /// Wraps `value`, which must be an object.
    public init(_ value: JSONValue, at pointer: JSONPointer, allowedKeys: Set<String>) throws(DocumentError) {
        guard let object = value.objectValue else {
            throw DocumentError(pointer: pointer, message: "expected an object, found \(value.typeName)")
        }
        for key in object.keys where !allowedKeys.contains(key) {
            let known = allowedKeys.sorted().joined(separator: ", ")
            throw DocumentError(pointer: pointer.appending(key), message: "unknown key \"\(key)\" (known keys: \(known))")
        }
        self.object = object
        self.pointer = pointer
    }

    /// Whether `key` is present.
    public func has(_ key: String) -> Bool { object[key] != nil }

    /// The raw value of `key`, if present.
    public func value(_ key: String) -> JSONValue? { object[key] }

    /// The raw value of a required key.
    public func required(_ key: String) throws(DocumentError) -> JSONValue {
        guard let value = object[key] else {
            throw DocumentError(pointer: pointer.appending(key), message: "required key \"\(key)\" is missing")
        }
        return value
    }

    /// A ``DocumentError`` at `key` of this object.
    public func error(_ key: String, _ message: String) -> DocumentError {
        DocumentError(pointer: pointer.appending(key), message: message)
    }

    /// An optional string.
    public func string(_ key: String) throws(DocumentError) -> String? {
        guard let value = object[key] else { return nil }
        guard let s = value.stringValue else { throw error(key, "expected a string, found \(value.typeName)") }
        return s
    }

    /// A required non-empty string.
    public func requiredString(_ key: String) throws(DocumentError) -> String {
        let value = try required(key)
        guard let s = value.stringValue, !s.isEmpty else {
            throw error(key, "expected a non-empty string, found \(value.typeName)")
        }
        return s
    }

    /// An optional boolean.
    public func bool(_ key: String) throws(DocumentError) -> Bool? {
        guard let value = object[key] else { return nil }
        guard let b = value.boolValue else { throw error(key, "expected true or false, found \(value.typeName)") }
        return b
    }

    /// An optional whole number within `range`.
    public func integer(_ key: String, in range: ClosedRange<Int>) throws(DocumentError) -> Int? {
        guard let value = object[key] else { return nil }
        guard case .number(let literal) = value, let n = Int(literal), range.contains(n) else {
            throw error(key, "expected a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return n
    }

    /// An exact decimal, written as a JSON number or a numeric string (strings are recommended for money).
    public func decimal(_ key: String) throws(DocumentError) -> Decimal? {
        guard let value = object[key] else { return nil }
        guard let d = value.decimalValue else {
            let found = value.scalarText.map { "\"\($0.prefix(40))\"" } ?? value.typeName
            throw error(key, "expected a decimal number such as \"0.01\" (\(DecimalText.acceptedRange)), found \(found)")
        }
        return d
    }

    /// A decimal that must be greater than zero.
    public func positiveDecimal(_ key: String) throws(DocumentError) -> Decimal? {
        guard let d = try decimal(key) else { return nil }
        guard d > 0 else { throw error(key, "must be greater than zero") }
        return d
    }

    /// A decimal that must be present and greater than zero.
    public func requiredPositiveDecimal(_ key: String) throws(DocumentError) -> Decimal {
        guard let d = try positiveDecimal(key) else { throw error(key, "required") }
        return d
    }

    /// An optional array of strings.
    public func stringArray(_ key: String) throws(DocumentError) -> [String]? {
        guard let value = object[key] else { return nil }
        guard let array = value.arrayValue else { throw error(key, "expected an array of strings") }
        var result: [String] = []
        for (i, element) in array.enumerated() {
            guard let s = element.stringValue else {
                throw DocumentError(pointer: pointer.appending(key).appending(i), message: "expected a string")
            }
            result.append(s)
        }
        return result
    }

    /// A JSON Pointer written as a string.
    public func jsonPointer(_ key: String) throws(DocumentError) -> JSONPointer? {
        guard let text = try string(key) else { return nil }
        do {
            return try JSONPointer(text)
        } catch {
            throw self.error(key, error.description)
        }
    }

    /// A nested object reader for `key`, if present.
    public func object(_ key: String, allowedKeys: Set<String>) throws(DocumentError) -> ObjectReader? {
        guard let value = object[key] else { return nil }
        return try ObjectReader(value, at: pointer.appending(key), allowedKeys: allowedKeys)
    }

    /// Readers for each element of an array of objects at `key`.
    public func objectArray(_ key: String, allowedKeys: Set<String>) throws(DocumentError) -> [ObjectReader]? {
        guard let value = object[key] else { return nil }
        guard let array = value.arrayValue else { throw error(key, "expected an array, found \(value.typeName)") }
        var readers: [ObjectReader] = []
        for (i, element) in array.enumerated() {
            readers.append(try ObjectReader(element, at: pointer.appending(key).appending(i), allowedKeys: allowedKeys))
        }
        return readers
    }
}
