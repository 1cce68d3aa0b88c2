import Foundation
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// Sends bytes as they are to 127.0.0.1:`port` and reads until the server closes or `timeout` passes: for
/// requests no HTTP client would send (a chunked body with no length, an 100 KiB header, a broken line).
///
/// The blocking socket calls run on NIO's thread pool, never on the concurrency pool's few threads (an
/// in-process server under test needs those to answer).
public func rawHTTP(port: Int, _ request: [UInt8], timeout: Duration = .seconds(10)) async throws -> RawAnswer {
    try await NIOThreadPool.singleton.runIfActive {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw ChildProcessError("socket: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw ChildProcessError("connect: \(String(cString: strerror(errno)))") }
        var seconds = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &seconds, socklen_t(MemoryLayout<timeval>.size))
        var sent = 0
        while sent < request.count {
            let count = request.withUnsafeBytes { send(descriptor, $0.baseAddress! + sent, request.count - sent, 0) }
            if count <= 0 { break }  // the server may answer and close before taking everything
            sent += count
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }  // closed (or reset): what arrived before still counts
            received += buffer[0..<count]
            if let answer = RawAnswer(received), answer.isComplete { return answer }
        }
        guard let answer = RawAnswer(received) else {
            throw ChildProcessError("no HTTP answer: \(String(decoding: received, as: UTF8.self))")
        }
        return answer
    }
}

/// An HTTP/1.1 answer read off a socket.
public struct RawAnswer: Sendable, CustomStringConvertible {
    public var status: Int
    /// Header names in lower case.
    public var headers: [String: String]
    public var body: [UInt8]
    var isComplete: Bool

    init?(_ bytes: [UInt8]) {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = bytes.indices.first(where: { bytes[$0...].starts(with: separator) }) else { return nil }
        let head = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        guard let statusLine = head.first, statusLine.split(separator: " ").count >= 2,
            let status = Int(statusLine.split(separator: " ")[1])
        else { return nil }
        self.status = status
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        self.headers = headers
        let body = Array(bytes[(end + 4)...])
        self.body = body
        isComplete = headers["content-length"].flatMap(Int.init).map { body.count >= $0 } ?? false
    }

    public var object: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]) ?? [:]
    }

    public var description: String { "\(status) \(String(decoding: body, as: UTF8.self))" }
}
