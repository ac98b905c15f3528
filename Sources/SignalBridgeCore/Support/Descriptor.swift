import Glibc

/// Whole reads and writes on a file descriptor: partial and interrupted (`EINTR`) calls are carried on.
public enum Descriptor {
    /// Writes all of `bytes` to `fd`.
    /// - Returns: nil once every byte is written; else the `errno` of the write that failed (`EIO` for one that wrote
    ///   nothing).
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32? {
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return count < 0 ? errno : EIO }
            written += count
        }
        return nil
    }

    /// Reads up to `count` bytes from `fd`, fewer when the file ends first.
    /// - Returns: the bytes read, or the `errno` of the read that failed.
    public static func read(_ fd: Int32, upTo count: Int) -> Result<[UInt8], Errno> {
        var bytes = [UInt8](repeating: 0, count: max(count, 0))
        var filled = 0
        while filled < bytes.count {
            let n = bytes.withUnsafeMutableBytes { buffer in
                Glibc.read(fd, buffer.baseAddress.map { $0 + filled }, buffer.count - filled)
            }
            if n < 0, errno == EINTR { continue }
            if n < 0 { return .failure(Errno(errno)) }
            if n == 0 { break }
            filled += n
        }
        return .success(Array(bytes[..<filled]))
    }

    /// An `errno` value, with its text.
    public struct Errno: Error, Sendable, CustomStringConvertible {
        public var code: Int32
        public init(_ code: Int32) { self.code = code }
        public var description: String { String(cString: strerror(code)) }
    }
}
