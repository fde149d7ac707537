import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Why kioskd's technician socket could not be used.
public enum TechnicianSocketError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No socket file: kioskd is not running (or runs with another `--technician-socket`).
    case missing(String)
    /// The socket file is there but nothing accepts connections: kioskd stopped without cleaning up.
    case refused(String)
    /// The socket exists but this user may not connect.
    case permissionDenied(String)
    /// kioskd did not answer in time, or the connection broke.
    case transport(String)
    /// kioskd answered with an HTTP error.
    case status(Int, String)

    public var description: String {
        switch self {
        case .missing(let path): return "kioskd is not running: no technician socket at \(path)"
        case .refused(let path): return "kioskd is not running: \(path) refuses connections (a stale socket)"
        case .permissionDenied(let path): return "no permission to use \(path): run as root or as a member of the yitiji group"
        case .transport(let why): return "kioskd did not answer: \(why)"
        case let .status(code, body): return "kioskd answered HTTP \(code)" + (body.isEmpty ? "" : ": \(body)")
        }
    }

    /// True when kioskd is simply not there.
    public var meansNotRunning: Bool {
        switch self {
        case .missing, .refused: return true
        default: return false
        }
    }
}

/// HTTP+JSON over kioskd's technician Unix socket.
///
/// The routes it uses: `GET /v1/status` (`{"version": …}`), `POST /v1/maintenance`
/// (`{"on": bool, "reason": …}`), and for diagnostics `GET /v1/diagnostics/outbox`
/// (`OutboxFigures`), `GET /v1/diagnostics/heartbeat` (`HeartbeatFigures`) and
/// `GET /v1/diagnostics/reader` (`ReaderFigures`).
public struct TechnicianClient: Sendable {
    /// The socket path.
    public let socketPath: String

    public init(socketPath: String) { self.socketPath = socketPath }

    /// Connects and disconnects at once: says whether anything listens, without HTTP.
    public func probe() -> TechnicianSocketError? {
        guard FileManager.default.fileExists(atPath: socketPath) else { return .missing(socketPath) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return .transport("socket(): errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(socketPath.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { return .transport("socket path longer than \(capacity - 1) bytes: \(socketPath)") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in bytes.enumerated() { raw[i] = byte }
            raw[bytes.count] = 0
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if rc == 0 { return nil }
        switch errno {
        case ECONNREFUSED: return .refused(socketPath)
        case ENOENT: return .missing(socketPath)
        case EACCES, EPERM: return .permissionDenied(socketPath)
        default: return .transport("connect \(socketPath): \(String(cString: strerror(errno)))")
        }
    }

    /// Sends a request; returns the body of a 2xx answer.
    public func send(_ method: HTTPMethod, _ path: String, body: Data? = nil, timeoutSeconds: Double) async throws(TechnicianSocketError) -> Data {
        if let refused = probe() { throw refused }
        guard let url = URL(httpURLWithSocketPath: socketPath, uri: path) else {
            throw .transport("the socket path \(socketPath) cannot be used in a URL")
        }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let data: Data
        let code: Int
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(Int64(timeoutSeconds * 1000)))
            code = Int(response.status.code)
            let bytes = try await response.body.collect(upTo: 4 << 20)
            data = Data(bytes.readableBytesView)
        } catch {
            throw .transport("\(error)")
        }
        guard (200..<300).contains(code) else {
            throw .status(code, String(decoding: data.prefix(300), as: UTF8.self))
        }
        return data
    }

    /// GETs `path` and decodes the JSON answer.
    public func get<T: Decodable>(_ path: String, as type: T.Type, timeoutSeconds: Double) async throws(TechnicianSocketError) -> T {
        let data = try await send(.GET, path, timeoutSeconds: timeoutSeconds)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do { return try decoder.decode(T.self, from: data) } catch {
            throw .transport("the answer to GET \(path) is not \(T.self): \(error)")
        }
    }

    /// kioskd's `GET /v1/status` answer (fields it may add are ignored).
    public struct Status: Sendable, Codable, Equatable {
        public var version: String?
        public var maintenance: Bool?
        public var maintenanceReason: String?
    }

    /// `GET /v1/status`.
    public func status(timeoutSeconds: Double) async throws(TechnicianSocketError) -> Status {
        try await get("/v1/status", as: Status.self, timeoutSeconds: timeoutSeconds)
    }

    /// `POST /v1/maintenance {"on": …, "reason": …}`.
    public func setMaintenance(on: Bool, reason: String, timeoutSeconds: Double) async throws(TechnicianSocketError) {
        struct Body: Encodable { var on: Bool; var reason: String }
        let body = (try? JSONEncoder().encode(Body(on: on, reason: reason))) ?? Data()
        _ = try await send(.POST, "/v1/maintenance", body: body, timeoutSeconds: timeoutSeconds)
    }
}

/// Outbox, heartbeat and reader figures from kioskd's technician socket: the providers
/// `kioskctl diag` uses while kioskd runs.
public struct TechnicianSocketProviders: OutboxFiguresProvider, HeartbeatProvider, ReaderFiguresProvider, VerifierFiguresProvider {
    public let client: TechnicianClient
    public var timeoutSeconds: Double

    public init(client: TechnicianClient, timeoutSeconds: Double = 3) {
        self.client = client
        self.timeoutSeconds = timeoutSeconds
    }

    private func fetch<T: Decodable>(_ path: String, _ type: T.Type) async throws -> T {
        do { return try await client.get(path, as: type, timeoutSeconds: timeoutSeconds) } catch {
            if case .status(404, _) = error { throw ProviderUnavailable("this kioskd does not serve \(path)") }
            throw ProviderUnavailable(error.description)
        }
    }

    public func outboxFigures() async throws -> OutboxFigures { try await fetch("/v1/diagnostics/outbox", OutboxFigures.self) }
    public func heartbeatFigures() async throws -> HeartbeatFigures { try await fetch("/v1/diagnostics/heartbeat", HeartbeatFigures.self) }
    public func readerFigures() async throws -> ReaderFigures { try await fetch("/v1/diagnostics/reader", ReaderFigures.self) }
    public func verifierFigures() async throws -> VerifierFigures { try await fetch("/v1/diagnostics/verifier", VerifierFigures.self) }
}
