import Crypto
import Foundation

/// OKX v5 request signing (SPEC section 7): Base64(HMAC-SHA256(secret as UTF-8, timestamp + METHOD + requestPath + body)).
public enum OKXSignature {
    /// The `OK-ACCESS-SIGN` value.
    /// - Parameters:
    ///   - timestamp: the `OK-ACCESS-TIMESTAMP` value (ISO 8601 ms for REST, Unix seconds for the WebSocket login).
    ///   - method: `GET` or `POST`.
    ///   - requestPath: the path with its query string, exactly as sent.
    ///   - body: the exact body bytes sent (empty for GET).
    ///   - secret: the API secret key, used as its UTF-8 text (never hex-decoded).
    public static func sign(timestamp: String, method: String, requestPath: String, body: some Sequence<UInt8>, secret: Secret) -> String {
        let prehash = Array((timestamp + method.uppercased() + requestPath).utf8) + Array(body)
        let mac = HMAC<SHA256>.authenticationCode(for: prehash, using: SymmetricKey(data: secret.bytes))
        return Data(mac).base64EncodedString()
    }

    /// Whether `signature` is right, compared in constant time.
    public static func isValid(
        _ signature: String,
        timestamp: String,
        method: String,
        requestPath: String,
        body: some Sequence<UInt8>,
        secret: Secret
    ) -> Bool {
        guard let presented = Data(base64Encoded: signature) else { return false }
        let prehash = Array((timestamp + method.uppercased() + requestPath).utf8) + Array(body)
        return HMAC<SHA256>.isValidAuthenticationCode(presented, authenticating: prehash, using: SymmetricKey(data: secret.bytes))
    }

    /// The REST timestamp format: ISO 8601 UTC with milliseconds (`2020-12-08T09:08:57.715Z`).
    public static func timestamp(_ date: Date) -> String { Timestamp.format(date) }
}
