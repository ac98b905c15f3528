import Foundation

/// All rules in force, with the hash that identifies them in the journal.
public struct RuleSet: Sendable {
    /// One loaded file.
    public struct File: Sendable, Equatable {
        public var path: String
        /// Hex SHA-256 of the file's bytes.
        public var sha256: String

        public init(path: String, sha256: String) {
            self.path = path
            self.sha256 = sha256
        }
    }

    public let rules: [Rule]
    public var files: [File]
    /// Hex SHA-256 over the files' paths and hashes: changes whenever any rule file changes.
    public var hash: String
    /// Which rules a payload could match.
    let index: RuleIndex

    public init(rules: [Rule], files: [File]) {
        self.rules = rules
        self.index = RuleIndex(rules)
        self.files = files
        self.hash = Hex.sha256(files.map { "\($0.path)\u{0}\($0.sha256)\n" }.joined().utf8)
    }

    /// The instruments the rules name literally (not through `${…}`).
    public var literalInstruments: Set<String> { Set(rules.flatMap(\.orders).compactMap(\.instId.literal)) }

    /// Loads every rule file under `paths` (files, or folders whose `*.json` files are read; `schema.json` skipped).
    /// - Parameter knownSources: when given, a rule naming another source is an error.
    /// - Throws: ``RuleFileErrors`` with every mistake found across all files.
    public static func load(paths: [String], knownSources: Set<String>?) throws(RuleFileErrors) -> RuleSet {
        var errors: [DocumentError] = []
        var rules: [Rule] = []
        var files: [File] = []
        for file in ruleFiles(in: paths, errors: &errors) {
            guard let data = FileManager.default.contents(atPath: file) else {
                errors.append(DocumentError(file: file, pointer: JSONPointer(tokens: []), message: "cannot read the file"))
                continue
            }
            files.append(File(path: file, sha256: Hex.sha256(data)))
            let document: JSONValue
            do {
                document = try JSONParser.parse(Array(data))
            } catch {
                errors.append(DocumentError(file: file, pointer: JSONPointer(tokens: []), message: error.description))
                continue
            }
            switch RuleParser.parse(document, file: file) {
            case .success(let parsed): rules += parsed
            case .failure(let failure): errors += failure.errors
            }
        }
        errors += crossCheck(rules, knownSources: knownSources)
        guard errors.isEmpty else { throw RuleFileErrors(errors: errors) }
        return RuleSet(rules: rules, files: files)
    }

    private static func ruleFiles(in paths: [String], errors: inout [DocumentError]) -> [String] {
        var result: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                errors.append(DocumentError(file: path, pointer: JSONPointer(tokens: []), message: "no such file or folder"))
                continue
            }
            if isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                result += names.filter { $0.hasSuffix(".json") && $0 != "schema.json" }.sorted()
                    .map { URL(fileURLWithPath: path).appendingPathComponent($0).path }
            } else {
                result.append(path)
            }
        }
        return result
    }

    private static func crossCheck(_ rules: [Rule], knownSources: Set<String>?) -> [DocumentError] {
        var errors: [DocumentError] = []
        var seen: [String: String] = [:]
        for rule in rules {
            if let other = seen[rule.id] {
                errors.append(
                    DocumentError(
                        file: rule.file,
                        pointer: rule.pointer.appending("id"),
                        message: "rule \"\(rule.id)\": the id is also used in \(other)"
                    )
                )
            }
            seen[rule.id] = rule.file
            if let knownSources, !knownSources.contains(rule.source) {
                let known = knownSources.sorted().joined(separator: ", ")
                errors.append(
                    DocumentError(
                        file: rule.file,
                        pointer: rule.pointer.appending("source"),
                        message: "rule \"\(rule.id)\": unknown source \"\(rule.source)\" (configured: \(known))"
                    )
                )
            }
        }
        return errors
    }

    /// Sizes that can never be ordered: a fixed base size, or a pointer size's `max`, below the minimum of a
    /// literal instrument in `instruments` (after rounding down to its lot size).
    public func impossibleSizes(against instruments: [Instrument]) -> [DocumentError] {
        let byId = Dictionary(instruments.map { ($0.instId, $0) }, uniquingKeysWith: { $1 })
        var errors: [DocumentError] = []
        for rule in rules {
            for (index, order) in rule.orders.enumerated() {
                guard let instId = order.instId.literal, let instrument = byId[instId] else { continue }
                let largest: Decimal
                switch order.size {
                case .base(let amount): largest = amount
                case .pointer(_, .base, let max): largest = max
                default: continue
                }
                let rounded = largest.rounded(toMultipleOf: instrument.lotSz, .down)
                if rounded < instrument.minSz {
                    errors.append(
                        DocumentError(
                            file: rule.file,
                            pointer: rule.pointer.appending("orders").appending(index).appending("size"),
                            message:
                                "rule \"\(rule.id)\": \(DecimalText.format(largest)) \(instrument.baseCcy) is below the minimum \(DecimalText.format(instrument.minSz)) \(instrument.baseCcy) of \(instId); this order can never be placed"
                        )
                    )
                }
            }
        }
        return errors
    }
}
