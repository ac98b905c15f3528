import Foundation
import SignalBridgeCore

/// The API key, secret and passphrase the simulator accepts.
public struct SimulatorCredentials: Sendable {
    public var apiKey: String
    public var secretKey: Secret
    public var passphrase: Secret

    public init(apiKey: String, secretKey: Secret, passphrase: Secret) {
        self.apiKey = apiKey
        self.secretKey = secretKey
        self.passphrase = passphrase
    }

    /// The credentials named by `OKX_API_KEY`, `OKX_SECRET_KEY` and `OKX_PASSPHRASE` when all are set,
    /// otherwise a fresh random set (`generated` is then true, and the caller prints them).
    public static func fromEnvironment(_ environment: [String: String]) -> (credentials: SimulatorCredentials, generated: Bool) {
        if let key = environment["OKX_API_KEY"], let secret = environment["OKX_SECRET_KEY"], let passphrase = environment["OKX_PASSPHRASE"],
            !key.isEmpty, !secret.isEmpty, !passphrase.isEmpty
        {
            return (SimulatorCredentials(apiKey: key, secretKey: Secret(secret), passphrase: Secret(passphrase)), false)
        }
        return (random(), true)
    }

    /// A fresh random set (from the system's secure random generator).
    public static func random() -> SimulatorCredentials {
        func random(_ count: Int) -> String {
            let alphabet = Array("ABCDEF0123456789")
            return String((0..<count).map { _ in alphabet.randomElement()! })
        }
        return SimulatorCredentials(apiKey: "sim-" + random(24).lowercased(), secretKey: Secret(random(32)), passphrase: Secret("Sim-" + random(8)))
    }
}
