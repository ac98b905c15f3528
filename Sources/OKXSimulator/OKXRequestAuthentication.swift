import Foundation
import SignalBridgeCore

/// OKX's checks of a signed REST request, in OKX's order and with OKX's codes.
struct OKXRequestAuthentication {
    struct Failure: Equatable {
        var code: String
        var message: String
    }

    let credentials: SimulatorCredentials
    let now: Date

    /// The first problem with the request, or nil when it is genuine.
    func check(
        key: String?,
        passphrase: String?,
        signature: String?,
        timestamp: String?,
        method: String,
        requestPath: String,
        body: [UInt8]
    ) -> Failure? {
        guard let key, !key.isEmpty else { return Failure(code: "50103", message: "Request header OK-ACCESS-KEY can not be empty.") }
        guard let passphrase, !passphrase.isEmpty else {
            return Failure(code: "50104", message: "Request header OK-ACCESS-PASSPHRASE can not be empty.")
        }
        guard let signature, !signature.isEmpty else { return Failure(code: "50106", message: "Request header OK-ACCESS-SIGN can not be empty.") }
        guard let timestamp, !timestamp.isEmpty else {
            return Failure(code: "50107", message: "Request header OK-ACCESS-TIMESTAMP can not be empty.")
        }
        guard Self.isRESTTimestamp(timestamp), let time = Timestamp.parse(timestamp) else {
            return Failure(code: "50112", message: "Invalid OK-ACCESS-TIMESTAMP")
        }
        guard abs(time.timeIntervalSince(now)) <= SimulatorRouter.timestampWindow else {
            return Failure(code: "50102", message: "Timestamp request expired")
        }
        guard ConstantTime.equals(Array(key.utf8), Array(credentials.apiKey.utf8)) else {
            return Failure(code: "50111", message: "Invalid OK-ACCESS-KEY")
        }
        guard ConstantTime.equals(Array(passphrase.utf8), credentials.passphrase.bytes) else {
            return Failure(code: "50105", message: "OK-ACCESS-PASSPHRASE incorrect.")
        }
        guard
            OKXSignature.isValid(signature, timestamp: timestamp, method: method, requestPath: requestPath, body: body, secret: credentials.secretKey)
        else { return Failure(code: "50113", message: "Invalid Sign") }
        return nil
    }

    /// Whether `text` has OKX's REST timestamp shape, `2020-12-08T09:08:57.715Z`.
    static func isRESTTimestamp(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 24 else { return false }
        for (i, byte) in bytes.enumerated() {
            switch i {
            case 4, 7: if byte != UInt8(ascii: "-") { return false }
            case 10: if byte != UInt8(ascii: "T") { return false }
            case 13, 16: if byte != UInt8(ascii: ":") { return false }
            case 19: if byte != UInt8(ascii: ".") { return false }
            case 23: if byte != UInt8(ascii: "Z") { return false }
            default: if !(0x30...0x39).contains(byte) { return false }
            }
        }
        return true
    }
}
