import Foundation

extension Condition {
    /// Whether `payload` satisfies this condition.
    public func matches(_ payload: JSONValue) -> Bool {
        switch self {
        case .all(let conditions): return conditions.allSatisfy { $0.matches(payload) }
        case .any(let conditions): return conditions.contains { $0.matches(payload) }
        case .not(let condition): return !condition.matches(payload)
        case .test(let pointer, let comparison): return comparison.holds(for: pointer.resolve(in: payload))
        }
    }
}

extension Comparison {
    /// Whether `value` (nil when the pointer names nothing) passes this test. Numbers compare as exact decimals,
    /// whether they arrive as JSON numbers or numeric strings.
    public func holds(for value: JSONValue?) -> Bool {
        switch self {
        case .exists(let expected): return (value != nil) == expected
        case .matches(let pattern): return value?.scalarText.map(pattern.matches) ?? false
        case .eq(let operand): return value.map { Self.equal($0, operand) } ?? false
        case .ne(let operand): return value.map { !Self.equal($0, operand) } ?? true
        case .isIn(let list): return value.map { v in list.contains { Self.equal(v, $0) } } ?? false
        case .notIn(let list): return value.map { v in !list.contains { Self.equal(v, $0) } } ?? true
        case .gt(let bound): return value?.decimalValue.map { $0 > bound } ?? false
        case .gte(let bound): return value?.decimalValue.map { $0 >= bound } ?? false
        case .lt(let bound): return value?.decimalValue.map { $0 < bound } ?? false
        case .lte(let bound): return value?.decimalValue.map { $0 <= bound } ?? false
        }
    }

    static func equal(_ value: JSONValue, _ operand: JSONValue) -> Bool {
        switch (value, operand) {
        case (.number, .number), (.number, .string), (.string, .number):
            guard let a = value.decimalValue, let b = operand.decimalValue else { return false }
            return a == b
        default:
            return value == operand
        }
    }
}
