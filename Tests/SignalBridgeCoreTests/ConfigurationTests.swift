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

    /// SPEC 3a: a secret file that group or others can read is refused at start, naming the file.
    /// A file under systemd's `$CREDENTIALS_DIRECTORY` may show group read (newer systemd's ACL mask), nothing more.
    @Test(arguments: [
        (0o600, false, true), (0o400, false, true), (0o640, false, false), (0o644, false, false), (0o604, false, false),
        (0o440, true, true), (0o460, true, false), (0o444, true, false),
    ])
    func aSecretFileOthersCanReadIsRefused(mode: Int, asCredential: Bool, accepted: Bool) throws {
        let folder = temporaryFolder("secret")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/tv-token"
        try "token-0123456789\n".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(chmod(path, mode_t(mode)) == 0)
        let json = #"{"sources": [{"name": "tv", "auth": {"scheme": "token", "in": "header", "secretFile": "\#(path)"}}]}"#
        let environment = asCredential ? ["CREDENTIALS_DIRECTORY": folder] : [:]
        if accepted {
            guard case .token(let token) = try parse(json, environment: environment).sources[0].auth else {
                Issue.record("expected a token source")
                return
            }
            #expect(token.secret == Secret("token-0123456789"))
        } else {
            do {
                _ = try parse(json, environment: environment)
                Issue.record("expected an error for mode \(String(mode, radix: 8))")
            } catch let error as DocumentError {
                #expect(error.pointer.description == "/sources/0/auth/secretFile")
                #expect(error.message.contains(path) && error.message.contains("group or others") && !error.message.contains("token-0123456789"))
            }
        }
    }

    @Test func aSecretPastedWhereAFilePathGoesIsNotRepeated() throws {
        do {
            _ = try parse(#"{"sources": [{"name": "tv", "auth": {"scheme": "token", "in": "header", "secretFile": "s3cr3t-T0ken-v4lue"}}]}"#)
            Issue.record("expected an error")
        } catch let error as DocumentError {
            #expect(error.pointer.description == "/sources/0/auth/secretFile" && !"\(error)".contains("s3cr3t-T0ken-v4lue"), "\(error)")
        }
    }

    /// A secret file is read from the descriptor that was checked: a FIFO is refused (never waited on), so is a
    /// file over 64 KiB; a secret pasted where the variable's name belongs is never repeated in the error.
    @Test func secretFilesAreRegularAndSmallAndPastedSecretsAreNotRepeated() throws {
        let folder = temporaryFolder("secret")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let fifo = folder + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let big = folder + "/big"
        try String(repeating: "x", count: 70000).write(toFile: big, atomically: false, encoding: .utf8)
        #expect(chmod(big, 0o600) == 0)
        for (path, words) in [(fifo, "not a regular file"), (big, "larger than")] {
            do {
                _ = try parse(#"{"sources": [{"name": "tv", "auth": {"scheme": "token", "in": "header", "secretFile": "\#(path)"}}]}"#)
                Issue.record("expected an error for \(path)")
            } catch let error as DocumentError {
                #expect(error.message.contains(words) && error.message.contains(path))
            }
        }
        do {
            _ = try parse(#"{"sources": [{"name": "tv", "auth": {"scheme": "token", "in": "header", "secretEnv": "s3cr3t-t0ken/value"}}]}"#)
            Issue.record("expected an error")
        } catch let error as DocumentError {
            #expect(error.pointer.description == "/sources/0/auth/secretEnv" && !error.message.contains("s3cr3t"))
        }
    }

    /// SPEC 3a: the API key and passphrase travel in clear only to this machine.
    @Test(arguments: [
        ("http://127.0.0.1:18080", true), ("http://localhost:8080", true), ("http://[::1]:8080", true), ("https://www.okx.com", true),
        ("http://www.okx.com", false), ("http://10.0.0.5:8080", false), ("http://127.0.0.1.example.com", false),
        // User info, backslashes and percent-encoding: what another URL parser may read as another host.
        ("http://evil.example:80@127.0.0.1:9", false), ("https://evil.example:443@www.okx.com", false), ("http://127.0.0.1\\\\@evil.example", false),
        ("http://127.0.0.%31:9", false), ("HTTP://evil.example", false),
    ])
    func anHTTPBaseURLIsRefusedUnlessLoopback(baseURL: String, accepted: Bool) throws {
        let environment = ["K": "key", "S": "secret", "P": "pass"]
        let json =
            #"{"exchange": {"kind": "okx", "baseURL": "\#(baseURL)", "credentials": {"apiKeyEnv": "K", "secretKeyEnv": "S", "passphraseEnv": "P"}}}"#
        if accepted {
            #expect(try parse(json, environment: environment).exchange.baseURL == baseURL)
        } else {
            do {
                _ = try parse(json, environment: environment)
                Issue.record("expected an error for \(baseURL)")
            } catch let error as DocumentError {
                #expect(
                    error.pointer.description == "/exchange/baseURL" && (error.message.contains("in clear") || error.message.contains("user info"))
                )
            }
        }
        for socketURL in [
            "ws://ws.example.com/ws/v5/private", "ws://evil.example:80@127.0.0.1/ws/v5/private", "wss://evil.example:443@ws.okx.com:8443/x",
        ] {
            let socket =
                #"{"exchange": {"kind": "okx", "webSocketURL": "\#(socketURL)", "credentials": {"apiKeyEnv": "K", "secretKeyEnv": "S", "passphraseEnv": "P"}}}"#
            #expect(throws: DocumentError.self, "\(socketURL)") { try parse(socket, environment: environment) }
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
