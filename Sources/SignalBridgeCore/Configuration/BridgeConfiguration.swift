import Foundation

/// A host and port to listen on.
public struct ListenAddress: Sendable, Equatable {
    public var host: String
    public var port: Int
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

/// Which exchange orders go to.
public struct ExchangeSettings: Sendable {
    public enum Kind: String, Sendable { case okx, sim }
    /// `okx` talks to `baseURL`; `sim` runs the built-in simulator in process.
    public var kind: Kind
    /// The REST base URL (`https://www.okx.com`, or `http://127.0.0.1:PORT` in tests).
    public var baseURL: String
    /// Demo trading: adds `x-simulated-trading: 1`.
    public var demo: Bool
    /// The private WebSocket URL, when not derived from `baseURL` (OKX's hosts, or the simulator's).
    public var webSocketURL: String?
    /// The public WebSocket URL (market data), when not derived from `baseURL`.
    public var publicWebSocketURL: String?
    /// API credentials, required for `okx`.
    public var credentials: OKXCredentials?
}

/// OKX API credentials, read from the environment or files.
public struct OKXCredentials: Sendable, Equatable {
    public var apiKey: Secret
    public var secretKey: Secret
    public var passphrase: Secret
    public init(apiKey: Secret, secretKey: Secret, passphrase: Secret) {
        self.apiKey = apiKey
        self.secretKey = secretKey
        self.passphrase = passphrase
    }
}

/// The global risk guards.
public struct RiskSettings: Sendable {
    /// Decisions are `dryRun`: journaled, never sent.
    public var dryRun = false
    /// While this file exists nothing is sent and decisions are `blocked`.
    public var killSwitchFile: String?
    /// When the kill switch is engaged, also cancel the bridge's resting orders (`killSwitchCancelsOpenOrders`).
    public var killSwitchCancelsOpenOrders = false
    /// When set, only these instruments may be ordered.
    public var allowedInstruments: Set<String>?
    /// Largest notional (in quote currency) of one order.
    public var maxOrderNotional: Decimal?
    /// Largest notional of all orders in one UTC day.
    public var maxDailyNotional: Decimal?
    /// A cached price older than this blocks a decision that needs it.
    public var maxPriceAgeSeconds = 60

    public init() {}
}

/// The whole configuration of a bridge (SPEC section 3).
public struct BridgeConfiguration: Sendable {
    public var listen = ListenAddress(host: "127.0.0.1", port: 8080)
    public var admin = ListenAddress(host: "127.0.0.1", port: 9090)
    public var maxBodyBytes = 65536
    /// How long the ids of signals whose signature covers no timestamp are remembered (`limits.replayWindowSeconds`).
    public var replayWindow: TimeInterval = 7 * 86400
    public var exchange: ExchangeSettings
    /// Absolute path of the journal directory.
    public var journalDirectory: String
    /// The size at which a journal segment is closed, the next begun and a checkpoint written
    /// (`journal.segmentBytes`).
    public var journalSegmentBytes = Journal.defaultSegmentLimit
    /// Absolute paths of rule files or folders.
    public var rulePaths: [String]
    public var sources: [SourceSettings]
    public var risk: RiskSettings
    /// Proxies whose `X-Forwarded-For` is believed (a TLS terminator in front of the bridge).
    public var trustedProxies: [IPRange] = []
    /// How log lines are written on standard error (`logging.format`).
    public var logFormat: LogFormat = .text
    /// Where notices of fills, refusals, the kill switch and refused rule reloads go (`notifications[]`).
    public var notifications: [NotificationTarget] = []

    /// `text` (one readable line each) or `json` (one JSON object a line).
    public enum LogFormat: String, Sendable, CaseIterable {
        case text, json
    }

    /// Sources whose captured requests could still be replayed once the replay window has forgotten their ids: the
    /// signature covers no timestamp and no payload time within the window is required. One sentence each.
    public var replayWarnings: [String] {
        sources.filter(\.auth.isReplayable).compactMap { source in
            let days = replayWindow / 86400
            if source.timestampPointer != nil, let lag = source.maxLagSeconds, TimeInterval(lag) <= replayWindow { return nil }
            return
                "source \"\(source.name)\": its signature covers no timestamp, so a captured request is valid forever, and its ids are remembered for \(days.wholeSeconds) days (limits.replayWindowSeconds); set timestampPointer and maxLagSeconds (at most the window) so that older replays are refused"
        }
    }

    /// The source named `name`.
    public func source(named name: String) -> SourceSettings? { sources.first { $0.name == name } }

    /// The embedded default of `signalbridge serve` without `--config`: loopback only, the simulator in process,
    /// the example rules in `rules/`, a journal under `var/`, and a `demo` source that accepts unsigned
    /// signals from this machine only.
    public static func embeddedDefault(workingDirectory: URL) -> BridgeConfiguration {
        var risk = RiskSettings()
        risk.killSwitchFile = ConfigurationPath.resolve("var/KILL", against: workingDirectory)
        risk.allowedInstruments = ["BTC-USDT", "ETH-USDT"]
        risk.maxOrderNotional = 1000
        risk.maxDailyNotional = 10000
        let demo = SourceSettings(
            name: "demo",
            auth: .none,
            allowFrom: [IPRange.loopbackV4, IPRange.loopbackV6],
            idPointer: try? JSONPointer("/id")
        )
        return BridgeConfiguration(
            exchange: ExchangeSettings(kind: .sim, baseURL: "", demo: true, credentials: nil),
            journalDirectory: ConfigurationPath.resolve("var/journal", against: workingDirectory),
            rulePaths: [ConfigurationPath.resolve("rules", against: workingDirectory)],
            sources: [demo],
            risk: risk
        )
    }
}

extension BridgeConfiguration {
    static let topKeys: Set<String> = [
        "listen", "admin", "limits", "exchange", "journal", "rules", "sources", "risk", "trustedProxies", "logging", "notifications",
    ]

    /// Loads and checks a configuration file, resolving every secret.
    /// - Parameters:
    ///   - path: the file.
    ///   - environment: where `...Env` secrets are looked up.
    /// - Throws: ``DocumentError`` naming the file and the key.
    public static func load(path: String, environment: [String: String]) throws(DocumentError) -> BridgeConfiguration {
        try read(path) { document, base throws(DocumentError) in try parse(document, baseDirectory: base, environment: environment) }
    }

    /// Whether `text` holds what URL parsers disagree about (user info, a backslash, percent-encoding): the host
    /// another parser connects to could differ from the one checked, so such an exchange URL is refused.
    static func hasAmbiguousAuthority(_ url: URL, text: String) -> Bool {
        let afterScheme = text.range(of: "://").map { text[$0.upperBound...] } ?? text[...]
        let authority = afterScheme.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        return url.user != nil || url.password != nil || authority.contains { $0 == "@" || $0 == "\\" || $0 == "%" }
            || afterScheme.contains("\\")
    }

    /// Whether `host` (of a URL) is this machine: `localhost`, an address in 127.0.0.0/8, or `::1`.
    static func isLoopback(host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        return bare.lowercased() == "localhost" || IPRange.loopbackV4.contains(bare) || IPRange.loopbackV6.contains(bare)
    }

    /// What start and each checkpoint keep of the journal at `now`: answers of signals since `since` (the duplicate
    /// window), ids of signals since `rememberSince` (the replay window).
    public func journalWindows(now: Date) -> (since: Date, rememberSince: Date) {
        (now.addingTimeInterval(-SignalIntake.duplicateRetention), now.addingTimeInterval(-replayWindow))
    }

    /// Only the journal directory of a configuration file: what `journal verify` needs, without any secret.
    public static func journalDirectory(configPath path: String) throws(DocumentError) -> String {
        try read(path) { document, base throws(DocumentError) in
            guard let text = document[JSONPointer(tokens: ["journal", "directory"])] else {
                return embeddedDefault(workingDirectory: base).journalDirectory
            }
            guard let directory = text.stringValue else {
                throw DocumentError(pointer: JSONPointer(tokens: ["journal", "directory"]), message: "expected a string")
            }
            return ConfigurationPath.resolve(directory, against: base)
        }
    }

    /// Only the source names of a configuration file: what `rules check --config` needs, without any secret.
    public static func sourceNames(configPath path: String) throws(DocumentError) -> Set<String> {
        try read(path) { document, _ throws(DocumentError) in
            Set((document[JSONPointer(tokens: ["sources"])]?.arrayValue ?? []).compactMap { $0.objectValue?["name"]?.stringValue })
        }
    }

    /// Parses the file at `path` and hands its document and folder to `body`; errors name the file.
    private static func read<Value>(
        _ path: String,
        _ body: (JSONValue, URL) throws(DocumentError) -> Value
    ) throws(DocumentError) -> Value {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DocumentError(file: path, pointer: JSONPointer(tokens: []), message: "cannot read the file")
        }
        do throws(DocumentError) {
            let document: JSONValue
            do {
                document = try JSONParser.parse(Array(data))
            } catch {
                throw DocumentError(pointer: JSONPointer(tokens: []), message: error.description)
            }
            return try body(document, URL(fileURLWithPath: path).deletingLastPathComponent())
        } catch {
            var located = error
            located.file = path
            throw located
        }
    }

    /// Reads a configuration document; relative paths are resolved against `baseDirectory`.
    public static func parse(
        _ document: JSONValue,
        baseDirectory: URL,
        environment: [String: String]
    ) throws(DocumentError) -> BridgeConfiguration {
        let root = try ObjectReader(document, at: JSONPointer(tokens: []), allowedKeys: topKeys)
        var configuration = BridgeConfiguration.embeddedDefault(workingDirectory: baseDirectory)
        configuration.sources = []
        configuration.risk = RiskSettings()
        if let listen = try root.object("listen", allowedKeys: ["host", "port"]) {
            configuration.listen = try readAddress(listen, default: configuration.listen)
        }
        if let admin = try root.object("admin", allowedKeys: ["host", "port"]) {
            configuration.admin = try readAddress(admin, default: configuration.admin)
        }
        if let limits = try root.object("limits", allowedKeys: ["maxBodyBytes", "replayWindowSeconds"]) {
            configuration.maxBodyBytes = try limits.integer("maxBodyBytes", in: 256...16_777_216) ?? configuration.maxBodyBytes
            if let window = try limits.integer("replayWindowSeconds", in: 172_800...31_536_000) {
                configuration.replayWindow = TimeInterval(window)
            }
        }
        if let exchange = try root.object("exchange", allowedKeys: ["kind", "baseURL", "demo", "credentials", "webSocketURL", "publicWebSocketURL"]) {
            configuration.exchange = try readExchange(exchange, baseDirectory: baseDirectory, environment: environment)
        }
        if let journal = try root.object("journal", allowedKeys: ["directory", "segmentBytes"]) {
            configuration.journalDirectory = ConfigurationPath.resolve(
                try journal.requiredString("directory"),
                against: baseDirectory
            )
            if let bytes = try journal.integer("segmentBytes", in: 65536...(1 << 30)) { configuration.journalSegmentBytes = bytes }
        }
        if let logging = try root.object("logging", allowedKeys: ["format"]), let format = try logging.string("format") {
            guard let logFormat = LogFormat(rawValue: format) else {
                throw logging.error("format", "expected \"text\" or \"json\"")
            }
            configuration.logFormat = logFormat
        }
        if let notifications = try root.objectArray("notifications", allowedKeys: NotificationTarget.keys) {
            configuration.notifications = try notifications.enumerated().map { (index, reader) throws(DocumentError) in
                try NotificationTarget.read(reader, index: index, baseDirectory: baseDirectory, environment: environment)
            }
        }
        if let rules = try root.stringArray("rules") {
            configuration.rulePaths = rules.map { ConfigurationPath.resolve($0, against: baseDirectory) }
        }
        if let sources = try root.objectArray("sources", allowedKeys: SourceSettings.keys) {
            var names = Set<String>()
            for reader in sources {
                let source = try SourceSettings.read(reader, baseDirectory: baseDirectory, environment: environment)
                guard names.insert(source.name).inserted else {
                    throw reader.error("name", "another source is already named \"\(source.name)\"")
                }
                configuration.sources.append(source)
            }
        }
        for (i, text) in (try root.stringArray("trustedProxies") ?? []).enumerated() {
            guard let range = IPRange(text) else {
                throw DocumentError(
                    pointer: JSONPointer(tokens: ["trustedProxies", String(i)]),
                    message: "\"\(text)\" is not an IP address or CIDR range"
                )
            }
            configuration.trustedProxies.append(range)
        }
        if let breadth = IPRange.tooBroad(configuration.trustedProxies) {
            throw root.error(
                "trustedProxies",
                "these ranges cover \(breadth): every such peer could then name any client in X-Forwarded-For; list your proxies' addresses"
            )
        }
        if let risk = try root.object("risk", allowedKeys: RiskSettings.keys) {
            configuration.risk = try RiskSettings.read(risk, baseDirectory: baseDirectory)
        }
        return configuration
    }

    private static func readAddress(_ reader: ObjectReader, default address: ListenAddress) throws(DocumentError) -> ListenAddress {
        ListenAddress(
            host: try reader.string("host") ?? address.host,
            port: try reader.integer("port", in: 0...65535) ?? address.port
        )
    }

    /// The host of the ws(s) URL at `key`, and whether it is `wss`; nil when the key is absent.
    /// - Throws: ``DocumentError`` when it is not a plain ws(s) URL.
    private static func webSocketHost(
        _ reader: ObjectReader,
        _ key: String,
        example: String
    ) throws(DocumentError) -> (name: String, secure: Bool)? {
        guard let text = try reader.string(key) else { return nil }
        guard let url = URL(string: text), url.scheme == "wss" || url.scheme == "ws", let host = url.host, !host.isEmpty,
            !hasAmbiguousAuthority(url, text: text)
        else {
            throw reader.error(key, "expected a ws(s) URL such as \(example) (no user info, backslash or percent-encoding)")
        }
        return (host, url.scheme == "wss")
    }

    private static func readExchange(
        _ reader: ObjectReader,
        baseDirectory: URL,
        environment: [String: String]
    ) throws(DocumentError) -> ExchangeSettings {
        let kindText = try reader.requiredString("kind")
        guard let kind = ExchangeSettings.Kind(rawValue: kindText) else {
            throw reader.error("kind", "unknown exchange kind \"\(kindText)\" (use \"okx\" or \"sim\")")
        }
        let demo = try reader.bool("demo") ?? false
        guard kind == .okx else {
            return ExchangeSettings(kind: .sim, baseURL: try reader.string("baseURL") ?? "", demo: demo, credentials: nil)
        }
        let baseURL = try reader.string("baseURL") ?? "https://www.okx.com"
        guard let url = URL(string: baseURL), url.scheme == "https" || url.scheme == "http", let host = url.host, !host.isEmpty,
            !Self.hasAmbiguousAuthority(url, text: baseURL)
        else {
            throw reader.error("baseURL", "expected an http(s) URL such as https://www.okx.com (no user info, backslash or percent-encoding)")
        }
        // Every request carries the API key and passphrase: in clear only to this machine (the simulator in tests).
        guard url.scheme == "https" || Self.isLoopback(host: host) else {
            throw reader.error(
                "baseURL",
                "http:// would send the API key and passphrase in clear; use https:// (http:// only to 127.0.0.1, ::1 or localhost)"
            )
        }
        guard
            let credentials = try reader.object(
                "credentials",
                allowedKeys: ["apiKeyEnv", "apiKeyFile", "secretKeyEnv", "secretKeyFile", "passphraseEnv", "passphraseFile"]
            )
        else {
            throw reader.error("credentials", "required for exchange kind \"okx\"")
        }
        func secret(_ base: String) throws(DocumentError) -> Secret {
            let source = try SecretSource.read(credentials, base: base, baseDirectory: baseDirectory)
            let key = credentials.has(base + "Env") ? base + "Env" : base + "File"
            return try source.resolve(environment: environment, pointer: credentials.pointer.appending(key))
        }
        // The login message carries the API key and passphrase: ws:// only to this machine.
        if let host = try Self.webSocketHost(reader, "webSocketURL", example: "wss://ws.okx.com:8443/ws/v5/private"),
            !Self.isLoopback(host: host.name), !host.secure
        {
            throw reader.error(
                "webSocketURL",
                "ws:// would send the API key and passphrase in clear; use wss:// (ws:// only to 127.0.0.1, ::1 or localhost)"
            )
        }
        // Prices over ws:// could be changed on the way: the same rule.
        if let host = try Self.webSocketHost(reader, "publicWebSocketURL", example: "wss://ws.okx.com:8443/ws/v5/public"),
            !Self.isLoopback(host: host.name), !host.secure
        {
            throw reader.error(
                "publicWebSocketURL",
                "ws:// would let anyone on the way change the prices decisions use; use wss:// (ws:// only to 127.0.0.1, ::1 or localhost)"
            )
        }
        return ExchangeSettings(
            kind: .okx,
            baseURL: baseURL,
            demo: demo,
            webSocketURL: try reader.string("webSocketURL"),
            publicWebSocketURL: try reader.string("publicWebSocketURL"),
            credentials: OKXCredentials(
                apiKey: try secret("apiKey"),
                secretKey: try secret("secretKey"),
                passphrase: try secret("passphrase")
            )
        )
    }
}

extension RiskSettings {
    static let keys: Set<String> = [
        "dryRun", "killSwitchFile", "killSwitchCancelsOpenOrders", "allowedInstruments", "maxOrderNotional", "maxDailyNotional", "maxPriceAgeSeconds",
    ]

    static func read(_ reader: ObjectReader, baseDirectory: URL) throws(DocumentError) -> RiskSettings {
        var risk = RiskSettings()
        risk.dryRun = try reader.bool("dryRun") ?? false
        risk.killSwitchFile = try reader.string("killSwitchFile").map { ConfigurationPath.resolve($0, against: baseDirectory) }
        risk.killSwitchCancelsOpenOrders = try reader.bool("killSwitchCancelsOpenOrders") ?? false
        risk.allowedInstruments = try reader.stringArray("allowedInstruments").map(Set.init)
        risk.maxOrderNotional = try reader.positiveDecimal("maxOrderNotional")
        risk.maxDailyNotional = try reader.positiveDecimal("maxDailyNotional")
        risk.maxPriceAgeSeconds = try reader.integer("maxPriceAgeSeconds", in: 1...86400) ?? risk.maxPriceAgeSeconds
        return risk
    }
}
