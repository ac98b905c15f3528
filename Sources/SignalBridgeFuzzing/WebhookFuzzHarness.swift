import Crypto
import Foundation
import SignalBridgeCore

/// Feeds raw webhooks through everything the core does with a sender's bytes, without I/O: source choice,
/// allowlist, authentication, parsing, signal id, lag checks, rules, risk guards, order building and the journal
/// batch with its answer. Used by the libFuzzer target (`Fuzz/`) and by the randomized tests.
///
/// One input is text, so that seeds can be read and written by hand:
///
/// ```
/// <source> <flags>          source name (else chosen by the first byte); flags: s = sign it, t = timestamps now
/// Header-Name: value        headers until an empty line; X-Peer sets the remote address, X-Query one query item
///
/// {"body": ...}             the rest, raw
/// ```
///
/// With `s`, the harness signs the (possibly mutated) request the way the source's real sender would, so the
/// fuzzer reaches everything behind authentication; without it, authentication itself is fuzzed.
public struct WebhookFuzzHarness: Sendable {
    /// The secrets of the harness's sources, by environment variable.
    public static let secrets: [String: String] = [
        "SW": "whsec_" + Data("fuzz-standard-webhooks-key".utf8).base64EncodedString(),
        "HMAC": "fuzz-hmac", "GITHUB": "fuzz-github", "ALCHEMY": "fuzz-alchemy", "NANSEN": "fuzz-nansen",
        "QN": "fuzz-quicknode", "TENDERLY": "fuzz-tenderly", "STRIPE": "whsec_fuzz-stripe", "MORALIS": "fuzz-moralis",
        "TOKEN": "fuzz-token",
    ]

    /// One source per scheme and preset, and one in the OKX Signal Bot format.
    public static let configurationJSON = #"""
        {"sources": [
          {"name": "standard", "auth": {"scheme": "standard-webhooks", "secretEnv": "SW"}},
          {"name": "hmac", "auth": {"scheme": "hmac-sha256", "header": "X-Sig", "encoding": "base64", "prefix": "v1=",
            "signedContent": ["header:X-Ts", ".", "body"], "timestampHeader": "X-Ts", "secretEnv": "HMAC"},
           "idPointer": "/id", "timestampPointer": "/time", "maxLagSeconds": 300},
          {"name": "github", "auth": {"scheme": "github", "secretEnv": "GITHUB"}, "idPointer": "/id"},
          {"name": "alchemy", "auth": {"scheme": "alchemy", "secretEnv": "ALCHEMY"}, "idPointer": "/id"},
          {"name": "nansen", "auth": {"scheme": "nansen", "secretEnv": "NANSEN"}},
          {"name": "quicknode", "auth": {"scheme": "quicknode", "secretEnv": "QN"}, "timestampPointer": "/time"},
          {"name": "tenderly", "auth": {"scheme": "tenderly", "secretEnv": "TENDERLY"}, "idPointer": "/id"},
          {"name": "stripe", "auth": {"scheme": "stripe", "secretEnv": "STRIPE"}, "idPointer": "/id"},
          {"name": "moralis", "auth": {"scheme": "moralis", "secretEnv": "MORALIS"}, "idPointer": "/streamId"},
          {"name": "tradingview", "auth": {"scheme": "token", "in": "body", "pointer": "/token", "secretEnv": "TOKEN"},
           "idPointer": "/id", "timestampPointer": "/time", "maxLagSeconds": 60},
          {"name": "header-token", "auth": {"scheme": "token", "in": "header", "header": "X-Token", "secretEnv": "TOKEN"}},
          {"name": "query-token", "auth": {"scheme": "token", "in": "query", "name": "token", "secretEnv": "TOKEN"}},
          {"name": "lan", "auth": {"scheme": "none"}, "allowFrom": ["10.0.0.0/8", "fd00::/8"], "idPointer": "/id"},
          {"name": "signal-bot", "auth": {"scheme": "token", "in": "body", "pointer": "/signalToken", "secretEnv": "TOKEN"},
           "format": "okx-signal-bot"}
        ],
        "risk": {"allowedInstruments": ["BTC-USDT", "ETH-USDT"], "maxOrderNotional": "100000", "maxDailyNotional": "1000000"}}
        """#

    /// Rules over every condition operator and every size and price form.
    static let rulesJSON = #"""
        {"rules": [
          {"id": "pointer-limit", "source": "*", "when": {"all": [{"pointer": "/action", "in": ["buy", "sell"]},
             {"pointer": "/px", "exists": true}]}, "cooldownSeconds": 1, "maxOrdersPerDay": 100000,
           "orders": [{"instId": "${/inst}", "side": "${/action}", "ordType": "limit", "price": {"pointer": "/px"},
                       "size": {"pointer": "/sz", "unit": "base", "max": "5"}}]},
          {"id": "quote-market", "source": "*", "when": {"any": [{"pointer": "/amount", "gte": "1000"},
             {"pointer": "/event/amount", "gt": "0.5"}, {"pointer": "/signal", "matches": "^(long|buy)$"}]},
           "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "market", "size": {"quote": "25"}}]},
          {"id": "book-priced", "source": "*", "when": {"not": {"pointer": "/action", "nin": ["sell"]}},
           "orders": [{"instId": "ETH-USDT", "side": "sell", "ordType": "post_only", "price": {"from": "ask", "offsetBps": 5},
                       "size": {"percentOfAvailable": "1"}}]},
          {"id": "quote-pointer", "source": "*", "when": {"all": [{"pointer": "/n", "lt": "100"}, {"pointer": "/n", "lte": "99"},
             {"pointer": "/n", "ne": "7"}, {"pointer": "/kind", "eq": "alert"}]},
           "orders": [{"instId": "BTC-USDT", "side": "buy", "ordType": "ioc", "price": {"from": "bid", "offsetBps": -10},
                       "size": {"pointer": "/n", "unit": "quote", "max": "50"}}]}
        ]}
        """#

    /// The rules as a rule file: each rule of ``rulesJSON`` once per source (`"source": "*"` stands for all).
    public static func rulesDocument(sources: [String]) -> String {
        guard let rules = (try? JSONParser.parse(rulesJSON))?.objectValue?["rules"]?.arrayValue else { return "" }
        let expanded = rules.flatMap { rule in
            sources.compactMap { source -> JSONValue? in
                guard var object = rule.objectValue, let id = object["id"]?.stringValue else { return nil }
                object["id"] = .string("\(id)-\(source)")
                object["source"] = .string(source)
                return .object(object)
            }
        }
        return JSONValue.object(JSONObject([("rules", .array(expanded))])).jsonText
    }

    /// The webhook one input stands for, as it would reach the core at `now`.
    public func request(_ data: [UInt8], now: Date) -> InboundRequest {
        FuzzInput(data, harness: self, now: now).request
    }

    public let configuration: BridgeConfiguration
    let rules: RuleSet
    let market: MarketSnapshot

    /// The harness, with its fixed sources, rules and market.
    public init() {
        do {
            var configuration = try BridgeConfiguration.parse(
                try JSONParser.parse(Self.configurationJSON),
                baseDirectory: URL(fileURLWithPath: "/nonexistent"),
                environment: Self.secrets
            )
            configuration.risk.killSwitchFile = nil
            self.configuration = configuration
            let document = Self.rulesDocument(sources: configuration.sources.map(\.name))
            let parsed = try RuleParser.parse(try JSONParser.parse(document), file: "fuzz.json").get()
            rules = RuleSet(rules: parsed, files: [.init(path: "fuzz.json", sha256: Hex.sha256(document.utf8))])
        } catch {
            fatalError("the fuzz harness's own configuration is invalid: \(error)")
        }
        var market = MarketSnapshot()
        market.instruments = ["BTC-USDT": .okxBTCUSDT, "ETH-USDT": .okxETHUSDT]
        market.balances = ["USDT": 10_000, "BTC": 1, "ETH": 10]
        self.market = market
    }

    /// What one input led to.
    public enum Outcome: Sendable, Equatable {
        /// Refused, for this reason.
        case refused(WebhookRejection.Kind)
        /// Refused as stale (422) or accepted, with the decisions' outcomes.
        case accepted(outcomes: [Decision.Outcome])
    }

    /// A broken promise of the core, found by an input.
    public struct Violation: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs one input through the core at `now` and checks what must hold whatever the input.
    /// - Throws: ``Violation`` when something the core promises does not hold.
    public func run(_ data: [UInt8], now: Date) throws(Violation) -> Outcome {
        let request = request(data, now: now)
        let admission = WebhookAdmission(configuration: configuration)
        let signal: AdmittedSignal
        do {
            signal = try admission.admit(request)
            try admission.checkLag(signal, now: now)
        } catch {
            try check(error)
            return .refused(error.kind)
        }
        var snapshot = market
        for (instId, last) in [("BTC-USDT", Decimal(60000)), ("ETH-USDT", Decimal(3000))] {
            snapshot.tickers[instId] = Ticker(instId: instId, last: last, bid: last - 1, ask: last + 1, time: now)
            snapshot.tickerFetchedAt[instId] = now
        }
        snapshot.balancesFetchedAt = now
        let decider = Decider(
            rules: rules,
            guards: GlobalGuards(risk: configuration.risk, killSwitchEngaged: false),
            builder: OrderBuilder(market: snapshot, now: now, maxPriceAgeSeconds: 60)
        )
        let batch = SignalBatch(signal, request: request, decider: decider, ledger: RiskLedger(), ruleSetHash: rules.hash)
        try check(batch)
        return .accepted(outcomes: batch.decisions.map(\.outcome))
    }

    private func check(_ rejection: WebhookRejection) throws(Violation) {
        let expected: Set<WebhookRejection.Kind> = [.badRequest, .unauthorized, .forbidden, .unknownSource, .staleSignal]
        guard expected.contains(rejection.kind), !rejection.message.isEmpty else {
            throw Violation(description: "unexpected refusal \(rejection.kind.rawValue): \(rejection.message)")
        }
        for secret in Self.secrets.values where rejection.message.contains(secret) {
            throw Violation(description: "a refusal names a secret: \(rejection.message)")
        }
    }

    private func check(_ batch: SignalBatch) throws(Violation) {
        for entry in batch.entries {
            if let pointer = JSONValue.object(entry.fields).invalidNumberPointer {
                throw Violation(description: "the \(entry.type.rawValue) record holds a non-finite number at \(pointer)")
            }
            let text = JSONValue.object(entry.fields).jsonText
            guard (try? JSONParser.parse(text)) != nil else { throw Violation(description: "a journal line does not parse back: \(text)") }
            for secret in Self.secrets.values where text.contains(secret) {
                throw Violation(description: "a \(entry.type.rawValue) record holds a secret")
            }
        }
        for decision in batch.decisions {
            guard DecimalText.isWithinRange(decision.notional) else {
                throw Violation(description: "decision \(decision.ruleId ?? "-") has notional \(decision.notional)")
            }
            for order in decision.orders {
                let request = order.request
                guard request.sz > 0, DecimalText.isWithinRange(request.sz), request.px.map({ $0 > 0 && DecimalText.isWithinRange($0) }) ?? true
                else {
                    throw Violation(description: "order \(request.clOrdId) has sz \(request.sz) px \(String(describing: request.px))")
                }
            }
        }
        guard (try? JSONParser.parse(batch.answerBody.jsonText)) != nil else { throw Violation(description: "the answer does not parse back") }
    }
}
