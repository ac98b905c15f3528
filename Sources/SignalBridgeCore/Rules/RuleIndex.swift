/// Which rules can match a payload at all, so that a signal is tested only against those. Most rules require one
/// field to be one literal (`{"pointer": "/action", "eq": "buy"}`, alone or in a top-level `all`): such a rule is found
/// through that field's value in the payload, resolved once for all the rules that test it; the others are always
/// tested. With 100 rules none of which match, a signal costs a few lookups instead of 100 evaluations.
struct RuleIndex: Sendable {
    /// The rules of one source that require `pointer` to equal a literal, by that literal.
    struct Keyed: Sendable {
        var pointer: JSONPointer
        var rulesByValue: [JSONValue: [Int]]
    }

    private var keyed: [String: [Keyed]] = [:]
    private var unkeyed: [String: [Int]] = [:]

    init(_ rules: [Rule]) {
        for (index, rule) in rules.enumerated() {
            guard let (pointer, value) = Self.requiredLiteral(rule.when) else {
                unkeyed[rule.source, default: []].append(index)
                continue
            }
            var groups = keyed[rule.source] ?? []
            if let group = groups.firstIndex(where: { $0.pointer == pointer }) {
                groups[group].rulesByValue[value, default: []].append(index)
            } else {
                groups.append(Keyed(pointer: pointer, rulesByValue: [value: [index]]))
            }
            keyed[rule.source] = groups
        }
    }

    /// The indices of the rules of `source` that `payload` could match, in rule order.
    func candidates(source: String, payload: JSONValue) -> [Int] {
        var found = unkeyed[source] ?? []
        for group in keyed[source] ?? [] {
            if let value = group.pointer.resolve(in: payload), let rules = group.rulesByValue[value] { found += rules }
        }
        return found.sorted()
    }

    /// A field `condition` requires to equal a literal that compares by plain equality (not a number, nor a string
    /// that reads as one: those compare as decimals), when there is one at its top level.
    static func requiredLiteral(_ condition: Condition) -> (JSONPointer, JSONValue)? {
        switch condition {
        case .test(let pointer, .eq(let value)):
            switch value {
            case .string, .bool, .null: return value.decimalValue == nil ? (pointer, value) : nil
            case .number, .array, .object: return nil
            }
        case .all(let conditions):
            return conditions.lazy.compactMap(requiredLiteral).first
        case .test, .any, .not:
            return nil
        }
    }
}
