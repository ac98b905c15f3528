import Foundation
import SignalBridgeCore

extension WebhookFuzzHarness {
    /// Texts at the edges of Int, Int64, Double and Decimal, and forms that only look like numbers.
    public static let edgeNumbers = [
        "-9223372036854775808", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        "18446744073709551616", "1e20", "-1e20", "1e308", "1e309", "-1e309", "1e-400", "3e164", "1e127", "1e128",
        "340282366920938463463374607431768211456", "0", "-0", "0.0", "-1", "1e-30", "1e-31", "NaN", "nan", "Infinity",
        "-Infinity", "inf", "0x10", " 1", "1 ", "+1", "1.", ".5", "1e", "", "12abc", "١٢", "1e99999999999999999999",
        "0.000000000000000000000000000000000000000000000001", "99999999999999999999999999999999999999999999",
    ]

    static let timestampHeaders = ["webhook-timestamp", "svix-timestamp", "X-Ts", "X-QN-Timestamp", "Date", "Stripe-Signature"]
    static let seedNumbers = ["59000", "0.001", "0.75", "2500", "3100", "0.5", "50", "60", "1000", "42", "{{timenow}}", "0.002", "2900"]

    /// One random mutation of a random seed: edge numbers in the body and in timestamp headers, flags, bytes.
    public static func mutant<R: RandomNumberGenerator>(_ rng: inout R) -> [UInt8] {
        let edges = edgeNumbers
        var text = WebhookFuzzHarness.seeds.randomElement(using: &rng)!.input
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            switch Int.random(in: 0..<5, using: &rng) {
            case 0, 1:
                let edge = edges.randomElement(using: &rng)!
                let bare = Bool.random(using: &rng) && DecimalText.isNumberLiteral(edge)
                let number = seedNumbers.randomElement(using: &rng)!
                // Both quoted ("50") and bare (1000) numbers of the seeds are pushed to an edge.
                text = text.replacingOccurrences(of: "\"\(number)\"", with: bare ? edge : "\"\(edge)\"")
                text = text.replacingOccurrences(of: ":\(number)}", with: ":\(bare ? edge : "\"\(edge)\"")}")
            case 2:
                // A timestamp header at an edge; without `t` the harness keeps it, and still signs over it.
                let header = timestampHeaders.randomElement(using: &rng)!
                let value = (header == "Stripe-Signature" ? "t=" : "") + edges.randomElement(using: &rng)!
                text = text.replacingOccurrences(of: " st\n", with: " s\n\(header): \(value)\n")
            case 3:
                text = text.replacingOccurrences(of: "\"maxLag\":\"60\"", with: "\"maxLag\":\(edges.randomElement(using: &rng)!)")
            default:
                var bytes = Array(text.utf8)
                if !bytes.isEmpty { bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
                return bytes
            }
        }
        return Array(text.utf8)
    }
}
