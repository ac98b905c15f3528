import Foundation
import SignalBridgeCore

/// OKX's account configuration as far as the bridge cares.
public struct OKXAccountConfiguration: Sendable, Equatable {
    /// OKX's `acctLv`.
    public var level: Int
    /// The API key's permissions (`perm`): `read_only`, `trade`, `withdraw`.
    public var permissions: [String]
    /// The IP addresses the key is bound to (`ip`); empty when it can be used from anywhere.
    public var ipAddresses: [String] = []
}

/// Checks that the configured OKX account can be traded by the bridge (`signalbridge okx check`): the exchange is
/// reachable, the clock is close enough to OKX's, the credentials are accepted, the key may trade (and had better
/// not withdraw), the account mode, the balance, and the instruments the rules may trade.
public struct OKXAccountCheck: Sendable {
    /// One line of the check's result.
    public struct Finding: Sendable, Equatable, CustomStringConvertible {
        public enum Level: String, Sendable {
            case ok, warning, failure
        }

        public var level: Level
        public var text: String

        public var description: String {
            switch level {
            case .ok: "ok       \(text)"
            case .warning: "WARNING  \(text)"
            case .failure: "FAILED   \(text)"
            }
        }
    }

    /// OKX refuses a signed request whose timestamp is more than 30 s from its clock (50102).
    public static let skewLimit: TimeInterval = 30
    /// Skew above which the check warns: a drifting clock reaches the limit soon.
    public static let skewWarning: TimeInterval = 5

    let client: OKXRestClient
    /// Instruments the bridge is configured to trade (`risk.allowedInstruments`); each must exist and be live.
    let instruments: [String]

    public init(client: OKXRestClient, instruments: [String]) {
        self.client = client
        self.instruments = instruments
    }

    /// Runs every check; stops early only when OKX cannot be reached or refuses the credentials.
    public func run() async -> [Finding] {
        var findings = [
            Finding(
                level: .ok,
                text: "exchange \(client.baseURL), \(client.demo ? "demo trading (x-simulated-trading: 1)" : "live trading")"
            )
        ]
        let sent = client.clock()
        let serverTime: Date
        do {
            serverTime = try await client.serverTime()
        } catch {
            return findings + [Finding(level: .failure, text: "cannot reach OKX at \(client.baseURL): \(error)")]
        }
        let received = client.clock()
        findings.append(Self.clockFinding(skew: serverTime.timeIntervalSince(sent.addingTimeInterval(received.timeIntervalSince(sent) / 2))))

        let configuration: OKXAccountConfiguration
        do {
            configuration = try await client.accountConfiguration()
        } catch {
            return findings + [Finding(level: .failure, text: "OKX refused the credentials: \(error)\(Self.hint(for: error.code))")]
        }
        findings.append(Finding(level: .ok, text: "credentials accepted"))
        findings.append(contentsOf: Self.permissionFindings(configuration.permissions))
        findings.append(Self.ipFinding(configuration.ipAddresses, demo: client.demo))
        let mode = AccountMode(level: configuration.level)
        findings.append(Finding(level: .ok, text: "account in \(mode): spot orders use tdMode \(mode.spotTdMode)"))

        do {
            let funded = try await client.balances().filter { $0.available > 0 }
            let listed = funded.prefix(8).map { "\($0.ccy) \(DecimalText.format($0.available))" }.joined(separator: ", ")
            findings.append(
                Finding(
                    level: funded.isEmpty ? .warning : .ok,
                    text: funded.isEmpty ? "the trading account holds nothing available" : "available: \(listed)\(funded.count > 8 ? ", …" : "")"
                )
            )
        } catch {
            findings.append(Finding(level: .failure, text: "cannot read the balance: \(error)"))
        }

        if !instruments.isEmpty {
            do {
                findings.append(contentsOf: Self.instrumentFindings(wanted: instruments, known: try await client.instruments()))
            } catch {
                findings.append(Finding(level: .failure, text: "cannot read the spot instruments: \(error)"))
            }
        }
        return findings
    }

    /// The finding for a measured clock difference (positive: OKX is ahead).
    static func clockFinding(skew: TimeInterval) -> Finding {
        let text = "clock \((skew * 1000).rounded().wholeSeconds) ms from OKX's (OKX refuses requests more than \(skewLimit.wholeSeconds) s off)"
        if abs(skew) > skewLimit { return Finding(level: .failure, text: text + ": synchronise this host's clock (NTP)") }
        if abs(skew) > skewWarning { return Finding(level: .warning, text: text + ": check this host's time synchronisation") }
        return Finding(level: .ok, text: text)
    }

    /// The finding for the key's IP binding: OKX's guide says to bind every API key to the addresses that use it.
    static func ipFinding(_ addresses: [String], demo: Bool = false) -> Finding {
        guard !addresses.isEmpty else {
            // Demo keys never expire; live keys that can trade and are bound to no address do after 14 idle days.
            return Finding(
                level: .warning,
                text: "the API key can be used from any IP address: bind it to this server's public addresses (OKX: API keys → Edit → IP address)"
                    + (demo ? "" : "; a key that can trade and is bound to no address also expires after 14 days unused")
            )
        }
        let shown = addresses.prefix(5).joined(separator: ", ") + (addresses.count > 5 ? ", …" : "")
        return Finding(level: .ok, text: "the API key is bound to \(addresses.count) IP address\(addresses.count == 1 ? "" : "es"): \(shown)")
    }

    /// The findings for the key's permissions: it must trade; it should not withdraw.
    static func permissionFindings(_ permissions: [String]) -> [Finding] {
        let listed = permissions.isEmpty ? "none reported" : permissions.joined(separator: ", ")
        var findings = [
            permissions.contains("trade")
                ? Finding(level: .ok, text: "key permissions: \(listed)")
                : Finding(level: .failure, text: "the API key has no trade permission (it has: \(listed)): create a key with Read and Trade")
        ]
        if permissions.contains("withdraw") {
            findings.append(
                Finding(level: .warning, text: "the API key may withdraw funds; signalbridge needs only Read and Trade: use a key without Withdraw")
            )
        }
        return findings
    }

    /// The findings for the instruments the bridge may trade.
    static func instrumentFindings(wanted: [String], known: [Instrument]) -> [Finding] {
        let byId = Dictionary(known.map { ($0.instId, $0) }, uniquingKeysWith: { first, _ in first })
        return wanted.map { instId in
            guard let instrument = byId[instId] else { return Finding(level: .failure, text: "\(instId) is not an OKX spot instrument") }
            guard instrument.state == "live" else {
                return Finding(level: .warning, text: "\(instId) is \(instrument.state), not live: orders will be refused")
            }
            return Finding(
                level: .ok,
                text:
                    "\(instId) live: lot \(DecimalText.format(instrument.lotSz)), tick \(DecimalText.format(instrument.tickSz)), minimum \(DecimalText.format(instrument.minSz))"
            )
        }
    }

    /// What usually causes a refusal with `code`.
    static func hint(for code: String?) -> String {
        switch code {
        case "50101", "50119", "60032":
            ": the key belongs to another environment or region (demo keys need exchange.demo true; check exchange.baseURL)"
        case "50102": ": the clock is too far from OKX's"
        case "50105": ": wrong passphrase"
        case "50110": ": this host's IP address is not on the key's allow list"
        case "50111", "50113": ": wrong API key or secret key"
        case "50120": ": the key lacks a permission this needs (Read)"
        default: ""
        }
    }
}
