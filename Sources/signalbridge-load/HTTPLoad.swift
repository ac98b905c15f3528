import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A deliberately small HTTP/1.1 load generator: `concurrency` threads, each with one keep-alive connection to
/// 127.0.0.1, writing prepared requests and reading `Content-Length` answers with blocking sockets. It costs the
/// machine as little as possible, so that the server under test has the cores; the same generator drives the bare
/// endpoint and the bridge, so their ratio compares servers, not clients.
struct HTTPLoad: Sendable {
    /// One request's outcome.
    struct Sample: Sendable {
        /// From its scheduled time (fixed rate) or its send (as fast as possible) to the end of its answer.
        var latencyNanoseconds: UInt64
        /// When it was sent, in Unix seconds (to compare with the simulator's order times).
        var sentAt: Double
        var status: Int
        /// The answer's body, kept only when asked for.
        var body: [UInt8]
    }

    let port: Int
    let concurrency: Int
    /// Requests per second, or nil for as fast as the connections allow.
    let rate: Double?
    let keepBodies: Bool

    /// Sends every request of `requests` once and returns their samples in request order, with the wall time the
    /// run took.
    func run(_ requests: [[UInt8]]) throws(LoadError) -> (samples: [Sample?], seconds: Double) {
        let next = Atomic<Int>(0)
        let samples = Mutex<[Sample?]>(Array(repeating: nil, count: requests.count))
        let failure = Mutex<LoadError?>(nil)
        let done = DispatchGroup()
        let start = DispatchTime.now().uptimeNanoseconds + 20_000_000
        for _ in 0..<max(1, concurrency) {
            done.enter()
            let thread = Thread { [self] in
                defer { done.leave() }
                do throws(LoadError) {
                    let connection = try Connection(port: port)
                    while true {
                        let index = next.add(1, ordering: .relaxed).oldValue
                        guard index < requests.count else { return }
                        let scheduled = rate.map { start + UInt64(Double(index) * 1e9 / $0) } ?? 0
                        if scheduled > 0 { Self.sleep(until: scheduled) }
                        let sentAt = Date().timeIntervalSince1970
                        let began = scheduled > 0 ? scheduled : DispatchTime.now().uptimeNanoseconds
                        let answer = try connection.exchange(requests[index])
                        let ended = DispatchTime.now().uptimeNanoseconds
                        let sample = Sample(
                            latencyNanoseconds: ended - min(began, ended),
                            sentAt: sentAt,
                            status: answer.status,
                            body: keepBodies ? answer.body : []
                        )
                        samples.withLock { $0[index] = sample }
                    }
                } catch {
                    failure.withLock { $0 = $0 ?? error }
                }
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        done.wait()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - min(start, DispatchTime.now().uptimeNanoseconds)) / 1e9
        if let error = failure.withLock({ $0 }) { throw error }
        return (samples.withLock { $0 }, seconds)
    }

    private static func sleep(until deadline: UInt64) {
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < deadline else { return }
            let wait = deadline - now
            var request = timespec(tv_sec: Int(wait / 1_000_000_000), tv_nsec: Int(wait % 1_000_000_000))
            nanosleep(&request, nil)
        }
    }

    /// One blocking keep-alive connection, closed when it is released.
    final class Connection {
        private let fd: Int32
        private var buffer = [UInt8](repeating: 0, count: 1 << 16)
        private var filled = 0

        init(port: Int) throws(LoadError) {
            guard let port = UInt16(exactly: port), port > 0 else { throw LoadError("\(port) is not a TCP port") }
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw LoadError("socket: \(String(cString: strerror(errno)))") }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(port.bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { throw LoadError("cannot connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))") }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            // An answer that never comes ends the run with an error, not a hang.
            var timeout = timeval(tv_sec: 30, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit { close(fd) }

        /// Writes `request` and reads its answer.
        func exchange(_ request: [UInt8]) throws(LoadError) -> (status: Int, body: [UInt8]) {
            var written = 0
            while written < request.count {
                let count = request[written...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard count > 0 else { throw LoadError("the server closed the connection while a request was written") }
                written += count
            }
            while true {
                if let answer = try parse() { return answer }
                if filled == buffer.count { buffer += [UInt8](repeating: 0, count: buffer.count) }
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + filled, $0.count - filled, 0) }
                if count < 0, errno == EINTR { continue }
                guard count > 0 else {
                    throw LoadError(count == 0 ? "the server closed the connection before answering" : "no answer within 30 s")
                }
                filled += count
            }
        }

        /// The first whole answer in the buffer, removed from it; nil when it is not all there yet.
        private func parse() throws(LoadError) -> (status: Int, body: [UInt8])? {
            let separator: [UInt8] = [13, 10, 13, 10]
            guard filled >= 4, let end = (0...(filled - 4)).first(where: { buffer[$0..<($0 + 4)].elementsEqual(separator) }) else { return nil }
            let head = String(decoding: buffer[0..<end], as: UTF8.self)
            let lines = head.split(separator: "\r\n")
            guard let statusLine = lines.first, statusLine.count >= 12, let status = Int(statusLine.dropFirst(9).prefix(3)) else {
                throw LoadError("not an HTTP answer: \(head.prefix(80))")
            }
            let length = lines.dropFirst().compactMap { line -> Int? in
                let parts = line.split(separator: ":", maxSplits: 1)
                guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
                return Int(parts[1].trimmingCharacters(in: .whitespaces))
            }.first
            guard let length, (0...(64 << 20)).contains(length) else {
                throw LoadError("an answer without a usable Content-Length: \(head.prefix(80))")
            }
            let total = end + 4 + length
            guard filled >= total else { return nil }
            let body = Array(buffer[(end + 4)..<total])
            buffer.withUnsafeMutableBytes { _ = memmove($0.baseAddress!, $0.baseAddress! + total, filled - total) }
            filled -= total
            return (status, body)
        }
    }
}

/// Why a load run stopped.
struct LoadError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Latency figures of a set of samples, in milliseconds.
struct Latencies: Sendable {
    var p50: Double
    var p99: Double
    var p999: Double

    init(nanoseconds values: [UInt64]) {
        let sorted = values.sorted()
        func at(_ q: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            return Double(sorted[min(sorted.count - 1, Int((Double(sorted.count) * q).rounded(.down)))]) / 1e6
        }
        p50 = at(0.5)
        p99 = at(0.99)
        p999 = at(0.999)
    }
}
