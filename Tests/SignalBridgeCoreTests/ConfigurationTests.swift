import Foundation
import Testing

@testable import SignalBridgeCore

@Suite struct ConfigurationTests {
    let base = URL(fileURLWithPath: "/etc/signalbridge")

    func parse(_ json: String, environment: [String: String] = [:]) throws -> BridgeConfiguration {
        try BridgeConfiguration.parse(try JSONParser.parse(json), baseDirectory: base, environment: environment)
    }

    @Test func theSpecExampleLoads() throws {
        let configuration = try parse(
            #"""
            {"listen": {"host": "127.0.0.1", "port": 8080}, "admin": {"host": "127.0.0.1", "port": 9090},
             "limits": {"maxBodyBytes": 65536},
             "exchange": {"kind": "okx", "baseURL": "https://www.okx.com", "demo": true,
               "credentials": {"apiKeyEnv": "OKX_API_KEY", "secretKeyEnv": "OKX_SECRET_KEY", "passphraseEnv": "OKX_PASSPHRASE"}},
             "journal": {"directory": "var/journal"}, "rules": ["rules"],
             "sources": [
               {"name": "tradingview", "auth": {"scheme": "token", "in": "body", "pointer": "/token", "secretEnv": "TV_TOKEN"},
                "allowFrom": ["52.89.214.238", "34.212.75.30"], "idPointer": "/id", "timestampPointer": "/time", "maxLagSeconds": 60},
               {"name": "alchemy", "auth": {"scheme": "hmac-sha256", "header": "X-Alchemy-Signature", "encoding": "hex", "secretEnv": "ALCHEMY_SIGNING_KEY"}, "idPointer": "/id"},
               {"name": "onchain", "auth": {"scheme": "standard-webhooks", "secretEnv": "ONCHAIN_WEBHOOK_SECRET", "toleranceSeconds": 300}}
             ],
             "risk": {"dryRun": false, "killSwitchFile": "var/KILL", "allowedInstruments": ["BTC-USDT", "ETH-USDT"],
                      "maxOrderNotional": "1000", "maxDailyNotional": "10000"}}
            """#,
            environment: [
                "OKX_API_KEY": "k", "OKX_SECRET_KEY": "s", "OKX_PASSPHRASE": "p", "TV_TOKEN": "t", "ALCHEMY_SIGNING_KEY": "a",
                "ONCHAIN_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            ]
        )
        #expect(configuration.exchange.kind == .okx && configuration.exchange.demo)
        #expect(configuration.journalDirectory == "/etc/signalbridge/var/journal")
        #expect(configuration.rulePaths == ["/etc/signalbridge/rules"])
        #expect(configuration.sources.map(\.name) == ["tradingview", "alchemy", "onchain"])
        #expect(configuration.risk.maxOrderNotional == 1000)
        #expect(configuration.risk.killSwitchFile == "/etc/signalbridge/var/KILL")
    }

    @Test func unknownKeysAreNamed() throws {
        do {
            _ = try parse(#"{"listen": {"host": "127.0.0.1", "prot": 1}}"#)
            Issue.record("expected an error")
        } catch let error as DocumentError {
            #expect(error.pointer.description == "/listen/prot")
            #expect(error.message.contains("unknown key \"prot\""))
        }
    }

    @Test func missingSecretsNameTheKeyNotTheValue() throws {
        do {
            _ = try parse(#"{"sources": [{"name": "a", "auth": {"scheme": "token", "in": "header", "secretEnv": "A_TOKEN"}}]}"#)
            Issue.record("expected an error")
        } catch let error as DocumentError {
            #expect(error.pointer.description == "/sources/0/auth/secretEnv")
            #expect(error.message.contains("A_TOKEN is not set"))
        }
    }

    @Test func theJournalSegmentSizeIsRangeChecked() throws {
        #expect(try parse(#"{}"#).journalSegmentBytes == 16 << 20)
        #expect(try parse(#"{"journal": {"directory": "j", "segmentBytes": 1048576}}"#).journalSegmentBytes == 1 << 20)
        for bad in ["1000", "2147483648", "1.5", "\"16MiB\""] {
            do {
                _ = try parse(#"{"journal": {"directory": "j", "segmentBytes": \#(bad)}}"#)
                Issue.record("expected an error for \(bad)")
            } catch let error as DocumentError {
                #expect(error.pointer.description == "/journal/segmentBytes")
            }
        }
    }

    @Test func noneNeedsAllowFrom() throws {
        #expect(throws: DocumentError.self) { try parse(#"{"sources": [{"name": "a", "auth": {"scheme": "none"}}]}"#) }
        let configuration = try parse(#"{"sources": [{"name": "a", "auth": {"scheme": "none"}, "allowFrom": ["10.0.0.0/8"]}]}"#)
        #expect(configuration.sources[0].allowFrom == [IPRange("10.0.0.0/8")!])
    }

    @Test func okxNeedsCredentials() throws {
        do {
            _ = try parse(#"{"exchange": {"kind": "okx"}}"#)
            Issue.record("expected an error")
        } catch let error as DocumentError {
            #expect(error.pointer.description == "/exchange/credentials")
        }
    }
}
