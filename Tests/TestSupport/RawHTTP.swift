import Foundation

/// A raw HTTP/1.1 connection to a loopback port, to send what no well-behaved client would:
/// non-normal paths, hostile headers, bodies that never come.
public final class RawHTTPConnection {
    public let fd: Int32

    /// Connects to 127.0.0.1:`port`; throws when it cannot.
    public init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ProcessRunnerError.launchFailed("socket", "no descriptor") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        // No close here: a throw after `fd` is set runs deinit, which closes it. Closing it here
        // too closed the number twice, by then perhaps another thread's fresh socket.
        guard rc == 0 else { throw ProcessRunnerError.launchFailed("connect", "127.0.0.1:\(port): errno \(errno)") }
    }

    deinit { close(fd) }

    /// Sends bytes; false when the peer has closed.
    @discardableResult
    public func send(_ data: Data) -> Bool {
        data.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                let n = Foundation.send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                if n <= 0 { return false }
                sent += n
            }
            return true
        }
    }

    /// Sends text as UTF-8.
    @discardableResult
    public func send(_ text: String) -> Bool { send(Data(text.utf8)) }

    /// Reads one answer (head and a Content-Length body) within `timeout` seconds: status and
    /// body, or nil when the connection closed or nothing complete came in time.
    public func readResponse(timeout: TimeInterval = 5) -> (status: Int, body: String)? {
        var buffer = Data()
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let parsed = Self.parse(buffer) { return parsed }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let left = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
            guard poll(&pfd, 1, left) > 0 else { break }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { return Self.parse(buffer) }
            buffer.append(contentsOf: chunk[0..<n])
        }
        return Self.parse(buffer)
    }

    /// Reads `count` answers sent one after another on this connection (pipelined requests'),
    /// each within what is left of `timeout` seconds: as many as came complete, in order.
    public func readResponses(_ count: Int, timeout: TimeInterval = 5) -> [(status: Int, body: String)] {
        var buffer = Data(), answers: [(status: Int, body: String)] = []
        let deadline = Date().addingTimeInterval(timeout)
        while answers.count < count {
            if let (parsed, used) = Self.parseOne(buffer) {
                answers.append(parsed)
                buffer = Data(buffer.dropFirst(used))
                continue
            }
            guard Date() < deadline else { break }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000))) > 0 else { break }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { break }
            buffer.append(contentsOf: chunk[0..<n])
        }
        return answers
    }

    /// True when the server closes the connection within `timeout` seconds.
    public func closedByPeer(within timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000))) > 0 else { return false }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { return true }
        }
        return false
    }

    static func parse(_ data: Data) -> (status: Int, body: String)? { parseOne(data)?.answer }

    /// The first answer in `data` and how many bytes it took.
    static func parseOne(_ data: Data) -> (answer: (status: Int, body: String), used: Int)? {
        guard let end = data.range(of: Data("\r\n\r\n".utf8)) else { return nil }
        let head = String(decoding: data[data.startIndex..<end.lowerBound], as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        guard let first = lines.first, first.hasPrefix("HTTP/1.1 "), let status = Int(first.dropFirst(9).prefix(3)) else { return nil }
        var length = 0
        for line in lines.dropFirst() where line.lowercased().hasPrefix("content-length:") {
            length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        let body = data[end.upperBound...]
        guard body.count >= length else { return nil }
        return ((status, String(decoding: body.prefix(length), as: UTF8.self)), end.upperBound - data.startIndex + length)
    }

    /// One request on a fresh connection: `method target`, the headers, the body.
    public static func request(port: Int, _ method: String, _ target: String, headers: [(String, String)] = [],
                               body: Data = Data(), timeout: TimeInterval = 5) throws -> (status: Int, body: String)? {
        let connection = try RawHTTPConnection(port: port)
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        connection.send(Data(head.utf8) + body)
        return connection.readResponse(timeout: timeout)
    }
}
