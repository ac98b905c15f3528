import Foundation

/// Reads rule files, reporting every mistake with the file, the rule id and the JSON Pointer.
public enum RuleParser {
    static let ruleKeys: Set<String> = [
        "id", "description", "source", "when", "orders", "cooldownSeconds", "maxOrdersPerDay", "maxOrderNotional",
        "maxDailyNotional", "dryRun",
    ]
    static let orderKeys: Set<String> = [
        "instId", "side", "ordType", "size", "price", "takeProfit", "stopLoss", "trigger", "order", "callbackRatio", "callbackSpread",
        "activePx",
    ]
    /// The keys only an algo order of one type takes.
    static let algoKeys: [AlgoOrderType: Set<String>] = [
        .trigger: ["trigger", "order"], .trailingStop: ["callbackRatio", "callbackSpread", "activePx"],
        .oco: ["takeProfit", "stopLoss"], .conditional: ["takeProfit", "stopLoss"],
    ]
    static let exitKeys: Set<String> = ["trigger", "order"]
    static let exitPriceKeys: Set<String> = ["fixed", "pointer", "offsetPercent"]
    static let sizeKeys: Set<String> = ["base", "quote", "pointer", "unit", "max", "percentOfAvailable"]
    static let priceKeys: Set<String> = ["fixed", "pointer", "from", "offsetBps"]
    static let comparisonKeys = ["eq", "ne", "in", "nin", "gt", "gte", "lt", "lte", "exists", "matches"]

    /// Parses one rule file's document.
    /// - Returns: the rules, or every error found (one per rule at most, so one bad rule does not hide another).
    public static func parse(_ document: JSONValue, file: String) -> Result<[Rule], RuleFileErrors> {
        var errors: [DocumentError] = []
        var rules: [Rule] = []
        do throws(DocumentError) {
            let root = try ObjectReader(document, at: JSONPointer(tokens: []), allowedKeys: ["rules", "$schema"])
            guard let array = try root.required("rules").arrayValue else {
                throw root.error("rules", "expected an array of rules")
            }
            for (index, element) in array.enumerated() {
                do throws(DocumentError) {
                    rules.append(try parseRule(element, at: JSONPointer(tokens: ["rules", String(index)]), file: file))
                } catch {
                    var located = error
                    located.file = file
                    if let id = element.objectValue?["id"]?.stringValue { located.message = "rule \"\(id)\": " + located.message }
                    errors.append(located)
                }
            }
        } catch {
            var located = error
            located.file = file
            errors.append(located)
        }
        return errors.isEmpty ? .success(rules) : .failure(RuleFileErrors(errors: errors))
    }

    static func parseRule(_ value: JSONValue, at pointer: JSONPointer, file: String) throws(DocumentError) -> Rule {
        let reader = try ObjectReader(value, at: pointer, allowedKeys: ruleKeys)
        let id = try reader.requiredString("id")
        guard id.count <= 64, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
            throw reader.error("id", "a rule id holds up to 64 letters, digits, '-', '_' or '.'")
        }
        guard let orders = reader.value("orders")?.arrayValue, !orders.isEmpty else {
            throw reader.error("orders", "required: a non-empty array of orders")
        }
        var templates: [OrderTemplate] = []
        for (i, order) in orders.enumerated() {
            templates.append(try parseOrder(order, at: pointer.appending("orders").appending(i)))
        }
        return Rule(
            id: id,
            description: try reader.string("description"),
            source: try reader.requiredString("source"),
            when: try parseCondition(try reader.required("when"), at: pointer.appending("when")),
            orders: templates,
            cooldownSeconds: try reader.integer("cooldownSeconds", in: 0...31_536_000),
            maxOrdersPerDay: try reader.integer("maxOrdersPerDay", in: 0...1_000_000),
            maxOrderNotional: try reader.positiveDecimal("maxOrderNotional"),
            maxDailyNotional: try reader.positiveDecimal("maxDailyNotional"),
            dryRun: try reader.bool("dryRun") ?? false,
            file: file,
            pointer: pointer
        )
    }

    static func parseCondition(_ value: JSONValue, at pointer: JSONPointer) throws(DocumentError) -> Condition {
        guard let object = value.objectValue else {
            throw DocumentError(pointer: pointer, message: "expected a condition object, found \(value.typeName)")
        }
        if object.members.count == 1, let (key, child) = object.members.first, ["all", "any", "not"].contains(key) {
            if key == "not" { return .not(try parseCondition(child, at: pointer.appending("not"))) }
            guard let list = child.arrayValue else {
                throw DocumentError(pointer: pointer.appending(key), message: "expected an array of conditions")
            }
            var conditions: [Condition] = []
            for (i, element) in list.enumerated() {
                conditions.append(try parseCondition(element, at: pointer.appending(key).appending(i)))
            }
            return key == "all" ? .all(conditions) : .any(conditions)
        }
        let reader = try ObjectReader(value, at: pointer, allowedKeys: Set(comparisonKeys + ["pointer"]))
        guard let target = try reader.jsonPointer("pointer") else {
            throw DocumentError(
                pointer: pointer,
                message: "a condition is {\"all\": [...]}, {\"any\": [...]}, {\"not\": {...}} or {\"pointer\": \"/path\", OP: VALUE}"
            )
        }
        let operators = comparisonKeys.filter(reader.has)
        guard operators.count == 1, let op = operators.first, let operand = reader.value(op) else {
            throw DocumentError(pointer: pointer, message: "give exactly one of \(comparisonKeys.joined(separator: ", "))")
        }
        func decimal() throws(DocumentError) -> Decimal {
            guard let d = operand.decimalValue else {
                throw reader.error(op, "\(op) compares numbers: write a decimal such as \"1000\"")
            }
            return d
        }
        func list() throws(DocumentError) -> [JSONValue] {
            guard let a = operand.arrayValue else { throw reader.error(op, "\(op) takes an array of values") }
            return a
        }
        switch op {
        case "eq": return .test(target, .eq(operand))
        case "ne": return .test(target, .ne(operand))
        case "in": return .test(target, .isIn(try list()))
        case "nin": return .test(target, .notIn(try list()))
        case "gt": return .test(target, .gt(try decimal()))
        case "gte": return .test(target, .gte(try decimal()))
        case "lt": return .test(target, .lt(try decimal()))
        case "lte": return .test(target, .lte(try decimal()))
        case "matches":
            guard let pattern = operand.stringValue else { throw reader.error(op, "matches takes a regular expression as a string") }
            do {
                return .test(target, .matches(try TextPattern(pattern)))
            } catch {
                throw reader.error(op, "\"\(pattern)\" is not a valid regular expression")
            }
        default:
            guard let b = operand.boolValue else { throw reader.error(op, "exists takes true or false") }
            return .test(target, .exists(b))
        }
    }

    static func parseOrder(_ value: JSONValue, at pointer: JSONPointer) throws(DocumentError) -> OrderTemplate {
        let reader = try ObjectReader(value, at: pointer, allowedKeys: orderKeys)
        func template(_ key: String) throws(DocumentError) -> Template {
            do {
                return try Template(try reader.requiredString(key))
            } catch let error as JSONPointerError {
                throw reader.error(key, error.description)
            } catch let error as DocumentError {
                throw error
            } catch {
                throw reader.error(key, "\(error)")
            }
        }
        let instId = try template("instId")
        let side = try template("side")
        if let literal = side.literal, OrderSide(rawValue: literal) == nil {
            throw reader.error("side", "expected \"buy\" or \"sell\"")
        }
        let typeText = try reader.requiredString("ordType")
        let algoType = AlgoOrderType(rawValue: typeText)
        guard let ordType = OrderType(rawValue: typeText) ?? algoType.map({ _ in .market }) else {
            let all = (OrderType.allCases.map(\.rawValue) + AlgoOrderType.allCases.map(\.rawValue)).joined(separator: ", ")
            throw reader.error("ordType", "unknown order type \"\(typeText)\" (use \(all))")
        }
        let size = try parseSize(try reader.required("size"), at: pointer.appending("size"))
        // An order's take-profit and stop-loss are attached to it; the other algo fields belong to algo orders.
        let allowed = algoType.flatMap { algoKeys[$0] } ?? ["takeProfit", "stopLoss"]
        for key in Set(algoKeys.values.joined()).sorted() where reader.has(key) && !allowed.contains(key) {
            let owners = AlgoOrderType.allCases.filter { algoKeys[$0]?.contains(key) ?? false }.map(\.rawValue).joined(separator: " or ")
            throw reader.error(key, "a \(typeText) order takes no \(key) (a \(owners) order does)")
        }
        if let algoType {
            return try parseAlgoOrder(reader, algoType, instId: instId, side: side, size: size, at: pointer)
        }
        var price: PriceSpec?
        if let priceValue = reader.value("price") {
            guard ordType.needsPrice else { throw reader.error("price", "a market order takes no price") }
            price = try parsePrice(priceValue, at: pointer.appending("price"))
        } else if ordType.needsPrice {
            throw reader.error("price", "required for a \(ordType.rawValue) order")
        }
        var order = OrderTemplate(instId: instId, side: side, ordType: ordType, size: size, price: price)
        for key in ["takeProfit", "stopLoss"] {
            guard let exitValue = reader.value(key) else { continue }
            let exit = try parseExit(exitValue, at: pointer.appending(key), takeProfit: key == "takeProfit")
            let literalSide = side.literal.flatMap(OrderSide.init(rawValue:))
            if let refusal = attachRefusal(order, side: literalSide) { throw reader.error(key, refusal) }
            try checkTriggerSide(exit, key: key, exitsOf: literalSide, subject: "a \(literalSide?.rawValue ?? "")'s", at: pointer)
            if key == "takeProfit" { order.takeProfit = exit } else { order.stopLoss = exit }
        }
        return order
    }

    /// An algo order (`trigger`, `move_order_stop`, `oco`, `conditional`): the order it places is a market order, or a
    /// limit order at a `trigger`'s `order` price.
    static func parseAlgoOrder(
        _ reader: ObjectReader,
        _ type: AlgoOrderType,
        instId: Template,
        side: Template,
        size: SizeSpec,
        at pointer: JSONPointer
    ) throws(DocumentError) -> OrderTemplate {
        if reader.has("price") {
            throw reader.error("price", "an algo order takes no price: it places a market order (a trigger's limit price is its \"order\")")
        }
        var order = OrderTemplate(instId: instId, side: side, ordType: .market, size: size, price: nil)
        let literalSide = side.literal.flatMap(OrderSide.init(rawValue:))
        switch type {
        case .trigger:
            guard let trigger = reader.value("trigger") else { throw reader.error("trigger", "required: the last price that triggers the order") }
            let triggerPrice = try parseExitPrice(trigger, at: pointer.appending("trigger"))
            let orderValue = try reader.required("order")
            var limit: ExitPrice?
            if orderValue.stringValue != "market" {
                guard orderValue.objectValue != nil else {
                    throw reader.error("order", "expected \"market\" or a price ({\"fixed\": D}, {\"pointer\": P} or {\"offsetPercent\": N})")
                }
                limit = try parseExitPrice(orderValue, at: pointer.appending("order"))
            }
            order.algo = .stop(trigger: triggerPrice, order: limit)
        case .trailingStop:
            let given = ["callbackRatio", "callbackSpread"].filter(reader.has)
            guard given.count == 1 else {
                throw DocumentError(
                    pointer: pointer,
                    message: "a move_order_stop takes exactly one of callbackRatio (a fraction, 0.01 is 1 %) and callbackSpread (a price distance)"
                )
            }
            let callback: TrailingCallback
            if given[0] == "callbackRatio" {
                let ratio = try reader.requiredPositiveDecimal("callbackRatio")
                guard ratio < 1 else { throw reader.error("callbackRatio", "a fraction of the best price, above 0 and below 1 (0.01 is 1 %)") }
                callback = .ratio(ratio)
            } else {
                callback = .spread(try reader.requiredPositiveDecimal("callbackSpread"))
            }
            let activation = try reader.value("activePx").map { value throws(DocumentError) in
                try parseExitPrice(value, at: pointer.appending("activePx"))
            }
            order.algo = .trailingStop(callback, activation: activation)
        case .oco, .conditional:
            let given = ["takeProfit", "stopLoss"].filter(reader.has)
            guard type == .oco ? given.count == 2 : given.count == 1 else {
                throw DocumentError(
                    pointer: pointer,
                    message: type == .oco
                        ? "an oco takes both takeProfit and stopLoss" : "a conditional takes exactly one of takeProfit and stopLoss (both: use oco)"
                )
            }
            for key in given {
                let exit = try parseExit(try reader.required(key), at: pointer.appending(key), takeProfit: key == "takeProfit")
                // A sell's take-profit is above the price and its stop-loss below; a buy's the other way round.
                let subject = "a \(side.literal ?? "") \(type.rawValue)'s"
                try checkTriggerSide(exit, key: key, exitsOf: literalSide?.opposite, subject: subject, at: pointer)
                if key == "takeProfit" { order.takeProfit = exit } else { order.stopLoss = exit }
            }
            order.algo = .exits(type)
        }
        return order
    }

    /// Refuses a percent trigger on the wrong side, which would block every signal: the exits of a buy (`exitsOf`)
    /// take profit above the reference price and stop the loss below; a sell's the other way round.
    /// - Parameter subject: whose exit it is, for the message (`a buy's`).
    static func checkTriggerSide(
        _ exit: AttachedExit,
        key: String,
        exitsOf side: OrderSide?,
        subject: String,
        at pointer: JSONPointer
    ) throws(DocumentError) {
        guard case .offsetPercent(let percent) = exit.trigger, let side else { return }
        let above = (side == .buy) == (key == "takeProfit")
        guard (percent > 0) != above else { return }
        throw DocumentError(
            pointer: pointer.appending(key).appending("trigger").appending("offsetPercent"),
            message:
                "\(subject) \(key == "takeProfit" ? "take-profit" : "stop-loss") triggers \(above ? "above" : "below") the reference price: the percentage must be \(above ? "positive" : "negative")"
        )
    }

    /// Why OKX refuses a take-profit or stop-loss on `order`, when it does: on a market buy sized in base currency or
    /// a market sell sized in quote (`side` nil: not known before the signal; the decision checks it then).
    public static func attachRefusal(_ order: OrderTemplate, side: OrderSide?) -> String? {
        guard order.ordType == .market, let side else { return nil }
        let unit: SizeUnit?
        switch order.size {
        case .base: unit = .base
        case .quote: unit = .quote
        case .pointer(_, let sizeUnit, _): unit = sizeUnit
        case .percentOfAvailable: unit = nil
        }
        switch (side, unit) {
        case (.buy, .base?):
            return "OKX attaches no take-profit or stop-loss to a market buy sized in base currency (tgtCcy base_ccy): size it in quote"
        case (.sell, .quote?):
            return "OKX attaches no take-profit or stop-loss to a market sell sized in quote currency (tgtCcy quote_ccy): size it in base"
        default: return nil
        }
    }

    static func parseExit(_ value: JSONValue, at pointer: JSONPointer, takeProfit: Bool) throws(DocumentError) -> AttachedExit {
        let reader = try ObjectReader(value, at: pointer, allowedKeys: exitKeys)
        guard let trigger = reader.value("trigger") else {
            throw reader.error(
                "trigger",
                takeProfit
                    ? "required: OKX refuses take-profit limit orders on spot (51094); a take-profit is a trigger price and the order it places"
                    : "required: the price that triggers the stop-loss"
            )
        }
        let triggerPrice = try parseExitPrice(trigger, at: pointer.appending("trigger"))
        let orderValue = try reader.required("order")
        if orderValue.stringValue == "market" { return AttachedExit(trigger: triggerPrice, order: nil) }
        guard orderValue.objectValue != nil else {
            throw reader.error("order", "expected \"market\" or a price ({\"fixed\": D}, {\"pointer\": P} or {\"offsetPercent\": N})")
        }
        return AttachedExit(trigger: triggerPrice, order: try parseExitPrice(orderValue, at: pointer.appending("order")))
    }

    static func parseExitPrice(_ value: JSONValue, at pointer: JSONPointer) throws(DocumentError) -> ExitPrice {
        let reader = try ObjectReader(value, at: pointer, allowedKeys: exitPriceKeys)
        switch try priceMode(reader, at: pointer, third: "offsetPercent") {
        case .fixed(let price): return .fixed(price)
        case .pointer(let pricePointer): return .pointer(pricePointer)
        case .third:
            guard let percent = try reader.decimal("offsetPercent"), percent > -100, percent <= 1000, percent != 0 else {
                throw reader.error("offsetPercent", "a percentage of the reference price, above -100 and at most 1000, not 0")
            }
            return .offsetPercent(percent)
        }
    }

    /// How a price object gives its price: `fixed`, `pointer`, or the kind's own third way.
    private enum PriceMode {
        case fixed(Decimal)
        case pointer(JSONPointer)
        case third
    }

    /// The one way `reader`'s price object gives its price, among `fixed`, `pointer` and `third`.
    private static func priceMode(_ reader: ObjectReader, at pointer: JSONPointer, third: String) throws(DocumentError) -> PriceMode {
        let modes = ["fixed", "pointer", third].filter(reader.has)
        guard modes.count == 1 else { throw DocumentError(pointer: pointer, message: "give exactly one of fixed, pointer, \(third)") }
        switch modes[0] {
        case "fixed": return .fixed(try reader.requiredPositiveDecimal("fixed"))
        case "pointer":
            guard let pricePointer = try reader.jsonPointer("pointer") else { throw reader.error("pointer", "required") }
            return .pointer(pricePointer)
        default: return .third
        }
    }

    static func parseSize(_ value: JSONValue, at pointer: JSONPointer) throws(DocumentError) -> SizeSpec {
        let reader = try ObjectReader(value, at: pointer, allowedKeys: sizeKeys)
        let modes = ["base", "quote", "pointer", "percentOfAvailable"].filter(reader.has)
        guard modes.count == 1 else {
            throw DocumentError(pointer: pointer, message: "give exactly one of base, quote, percentOfAvailable, pointer (with unit and max)")
        }
        switch modes[0] {
        case "base": return .base(try reader.requiredPositiveDecimal("base"))
        case "quote": return .quote(try reader.requiredPositiveDecimal("quote"))
        case "pointer":
            let unitText = try reader.requiredString("unit")
            guard let unit = SizeUnit(rawValue: unitText) else { throw reader.error("unit", "expected \"base\" or \"quote\"") }
            guard let max = try reader.positiveDecimal("max") else {
                throw reader.error("max", "required with a pointer size: the largest size this rule may order")
            }
            guard let sizePointer = try reader.jsonPointer("pointer") else { throw reader.error("pointer", "required") }
            return .pointer(sizePointer, unit: unit, max: max)
        default:
            let percent = try reader.requiredPositiveDecimal("percentOfAvailable")
            guard percent <= 100 else { throw reader.error("percentOfAvailable", "a percentage is at most 100") }
            return .percentOfAvailable(percent)
        }
    }

    static func parsePrice(_ value: JSONValue, at pointer: JSONPointer) throws(DocumentError) -> PriceSpec {
        let reader = try ObjectReader(value, at: pointer, allowedKeys: priceKeys)
        switch try priceMode(reader, at: pointer, third: "from") {
        case .fixed(let price): return .fixed(price)
        case .pointer(let pricePointer): return .pointer(pricePointer)
        case .third:
            let text = try reader.requiredString("from")
            guard let reference = PriceReference(rawValue: text) else {
                throw reader.error("from", "expected \"bid\", \"ask\" or \"last\"")
            }
            let offset = try reader.decimal("offsetBps") ?? 0
            guard offset > -10000, offset < 10000 else { throw reader.error("offsetBps", "must be between -10000 and 10000") }
            return .from(reference, offsetBps: offset)
        }
    }
}

/// Every error found in one rule file.
public struct RuleFileErrors: Error, Sendable {
    public var errors: [DocumentError]
}
