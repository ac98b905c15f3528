import Foundation
import Testing

@testable import SignalBridgeCore

/// A small deterministic generator (SplitMix64): every run checks the same cases, and a failure names its seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Property-based checks of rounding and minimum sizes over random decimals and instrument specs.
@Suite struct RoundingPropertyTests {
    static let cases = 3000

    /// A step such as 0.00000001, 0.0005, 0.25 or 10: a digit 1, 2 or 5 times a power of ten.
    static func step(_ rng: inout SplitMix64) -> Decimal {
        let digit = [1, 2, 5].randomElement(using: &rng)!
        let exponent = Int.random(in: -8...1, using: &rng)
        return Decimal(sign: .plus, exponent: exponent, significand: Decimal(digit))
    }

    /// A positive decimal with up to 12 fractional digits, between 0.000000000001 and 1 000 000.
    static func amount(_ rng: inout SplitMix64) -> Decimal {
        let digits = Int.random(in: 1...15, using: &rng)
        var significand: Decimal = 0
        for _ in 0..<digits { significand = significand * 10 + Decimal(Int.random(in: 0...9, using: &rng)) }
        return Decimal(sign: .plus, exponent: -Int.random(in: 0...12, using: &rng), significand: max(significand, 1))
    }

    @Test func roundingStaysOnTheGridAndOnTheSafeSide() {
        var rng = SplitMix64(state: 20_261_125)
        for _ in 0..<Self.cases {
            let step = Self.step(&rng)
            let value = Self.amount(&rng)
            let down = value.rounded(toMultipleOf: step, .down)
            let up = value.rounded(toMultipleOf: step, .up)
            #expect(down.isMultiple(of: step) && up.isMultiple(of: step), "\(value) step \(step)")
            #expect(down <= value && value - down < step, "down \(value) step \(step) gave \(down)")
            #expect(up >= value && up - value < step, "up \(value) step \(step) gave \(up)")
            #expect(DecimalText.parse(DecimalText.format(down)) == down, "format \(down)")
            #expect(!DecimalText.format(down).contains("e"))
        }
    }

    /// Every order the builder makes is on the instrument's grid, at least its minimum, and priced on the passive
    /// side; it is blocked only when the rounded size is below the minimum or the price rounds to zero.
    @Test func builtOrdersAreAlwaysValidForTheInstrument() throws {
        var rng = SplitMix64(state: 42)
        for _ in 0..<Self.cases {
            let lot = Self.step(&rng)
            let tick = Self.step(&rng)
            let minSz = lot * Decimal(Int.random(in: 1...20, using: &rng))
            let instrument = Instrument(instId: "X-USDT", baseCcy: "X", quoteCcy: "USDT", tickSz: tick, lotSz: lot, minSz: minSz)
            var market = MarketSnapshot()
            market.instruments["X-USDT"] = instrument
            let builder = OrderBuilder(market: market, now: Date(), maxPriceAgeSeconds: 60)
            let side = Bool.random(using: &rng) ? "buy" : "sell"
            let size = Self.amount(&rng)
            let price = Self.amount(&rng)
            let template = try Fixture.rules(
                #"""
                {"rules":[{"id":"r","source":"s","when":{"pointer":"/x","exists":false},
                  "orders":[{"instId":"X-USDT","side":"\#(side)","ordType":"limit","size":{"base":"\#(DecimalText.format(size))"},"price":{"fixed":"\#(DecimalText.format(price))"}}]}]}
                """#
            ).rules[0].orders[0]
            let expectedSize = size.rounded(toMultipleOf: lot, .down)
            let expectedPrice = price.rounded(toMultipleOf: tick, side == "buy" ? .down : .up)
            do {
                let order = try builder.build(template, payload: .object(JSONObject()), clOrdId: "c").request
                #expect(
                    order.sz == expectedSize && order.sz.isMultiple(of: lot) && order.sz >= minSz,
                    "size \(size) lot \(lot) min \(minSz) gave \(order.sz)"
                )
                #expect(
                    order.px == expectedPrice && order.px!.isMultiple(of: tick),
                    "price \(price) tick \(tick) gave \(String(describing: order.px))"
                )
                #expect(side == "buy" ? order.px! <= price : order.px! >= price)
            } catch {
                #expect(expectedSize < minSz || expectedPrice == 0, "blocked \(error.reason) for size \(size) lot \(lot) min \(minSz) price \(price)")
            }
        }
    }
}
