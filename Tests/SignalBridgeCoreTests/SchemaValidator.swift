import Foundation

@testable import SignalBridgeCore

/// A small JSON Schema (draft 2020-12) validator for the keywords rules/schema.json uses, so a test can keep the
/// schema and the parser in step. CI also checks the examples with the independent Python `jsonschema` package.
struct SchemaValidator {
    let root: JSONObject

    /// Keywords this validator understands; the test fails if the schema uses another.
    static let keywords: Set<String> = [
        "$schema", "$id", "$defs", "$ref", "title", "description", "type", "properties", "required", "additionalProperties", "items",
        "minItems", "enum", "const", "anyOf", "oneOf", "not", "if", "then", "else", "pattern", "minLength", "minimum", "maximum",
        "exclusiveMinimum", "minProperties", "maxProperties",
    ]

    /// Every keyword used anywhere in the schema.
    func usedKeywords(_ schema: JSONValue? = nil) -> Set<String> {
        guard let object = (schema ?? .object(root)).objectValue else { return [] }
        var found = Set(object.keys)
        for (key, value) in object {
            switch key {
            case "properties", "$defs": value.objectValue?.forEach { found.formUnion(usedKeywords($0.value)) }
            case "anyOf", "oneOf": value.arrayValue?.forEach { found.formUnion(usedKeywords($0)) }
            case "items", "not", "if", "then", "else", "additionalProperties": found.formUnion(usedKeywords(value))
            default: break
            }
        }
        return found
    }

    func isValid(_ instance: JSONValue) -> Bool { validate(instance, against: .object(root)) }

    func resolve(_ reference: String) -> JSONValue {
        var value = JSONValue.object(root)
        for token in reference.dropFirst(2).split(separator: "/") { value = value.objectValue?[String(token)] ?? .null }
        return value
    }

    func validate(_ instance: JSONValue, against schema: JSONValue) -> Bool {
        if case .bool(let allowed) = schema { return allowed }
        guard let s = schema.objectValue else { return true }
        if let reference = s["$ref"]?.stringValue, !validate(instance, against: resolve(reference)) { return false }
        if let type = s["type"] {
            let types = type.arrayValue?.compactMap(\.stringValue) ?? [type.stringValue ?? ""]
            guard types.contains(where: { Self.has(instance, type: $0) }) else { return false }
        }
        if let options = s["enum"]?.arrayValue, !options.contains(where: { Comparison.equal(instance, $0) }) { return false }
        if let constant = s["const"], !Comparison.equal(instance, constant) { return false }
        if let options = s["anyOf"]?.arrayValue, !options.contains(where: { validate(instance, against: $0) }) { return false }
        if let options = s["oneOf"]?.arrayValue, options.filter({ validate(instance, against: $0) }).count != 1 { return false }
        if let negated = s["not"], validate(instance, against: negated) { return false }
        if let condition = s["if"] {
            let branch = validate(instance, against: condition) ? s["then"] : s["else"]
            if let branch, !validate(instance, against: branch) { return false }
        }
        switch instance {
        case .string(let text):
            if let pattern = s["pattern"]?.stringValue, (try? TextPattern(pattern))?.matches(text) != true { return false }
            if let minimum = s["minLength"]?.decimalValue, Decimal(text.count) < minimum { return false }
        case .number:
            let value = instance.decimalValue!
            if let minimum = s["minimum"]?.decimalValue, value < minimum { return false }
            if let maximum = s["maximum"]?.decimalValue, value > maximum { return false }
            if let minimum = s["exclusiveMinimum"]?.decimalValue, value <= minimum { return false }
        case .array(let elements):
            if let minimum = s["minItems"]?.decimalValue, Decimal(elements.count) < minimum { return false }
            if let items = s["items"], !elements.allSatisfy({ validate($0, against: items) }) { return false }
        case .object(let object):
            let required = s["required"]?.arrayValue?.compactMap(\.stringValue) ?? []
            if !required.allSatisfy({ object[$0] != nil }) { return false }
            if let minimum = s["minProperties"]?.decimalValue, Decimal(object.keys.count) < minimum { return false }
            if let maximum = s["maxProperties"]?.decimalValue, Decimal(object.keys.count) > maximum { return false }
            let properties = s["properties"]?.objectValue ?? JSONObject()
            for (key, value) in object {
                if let property = properties[key] {
                    if !validate(value, against: property) { return false }
                } else if let additional = s["additionalProperties"], !validate(value, against: additional) {
                    return false
                }
            }
        default:
            break
        }
        return true
    }

    static func has(_ instance: JSONValue, type: String) -> Bool {
        switch (type, instance) {
        case ("null", .null), ("boolean", .bool), ("number", .number), ("string", .string), ("array", .array), ("object", .object): return true
        case ("integer", .number(let literal)): return Int(literal) != nil
        default: return false
        }
    }
}
