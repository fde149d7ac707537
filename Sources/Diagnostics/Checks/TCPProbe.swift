import Foundation

/// A TCP connect to host:port with a deadline, to tell "refused" and "no route" apart quickly
/// (an HTTP client retries refused connections until its own deadline).
enum TCPProbe {
    enum Outcome: Equatable {
        case connected
        case refused
        case unresolvable
        case timeout
        case failed(String)
    }

    static func probe(host: String, port: Int, timeoutMilliseconds: Int32) -> Outcome {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let unbracketed = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        guard getaddrinfo(unbracketed, String(port), &hints, &list) == 0, let first = list else { return .unresolvable }
        defer { freeaddrinfo(list) }
        var outcome = Outcome.failed("no address")
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            outcome = attempt(info.pointee, timeoutMilliseconds: timeoutMilliseconds)
            if outcome == .connected { return outcome }
            entry = info.pointee.ai_next
        }
        return outcome
    }

    private static func attempt(_ info: addrinfo, timeoutMilliseconds: Int32) -> Outcome {
        let fd = socket(info.ai_family, info.ai_socktype, info.ai_protocol)
        guard fd >= 0 else { return .failed("socket: errno \(errno)") }
        defer { close(fd) }
        let flags = fcntl(fd, F_GETFL, 0)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        if connect(fd, info.ai_addr, info.ai_addrlen) == 0 { return .connected }
        if errno == ECONNREFUSED { return .refused }
        guard errno == EINPROGRESS else { return .failed(String(cString: strerror(errno))) }
        var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let ready = poll(&poller, 1, timeoutMilliseconds)
        guard ready > 0 else { return .timeout }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        if error == 0 { return .connected }
        if error == ECONNREFUSED { return .refused }
        return .failed(String(cString: strerror(error)))
    }
}
