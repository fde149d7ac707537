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

/// The local sockets: served by Hummingbird, given their group and mode once bound.
extension Kioskd {
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
