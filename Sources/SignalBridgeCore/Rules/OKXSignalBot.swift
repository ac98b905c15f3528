import Foundation

/// OKX Signal Bot alert messages (`"format": "okx-signal-bot"` on a source), mapped to spot orders without a rule
/// file, so alerts written for OKX's Signal Bot can point at signalbridge unchanged.
///
/// - `action`: `ENTER_LONG` buys, `EXIT_LONG` sells; short actions are refused (spot cannot short).
/// - `instrument`: an OKX spot instId (`BTC-USDT`) or TradingView's `{{ticker}}` (`BTCUSDT`).
/// - `investmentType` + `amount`: `base` (base amount), `margin` (quote amount), `percentage_balance` (percent of
///   the available balance of the currency spent), `percentage_position` (percent of the held base currency, for
///   `EXIT_LONG`). Without them, `EXIT_LONG` sells the whole held base (as a Signal Bot closes the position) and
///   `ENTER_LONG` is refused: signalbridge never guesses how much to buy.
/// - `orderType`: `market` (default) or `limit` at the last price moved by `orderPriceOffset` percent to the
///   passive side (buys below, sells above).
/// - `timestamp` + `maxLag` (seconds, default 60): older signals are refused with 422.
public enum OKXSignalBot {
    /// The rule id decisions of signal-bot sources carry.
    public static let ruleId = "okx-signal-bot"
    /// Where the signal's time is.
    public static let timestampPointer = JSONPointer(tokens: ["timestamp"])
    /// The lag OKX's Signal Bot allows when `maxLag` is absent.
    public static let defaultMaxLag = 60

    /// The `maxLag` values accepted, in seconds.
    public static let maxLagRange = 1...86400

    /// The `maxLag` of a payload, in seconds; ``defaultMaxLag`` when absent, nil when it is not a whole number of
    /// seconds in ``maxLagRange``.
    public static func maxLag(_ payload: JSONValue) -> Int? {
        guard let value = payload[JSONPointer(tokens: ["maxLag"])] else { return defaultMaxLag }
        return value.wholeNumber(in: maxLagRange)
    }

    /// The rule that stands for one signal-bot message.
    /// - Throws: ``DecisionBlock`` saying what in the message cannot become a spot order.
    public static func rule(for payload: JSONValue, source: String, instruments: [String: Instrument]) throws(DecisionBlock) -> Rule {
        func text(_ key: String) -> String? { payload[JSONPointer(tokens: [key])]?.scalarText.flatMap { $0.isEmpty ? nil : $0 } }
        guard let action = text("action")?.uppercased() else { throw DecisionBlock("okx-signal-bot: the message has no action") }
        let side: OrderSide
        switch action {
        case "ENTER_LONG": side = .buy
        case "EXIT_LONG": side = .sell
        case "ENTER_SHORT", "EXIT_SHORT": throw DecisionBlock("okx-signal-bot: \(action) needs a short position; spot orders can only be long")
        default: throw DecisionBlock("okx-signal-bot: unknown action \(action)")
        }
        guard let instrument = text("instrument") else { throw DecisionBlock("okx-signal-bot: the message has no instrument") }
        let instId = try spotInstrument(instrument, known: instruments)
        let size = try size(side: side, investmentType: text("investmentType"), amount: text("amount"))
        var ordType = OrderType.market
        var price: PriceSpec?
        switch text("orderType")?.lowercased() ?? "market" {
        case "market": break
        case "limit":
            ordType = .limit
            let offsetValue = payload[JSONPointer(tokens: ["orderPriceOffset"])]
            guard let offset = offsetValue == nil ? 0 : offsetValue?.decimalValue, offset >= 0, offset < 100 else {
                throw DecisionBlock("okx-signal-bot: orderPriceOffset must be a number from 0 to 100 (percent)")
            }
            price = .from(.last, offsetBps: (side == .buy ? -offset : offset) * 100)
        case let other: throw DecisionBlock("okx-signal-bot: unknown orderType \(other)")
        }
        let template = OrderTemplate(
            instId: Template(literal: instId),
            side: Template(literal: side.rawValue),
            ordType: ordType,
            size: size,
            price: price
        )
        return Rule(
            id: ruleId,
            description: "OKX Signal Bot message",
            source: source,
            when: .all([]),
            orders: [template],
            cooldownSeconds: nil,
            maxOrdersPerDay: nil,
            maxOrderNotional: nil,
            maxDailyNotional: nil,
            dryRun: false,
            file: "(okx-signal-bot)",
            pointer: JSONPointer(tokens: [])
        )
    }

    static func size(side: OrderSide, investmentType: String?, amount: String?) throws(DecisionBlock) -> SizeSpec {
        guard let investmentType else {
            guard side == .sell else {
                throw DecisionBlock("okx-signal-bot: ENTER_LONG needs investmentType and amount (signalbridge never guesses a size)")
            }
            return .percentOfAvailable(100)
        }
        guard let amountText = amount, let value = DecimalText.parse(amountText), value > 0 else {
            throw DecisionBlock(
                "okx-signal-bot: amount must be a positive number for investmentType \(investmentType) (\(DecimalText.acceptedRange))"
            )
        }
        switch investmentType {
        case "base": return .base(value)
        case "margin": return .quote(value)
        case "percentage_balance", "percentage_position":
            guard value <= 100 else { throw DecisionBlock("okx-signal-bot: a percentage amount is at most 100") }
            guard investmentType == "percentage_balance" || side == .sell else {
                throw DecisionBlock("okx-signal-bot: percentage_position sizes an EXIT_LONG, not an ENTER_LONG")
            }
            return .percentOfAvailable(value)
        default:
            throw DecisionBlock(
                "okx-signal-bot: investmentType \(investmentType) is not supported for spot (use base, margin, percentage_balance or percentage_position)"
            )
        }
    }

    /// The spot instId for `BTC-USDT`, `btc-usdt` or TradingView's `BTCUSDT`.
    static func spotInstrument(_ text: String, known: [String: Instrument]) throws(DecisionBlock) -> String {
        let wanted = text.uppercased()
        if known[wanted] != nil { return wanted }
        if let match = known.keys.first(where: { $0.replacingOccurrences(of: "-", with: "") == wanted }) { return match }
        throw DecisionBlock("okx-signal-bot: \(text) is not a known spot instrument")
    }
}
