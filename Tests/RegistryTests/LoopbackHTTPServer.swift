import Foundation
import TestSupport

/// A small HTTP/1.1 server on loopback, one thread per connection, that answers as a test tells
/// it: properly, or with bad JSON, a huge body, a slow drip, a reset or no answer at all.
final class LoopbackHTTPServer: @unchecked Sendable {
    struct Request: Sendable {
        var method: String
        var target: String
        var headers: [String: String]
        var body: Data
    }

    enum Behaviour: Sendable {
        case reply(status: Int, body: Data, contentType: String = "application/json")
        /// A 200 whose body is not JSON.
        case badJSON
        /// A chunked body that goes on and on.
        case hugeChunked
        /// A Content-Length far over any limit.
        case hugeDeclared
        /// Headers, then one byte every 200 ms.
        case slowDrip
        /// Reads the request, then resets the connection.
        case reset
        /// Reads the request and never answers.
        case silent
    }

    let listener: Int32
    let port: Int
    let handler: @Sendable (Request) -> Behaviour
    private let lock = NSLock()
    private var stopped = false
    private var connections: [Int32] = []
    private var requestCount = 0

    var requests: Int { lock.lock(); defer { lock.unlock() }; return requestCount }
    var isStopped: Bool { lock.lock(); defer { lock.unlock() }; return stopped }

    init(handler: @escaping @Sendable (Request) -> Behaviour) throws {
        self.handler = handler
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        listener = fd
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard bound == 0, listen(fd, 64) == 0 else { throw ProcessRunnerError.launchFailed("loopback server", "bind/listen failed") }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = Int(UInt16(bigEndian: addr.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    func stop() {
        lock.lock()
        stopped = true
        let open = connections
        connections = []
        lock.unlock()
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    private func acceptLoop() {
        while !isStopped {
            let fd = accept(listener, nil, nil)
            if fd < 0 { if isStopped { return }; continue }
            lock.lock(); connections.append(fd); lock.unlock()
            let thread = Thread { [self] in serve(fd) }
            thread.start()
        }
    }

    private func forget(_ fd: Int32) {
        lock.lock(); connections.removeAll { $0 == fd }; lock.unlock()
    }

    private func send(_ fd: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.send(fd, raw.baseAddress.map { $0 + offset }, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
    }

    private func readRequest(_ fd: Int32) -> Request? {
        var buffer = Data()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if let range = buffer.range(of: Data("\r\n\r\n".utf8)) {
                let head = String(decoding: buffer[..<range.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
                let parts = (head.first ?? "").split(separator: " ")
                guard parts.count >= 2 else { return nil }
                var headers: [String: String] = [:]
                for line in head.dropFirst() {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                let length = Int(headers["content-length"] ?? "0") ?? 0
                var body = Data(buffer[range.upperBound...])
                while body.count < length {
                    let n = recv(fd, &chunk, chunk.count, 0)
                    if n <= 0 { return nil }
                    body.append(contentsOf: chunk[0..<n])
                }
                return Request(method: String(parts[0]), target: String(parts[1]), headers: headers, body: body)
            }
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { return nil }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }

    private func serve(_ fd: Int32) {
        defer { forget(fd); close(fd) }
        while !isStopped, let request = readRequest(fd) {
            lock.lock(); requestCount += 1; lock.unlock()
            switch handler(request) {
            case .reply(let status, let body, let type):
                var head = "HTTP/1.1 \(status) X\r\nContent-Type: \(type)\r\nContent-Length: \(body.count)\r\n\r\n"
                if status >= 400 { head = head.replacingOccurrences(of: "\r\n\r\n", with: "\r\nConnection: keep-alive\r\n\r\n") }
                guard send(fd, Data(head.utf8) + body) else { return }
            case .badJSON:
                let body = Data("{\"uscc\": \"9144\", oops".utf8)
                _ = send(fd, Data("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body)
            case .hugeChunked:
                guard send(fd, Data("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)) else { return }
                let chunk = Data("10000\r\n".utf8) + Data(repeating: 0x20, count: 0x10000) + Data("\r\n".utf8)
                for _ in 0..<4096 { if isStopped || !send(fd, chunk) { return } }
                return
            case .hugeDeclared:
                _ = send(fd, Data("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n{".utf8))
                Thread.sleep(forTimeInterval: 3)
                return
            case .slowDrip:
                guard send(fd, Data("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n".utf8)) else { return }
                for _ in 0..<100 {
                    if isStopped || !send(fd, Data(" ".utf8)) { return }
                    Thread.sleep(forTimeInterval: 0.2)
                }
                return
            case .reset:
                var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
                return
            case .silent:
                for _ in 0..<100 where !isStopped { Thread.sleep(forTimeInterval: 0.1) }
                return
            }
        }
    }
}
