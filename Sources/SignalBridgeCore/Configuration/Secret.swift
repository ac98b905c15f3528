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
            // A name that is no variable name may be the secret itself, pasted in the wrong place: never repeated.
            guard name.utf8.count <= 256, let first = name.utf8.first, first == UInt8(ascii: "_") || isASCIILetter(first),
                name.utf8.allSatisfy({ $0 == UInt8(ascii: "_") || isASCIILetter($0) || (0x30...0x39).contains($0) })
            else {
                throw DocumentError(
                    pointer: pointer,
                    message: "expected the name of an environment variable (letters, digits and _), not the secret itself"
                )
            }
            guard let value = environment[name], !value.isEmpty else {
                throw DocumentError(pointer: pointer, message: "environment variable \(name) is not set or empty")
            }
            return Secret(value)
        case .file(let path):
            let data = try Self.readSecretFile(path, pointer: pointer, credentialsDirectory: environment["CREDENTIALS_DIRECTORY"])
            var text = String(decoding: data, as: UTF8.self)
            while text.last == "\n" || text.last == "\r" { text.removeLast() }
            guard !text.isEmpty else { throw DocumentError(pointer: pointer, message: "secret file \(path) is empty") }
            return Secret(text)
        }
    }
}

private func isASCIILetter(_ byte: UInt8) -> Bool { (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) }

extension SecretSource {
    /// The largest secret file read.
    static let maxSecretFileBytes = 65536

    /// The bytes of the secret file at `path`, checked on the descriptor that is read (so it cannot be swapped in
    /// between): a regular file of at most ``maxSecretFileBytes`` that neither group nor others can read or change
    /// (SPEC 3a); refused otherwise, naming the file. A file systemd passed as a credential (under
    /// `credentialsDirectory`, its `$CREDENTIALS_DIRECTORY`) may show group read: newer systemd grants the service's
    /// user access with an ACL, whose mask shows as the group bits.
    static func readSecretFile(_ path: String, pointer: JSONPointer, credentialsDirectory: String? = nil) throws(DocumentError) -> [UInt8] {
        let fd = Glibc.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            // The path is not repeated: a secret pasted in place of a path would be.
            throw DocumentError(pointer: pointer, message: "cannot open the secret file this names: \(String(cString: strerror(errno)))")
        }
        defer { Glibc.close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            throw DocumentError(pointer: pointer, message: "secret file \(path) is not a regular file")
        }
        let isCredential = credentialsDirectory.map { !$0.isEmpty && path.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") } ?? false
        guard status.st_mode & (isCredential ? 0o037 : 0o077) == 0 else {
            let mode = String(status.st_mode & 0o777, radix: 8)
            throw DocumentError(
                pointer: pointer,
                message: "secret file \(path) can be read or changed by group or others (mode \(mode)); run chmod 600 \(path)"
            )
        }
        guard status.st_size <= maxSecretFileBytes else {
            throw DocumentError(pointer: pointer, message: "secret file \(path) is larger than \(maxSecretFileBytes) bytes")
        }
        switch Descriptor.read(fd, upTo: Int(status.st_size)) {
        case .success(let bytes): return bytes
        case .failure(let error): throw DocumentError(pointer: pointer, message: "secret file \(path) cannot be read: \(error)")
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
