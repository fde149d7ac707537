import Foundation
import IDCardReader
import KioskAPI
import Logging
import Printing
import ServiceLifecycle

/// The ID-card reader as a service: reader events start and end sessions.
public struct ReaderLinkService: Service {
    let reader: ReaderService
    let sessions: SessionManager
    let state: KioskState
    let hub: EventHub
    let logger: Logger

    public init(reader: ReaderService, sessions: SessionManager, state: KioskState, hub: EventHub, logger: Logger) {
        self.reader = reader
        self.sessions = sessions
        self.state = state
        self.hub = hub
        self.logger = logger
    }

    public func run() async throws {
        reader.start()
        defer { reader.stop() }
        for await event in reader.events.cancelOnGracefulShutdown() {
            await handle(event)
        }
        await sessions.end(.shutdown)
    }

    /// What one reader event does to the kiosk.
    public func handle(_ event: ReaderEvent) async {
        switch event {
        case let .connected(endpoint, samID):
            logger.info("reader connected", metadata: ["endpoint": "\(endpoint)", "sam": "\(samID ?? "unknown")"])
            await state.setReader(present: true, endpoint: endpoint, samID: samID)
        case .disconnected(let reason):
            logger.warning("reader disconnected", metadata: ["reason": "\(reason)"])
            await state.setReader(present: false, endpoint: nil, samID: nil)
            await state.setReaderError(reason)
            // Card presence can no longer be seen: the session cannot outlive the reader.
            await sessions.end(.cardRemoved)
        case .cardRead(let card):
            await state.count("reads")
            if await state.maintenance {
                card.wipe()
                reader.forgetCard()
                return
            }
            logger.info("card read", metadata: ["type": "\(card.identity.cardType.rawValue)"])
            await sessions.start(with: card)
        case .cardRemoved:
            await sessions.end(.cardRemoved)
        case .readFailed(let error):
            await state.count("reads.failed")
            await state.setReaderError("card not read: \(error)")
            logger.notice("card not read", metadata: ["error": "\(error)"])
            hub.publish(.cardUnreadable(reason: "card.unreadable"))
        }
    }
}

/// Printer status, polled from CUPS, published as it changes.
public struct PrinterWatchService: Service {
    let roles: @Sendable () -> [String: String]
    let cupsServer: String?
    let state: KioskState
    let logger: Logger

    /// - Parameter roles: queue name by role, read again and again (a new configuration may change them).
    public init(roles: @escaping @Sendable () -> [String: String], cupsServer: String?, state: KioskState, logger: Logger) {
        self.roles = roles
        self.cupsServer = cupsServer
        self.state = state
        self.logger = logger
    }

    public func run() async throws {
        let server = cupsServer
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let roles = self.roles()
            let monitor = PrinterMonitor(queues: Array(Set(roles.values)).sorted(), intervalSeconds: 1) { try CupsClient(server: server) }
            monitor.start()
            let consumer = Task {
                for await status in monitor.events {
                    for (role, queue) in roles where queue == status.queue {
                        logger.info("printer status", metadata: ["role": "\(role)", "device": "\(status.device.rawValue)",
                                                                 "paper": "\(status.paper.rawValue)", "toner": "\(status.toner.rawValue)"])
                        await state.setPrinter(role: role, status: status)
                    }
                }
            }
            while self.roles() == roles && !Task.isCancelled && !Task.isShuttingDownGracefully {
                await sleepUnlessStopping(.milliseconds(500))
            }
            monitor.stop()
            consumer.cancel()
        }
    }
}

/// Ends idle sessions (after a warning) once a second.
public struct SessionTimerService: Service {
    let sessions: SessionManager
    public init(sessions: SessionManager) { self.sessions = sessions }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await sleepUnlessStopping(.milliseconds(500))
            await sessions.tick()
        }
    }
}

/// Tells systemd the daemon is ready and keeps its watchdog fed (Type=notify, WatchdogSec=).
public struct SystemdNotifier: Sendable {
    let socketPath: String?
    /// Half the watchdog interval systemd set, if any.
    public let watchdogInterval: Duration?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        socketPath = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        if let usec = environment["WATCHDOG_USEC"].flatMap(Int.init), usec > 0 {
            watchdogInterval = .microseconds(usec / 2)
        } else {
            watchdogInterval = nil
        }
    }

    /// Sends a state line such as `READY=1`; does nothing outside systemd.
    public func notify(_ message: String) {
        guard let socketPath else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var path = Array(socketPath.utf8)
        if path.first == UInt8(ascii: "@") { path[0] = 0 }
        guard path.count < MemoryLayout.size(ofValue: address.sun_path) else { return }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (i, byte) in path.enumerated() { buffer[i] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count)
        let bytes = Array(message.utf8)
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                sendto(fd, bytes, bytes.count, 0, sa, length)
            }
        }
    }
}

/// Feeds systemd's watchdog while the daemon runs.
public struct WatchdogService: Service {
    let notifier: SystemdNotifier
    public init(notifier: SystemdNotifier) { self.notifier = notifier }
    public func run() async throws {
        guard let interval = notifier.watchdogInterval else {
            try? await gracefulShutdown()
            return
        }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            notifier.notify("WATCHDOG=1")
            await sleepUnlessStopping(interval)
        }
    }
}
