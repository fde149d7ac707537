import Foundation
import Hummingbird
import IDCardReader
import KioskAPI
import KioskConfig
import KioskCore
import Logging
import NIOCore
import Printing
import Registry
import ServiceLifecycle

/// The local sockets: served by Hummingbird, given their group and mode once bound; and the
/// Prometheus endpoint on loopback.
extension Kioskd {
    /// The technician socket's routes: diagnostics, maintenance, audit, configuration, queue.
    /// `context` tells who is connected (the socket's peer credentials by default).
    public func technicianRouter<Context: PeerAwareRequestContext>(context: Context.Type = LocalRequestContext.self) -> Router<Context> {
        let router = Router(context: Context.self)
        router.add(middleware: TechnicianAccessMiddleware(groupName: options.technicianGroup))
        TechnicianRoutes.add(to: router, service: self)
        QueueRoutes.add(to: router, outbox: backedGateway?.outbox, audit: audit)
        return router
    }

    /// The citizen socket's routes: the session's operations only.
    public func citizenRouter<Context: RequestContext>(context: Context.Type = LocalRequestContext.self) -> Router<Context> {
        let router = Router(context: Context.self)
        CitizenRoutes.add(to: router, service: citizen)
        return router
    }

    /// `GET /metrics` on 127.0.0.1:`port`, in Prometheus' text format.
    func metricsApplication(port: Int) -> some Service {
        let router = Router()
        router.get("metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: await self.metricsText())))
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
    }

    func socketApplication(path: String, group: String?, mode: mode_t, router: Router<LocalRequestContext>) -> some Service {
        let logger = self.logger
        return Application(router: router, configuration: .init(address: .unixDomainSocket(path: path), serverName: "kioskd"),
                           onServerRunning: { _ in
                               Self.secure(socket: path, group: group, mode: mode, logger: logger)
                           }, logger: logger)
    }

    /// Gives a freshly bound socket its group and mode (kioskd runs under umask 077, so nobody
    /// else can connect before this).
    static func secure(socket path: String, group: String?, mode: mode_t, logger: Logger) {
        if let group {
            if let entry = getgrnam(group) {
                if chown(path, uid_t(bitPattern: -1), entry.pointee.gr_gid) != 0 {
                    logger.error("cannot give the socket to its group", metadata: ["socket": "\(path)", "group": "\(group)"])
                }
            } else {
                logger.error("no such group: the socket stays owner-only", metadata: ["socket": "\(path)", "group": "\(group)"])
                chmod(path, 0o600)
                return
            }
        }
        chmod(path, mode)
    }
}
