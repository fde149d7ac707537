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

/// Says READY=1 to systemd (and logs it) once both sockets accept connections. As the last
/// service it is the first to stop: it then unlinks the sockets, so that no client connects
/// while the servers are closing, and ends the event streams, which would otherwise hold the
/// servers' graceful shutdown open.
struct ReadyNotice: Service {
    let notifier: SystemdNotifier
    let sockets: [String]
    let hub: EventHub
    let logger: Logger

    func run() async throws {
        for _ in 0..<400 where !sockets.allSatisfy({ FileManager.default.fileExists(atPath: $0) }) {
            try? await Task.sleep(for: .milliseconds(5))
        }
        notifier.notify("READY=1")
        logger.notice("kioskd ready", metadata: ["sockets": "\(sockets.joined(separator: " "))"])
        // Start-up is over once the first printer poll and registry calls are done: give back the
        // code pages only start-up needed.
        if await sleepUnlessStopping(.seconds(2)) {
            let before = MemoryTrim.residentBytes() ?? 0
            MemoryTrim.trim()
            logger.info("start-up memory given back", metadata: [
                "residentMiB": "\((MemoryTrim.residentBytes() ?? 0) >> 20)", "beforeMiB": "\(before >> 20)"])
        }
        try? await gracefulShutdown()
        for socket in sockets { unlink(socket) }
        hub.finish()
    }
}
