import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A secret value (key, passphrase, token). It never prints itself: logs, errors and `dump` show `<redacted>`.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The secret's bytes. Read it only to sign or compare.
    public let bytes: [UInt8]

    public init(_ text: String) { bytes = Array(text.utf8) }
    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// The secret as UTF-8 text.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: []) }
}

/// Where a secret comes from: an environment variable or a file, never the configuration itself.
public enum SecretSource: Sendable, Equatable {
    case environment(String)
    case file(String)

    /// Reads `<base>Env` or `<base>File` from `reader`; exactly one must be there.
    static func read(_ reader: ObjectReader, base: String, baseDirectory: URL) throws(DocumentError) -> SecretSource {
        let env = try reader.string(base + "Env")
        let file = try reader.string(base + "File")
        switch (env, file) {
        case (let name?, nil): return .environment(name)
        case (nil, let path?): return .file(ConfigurationPath.resolve(path, against: baseDirectory))
        case (nil, nil):
            throw reader.error(base + "Env", "required: name the environment variable (\(base)Env) or file (\(base)File) holding the secret")
        case (_?, _?): throw reader.error(base + "File", "give either \(base)Env or \(base)File, not both")
        }
    }

    /// Reads the secret; `pointer` names the config key in the error when it is missing.
    public func resolve(environment: [String: String], pointer: JSONPointer) throws(DocumentError) -> Secret {
        switch self {
        case .environment(let name):
            guard let value = environment[name], !value.isEmpty else {
                throw DocumentError(pointer: pointer, message: "environment variable \(name) is not set or empty")
            }
            return Secret(value)
        case .file(let path):
            // A secret others can read is no longer a secret: refused, naming the file (SPEC 3a).
            var status = stat()
            guard stat(path, &status) == 0 else {
                throw DocumentError(pointer: pointer, message: "cannot read secret file \(path): \(String(cString: strerror(errno)))")
            }
            guard status.st_mode & 0o077 == 0 else {
                let mode = String(status.st_mode & 0o777, radix: 8)
                throw DocumentError(
                    pointer: pointer,
                    message: "secret file \(path) can be read or changed by group or others (mode \(mode)); run chmod 600 \(path)"
                )
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw DocumentError(pointer: pointer, message: "cannot read secret file \(path)")
            }
            var text = String(decoding: data, as: UTF8.self)
            while text.last == "\n" || text.last == "\r" { text.removeLast() }
            guard !text.isEmpty else { throw DocumentError(pointer: pointer, message: "secret file \(path) is empty") }
            return Secret(text)
        }
    }
}

/// Resolves relative paths in a configuration against the configuration file's folder.
public enum ConfigurationPath {
    /// `path` itself when absolute, else relative to `base`.
    public static func resolve(_ path: String, against base: URL) -> String {
        if path.hasPrefix("/") { return path }
        return base.appendingPathComponent(path).standardizedFileURL.path
    }
}
