import Foundation
import Hummingbird
import HummingbirdTesting
@testable import KioskDaemon

/// A request context whose peer is the one the test names (`PeerContext.$peer`): routes and the
/// technician check run in process, on Hummingbird's test client, without a socket.
struct PeerContext: PeerAwareRequestContext {
    @TaskLocal static var peer: PeerCredentials?
    var coreContext: CoreRequestContextStorage

    init(source: ApplicationRequestContextSource) { coreContext = .init(source: source) }

    func peer() async -> PeerCredentials? { Self.peer }

    /// The account running the tests, as the kernel would report it.
    static let localAccount = PeerCredentials(pid: getpid(), uid: getuid(), gid: getgid(), userName: PeerCredentials.accountName(getuid()))

    /// (status, body) of one request on `client`, made as `peer`.
    static func ask(_ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ path: String, body: String? = nil,
                    as peer: PeerCredentials?) async throws -> (Int, String) {
        try await $peer.withValue(peer) {
            try await client.execute(uri: path, method: method, headers: [.contentType: "application/json"],
                                     body: body.map { ByteBuffer(string: $0) }) { response in
                (Int(response.status.code), String(buffer: response.body))
            }
        }
    }
}

extension DaemonHarness {
    /// One request to the daemon's technician routes in process, as `peer`.
    func technician(_ method: HTTPRequest.Method, _ path: String, body: String? = nil,
                    as peer: PeerCredentials? = PeerContext.localAccount) async throws -> (Int, String) {
        try await Application(router: daemon.technicianRouter(context: PeerContext.self)).test(.router) { client in
            try await PeerContext.ask(client, method, path, body: body, as: peer)
        }
    }

    /// One request to the daemon's citizen routes in process.
    func citizen(_ method: HTTPRequest.Method, _ path: String, body: String? = nil) async throws -> (Int, String) {
        try await Application(router: daemon.citizenRouter(context: PeerContext.self)).test(.router) { client in
            try await PeerContext.ask(client, method, path, body: body, as: nil)
        }
    }
}
