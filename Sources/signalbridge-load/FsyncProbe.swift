import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A bare fsync on the journal's disk: appends of one record-sized line to a file in `directory`, each followed by
/// `fsync`, as the journal does for a batch.
enum FsyncProbe {
    static func measure(directory: String, count: Int) throws -> Latencies {
        let path = directory + "/fsync-probe"
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LoadError("cannot write \(path): \(String(cString: strerror(errno)))") }
        defer {
            close(fd)
            unlink(path)
        }
        let line = [UInt8](repeating: 0x61, count: 300) + [0x0A]
        var samples: [UInt64] = []
        samples.reserveCapacity(count)
        for _ in 0..<count {
            let began = DispatchTime.now().uptimeNanoseconds
            guard line.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == line.count, fsync(fd) == 0 else {
                throw LoadError("write or fsync failed on \(path): \(String(cString: strerror(errno)))")
            }
            samples.append(DispatchTime.now().uptimeNanoseconds - began)
        }
        return Latencies(nanoseconds: samples)
    }
}
