import AsyncHTTPClient
import Foundation
import KioskAPI
import NIOCore
import NIOHTTP1

/// Why a technician request to kioskd failed.
public enum TechnicianClientError: Error, Sendable, CustomStringConvertible, Equatable {
    /// Nothing listens on the socket: kioskd is not running (or the path is wrong).
    case daemonNotRunning(socket: String, detail: String)
    /// The socket exists but this user may not use it.
    case permissionDenied(socket: String)
    /// kioskd refused the request: its status and explanation.
    case refused(status: Int, detail: String)
    /// kioskd answered something this kioskctl does not understand.
    case badAnswer(String)

    public var description: String {
        switch self {
        case let .daemonNotRunning(socket, detail):
            return "kioskd is not running (nothing answers on \(socket): \(detail)); start it: systemctl start kioskd"
        case .permissionDenied(let socket):
            return "no permission on \(socket): run as root or as a member of the kiosk technicians' group"
        case let .refused(status, detail): return "kioskd refused (\(status)): \(detail)"
        case .badAnswer(let detail): return "unexpected answer from kioskd: \(detail)"
        }
    }
}

/// kioskd's technician socket, for kioskctl.
public struct TechnicianSocketClient: Sendable {
    /// Path of the technician socket, e.g. `/run/yitiji/technician.sock`.
    public let socketPath: String
    let timeout: TimeAmount

    public init(socketPath: String, timeout: TimeAmount = .seconds(15)) {
        self.socketPath = socketPath
        self.timeout = timeout
    }

    /// Whether the socket file exists and this user may connect to it.
    public func check() throws(TechnicianClientError) {
        guard FileManager.default.fileExists(atPath: socketPath) else {
            throw .daemonNotRunning(socket: socketPath, detail: "no socket file")
        }
        guard access(socketPath, W_OK) == 0 else { throw .permissionDenied(socket: socketPath) }
        if let problem = SocketProbe.problem(socketPath) {
            throw problem.contains("ermission") ? .permissionDenied(socket: socketPath) : .daemonNotRunning(socket: socketPath, detail: problem)
        }
    }

    /// Sends a request and decodes the answer.
    public func request<Answer: Decodable>(_ method: HTTPMethod, _ path: String, body: Data? = nil,
                                           as type: Answer.Type) async throws(TechnicianClientError) -> Answer {
        let data = try await raw(method, path, body: body)
        do { return try JSONDecoder().decode(Answer.self, from: data) } catch {
            throw .badAnswer("\(path): not \(Answer.self): \(error)")
        }
    }

    /// Sends a request; the body of a 2xx answer, else a typed error.
    public func raw(_ method: HTTPMethod, _ path: String, body: Data? = nil,
                    acceptStatus: Set<Int> = []) async throws(TechnicianClientError) -> Data {
        try check()
        guard let url = URL(httpURLWithSocketPath: socketPath, uri: path) else {
            throw .daemonNotRunning(socket: socketPath, detail: "not a usable socket path")
        }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await HTTPClient.shared.execute(request, timeout: timeout)
            bytes = try await response.body.collect(upTo: 16 << 20)
        } catch {
            throw .daemonNotRunning(socket: socketPath, detail: "\(error)")
        }
        let data = Data(bytes.readableBytesView)
        let status = Int(response.status.code)
        guard (200..<300).contains(status) || acceptStatus.contains(status) else {
            if let problem = try? JSONDecoder().decode(CitizenAPIError.self, from: data) {
                throw .refused(status: status, detail: problem.detail ?? problem.messageKey)
            }
            throw .refused(status: status, detail: String(decoding: data.prefix(300), as: UTF8.self))
        }
        return data
    }

    public func status() async throws(TechnicianClientError) -> TechnicianStatus {
        try await request(.GET, "/v1/status", as: TechnicianStatus.self)
    }

    public func setMaintenance(on: Bool, reason: String?) async throws(TechnicianClientError) -> TechnicianStatus {
        let body = (try? JSONEncoder().encode(MaintenanceRequest(on: on, reason: reason))) ?? Data()
        return try await request(.POST, "/v1/maintenance", body: body, as: TechnicianStatus.self)
    }

    public func configuration() async throws(TechnicianClientError) -> ConfigurationView {
        try await request(.GET, "/v1/config", as: ConfigurationView.self)
    }

    public func configurationDiff() async throws(TechnicianClientError) -> [ConfigFileDiff] {
        try await request(.GET, "/v1/config/diff", as: [ConfigFileDiff].self)
    }

    public func rollbackConfiguration(reason: String) async throws(TechnicianClientError) -> ConfigurationView {
        let body = (try? JSONEncoder().encode(RollbackRequest(reason: reason))) ?? Data()
        return try await request(.POST, "/v1/config/rollback", body: body, as: ConfigurationView.self)
    }

    /// Hands a signed bundle to kioskd; the history event says whether it was committed.
    public func applyBundle(_ envelope: Data) async throws(TechnicianClientError) -> ConfigurationView.Event {
        let data = try await raw(.POST, "/v1/config/bundles", body: envelope, acceptStatus: [422])
        do { return try JSONDecoder().decode(ConfigurationView.Event.self, from: data) } catch {
            throw .badAnswer("config/bundles: \(error)")
        }
    }
}
