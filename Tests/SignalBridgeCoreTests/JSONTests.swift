import Foundation
import Testing

@testable import SignalBridgeCore

@Suite struct JSONTests {
    @Test func numbersKeepTheirLiteralAndKeysTheirOrder() throws {
        let text = #"{"b":0.1,"a":[1,-2.50e3,true,null],"c":"x\"y\u00e9\ud83d\ude00"}"#
        let value = try JSONParser.parse(text)
        #expect(value.objectValue?.keys == ["b", "a", "c"])
        #expect(value[try JSONPointer("/b")] == .number("0.1"))
        #expect(value[try JSONPointer("/a/1")]?.decimalValue == Decimal(-2500))
        #expect(value[try JSONPointer("/c")]?.stringValue == "x\"yé😀")
        #expect(try JSONParser.parse(value.jsonText) == value)
        #expect(value.jsonText == #"{"b":0.1,"a":[1,-2.50e3,true,null],"c":"x\"yé😀"}"#)
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "+1", "NaN", "\"\u{01}\"", "{\"a\":1,\"a\":2}", "[1] 2",
        "\"\\ud800\"", "tru", "{'a':1}",
    ])
    func malformedDocumentsAreRefused(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test func invalidUTF8IsRefused() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xFF, 0x22]) }
    }

    @Test func nestingIsBounded() throws {
        let deep = String(repeating: "[", count: JSONParser.maxDepth + 1) + String(repeating: "]", count: JSONParser.maxDepth + 1)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        let fine = String(repeating: "[", count: JSONParser.maxDepth) + String(repeating: "]", count: JSONParser.maxDepth)
        _ = try JSONParser.parse(fine)
    }

    @Test func controlCharactersAreEscapedOnOutput() {
        #expect(JSONValue.string("a\nb\u{01}\u{2028}").jsonText == #""a\nb\u0001\u2028""#)
    }

    @Test func pointersFollowRFC6901() throws {
        let doc = try JSONParser.parse(#"{"a/b":{"m~n":[10,20]},"":1}"#)
        #expect(doc[try JSONPointer("/a~1b/m~0n/1")] == .number("20"))
        #expect(doc[try JSONPointer("/")] == .number("1"))
        #expect(doc[try JSONPointer("/a~1b/m~0n/01")] == nil)
        #expect(doc[try JSONPointer("/a~1b/m~0n/2")] == nil)
        #expect(throws: JSONPointerError.self) { try JSONPointer("a") }
        #expect(throws: JSONPointerError.self) { try JSONPointer("/~2") }
        #expect(try JSONPointer("/a~1b/m~0n").description == "/a~1b/m~0n")
    }

    @Test func removingAPointerStripsOnlyThatValue() throws {
        let doc = try JSONParser.parse(#"{"token":"s3cret","order":{"side":"buy"}}"#)
        #expect(try JSONPointer("/token").removing(from: doc).jsonText == #"{"order":{"side":"buy"}}"#)
        #expect(try JSONPointer("/missing").removing(from: doc) == doc)
    }
}

@Suite struct DecimalTextTests {
    @Test(arguments: ["12abc", "", " 1", "1 ", "0x10", "1e", "--1", "Infinity", "1,5"])
    func onlyNumberLiteralsParse(_ text: String) {
        #expect(DecimalText.parse(text) == nil)
    }

    @Test func parsingIsExact() {
        #expect(DecimalText.parse("0.1")! + DecimalText.parse("0.2")! == DecimalText.parse("0.3")!)
        #expect(DecimalText.parse("1e-8") == Decimal(string: "0.00000001"))
        #expect(DecimalText.format(DecimalText.parse("0.00010000")!) == "0.0001")
        #expect(DecimalText.format(DecimalText.parse("1e20")!) == "100000000000000000000")
    }

    @Test func roundingToSteps() {
        let lot = Decimal(string: "0.00000001")!
        #expect(Decimal(string: "0.123456789")!.rounded(toMultipleOf: lot, .down) == Decimal(string: "0.12345678"))
        #expect(Decimal(string: "60000.07")!.rounded(toMultipleOf: Decimal(string: "0.1")!, .up) == Decimal(string: "60000.1"))
        #expect(Decimal(string: "60000.07")!.rounded(toMultipleOf: Decimal(string: "0.1")!, .down) == Decimal(string: "60000"))
        #expect(Decimal(string: "0.0015")!.rounded(toMultipleOf: Decimal(string: "0.0005")!, .down) == Decimal(string: "0.0015"))
        #expect(Decimal(string: "0.3")!.isMultiple(of: Decimal(string: "0.1")!))
        #expect(!Decimal(string: "0.35")!.isMultiple(of: Decimal(string: "0.1")!))
    }
}

@Suite struct JSONFuzzTests {
    /// Random bytes and random JSON-ish text either parse and round-trip, or throw; they never crash.
    @Test func randomInputParsesOrThrows() throws {
        var rng = SplitMix64(state: 7)
        let alphabet = Array(#"{}[]":,0123456789.eE+-truefalsn \"\\u/abc"#.utf8)
        for round in 0..<5000 {
            let bytes: [UInt8] =
                round % 2 == 0
                ? (0..<Int.random(in: 0..<64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                : (0..<Int.random(in: 0..<64, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            if let value = try? JSONParser.parse(bytes) {
                #expect(try JSONParser.parse(value.jsonText) == value, "\(bytes)")
            }
        }
    }
}
