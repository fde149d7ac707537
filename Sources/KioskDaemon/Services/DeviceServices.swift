import Foundation
import IDCardReader
import KioskAPI
import KioskCore
import Logging
import Printing
import ServiceLifecycle

/// The ID-card reader as a service: reader events start and end sessions.
public struct ReaderLinkService: Service {
    let reader: ReaderPoller
    let sessions: SessionManager
    let state: KioskState
    let hub: EventHub
    let logger: Logger

    public init(reader: ReaderPoller, sessions: SessionManager, state: KioskState, hub: EventHub, logger: Logger) {
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
    /// Polling rounds of every monitor this service ran, for the watchdog.
    let cycles: Locked<Int>

    /// - Parameter roles: queue name by role, read again and again (a new configuration may change them).
    public init(roles: @escaping @Sendable () -> [String: String], cupsServer: String?, state: KioskState, logger: Logger,
                cycles: Locked<Int> = Locked(0)) {
        self.roles = roles
        self.cupsServer = cupsServer
        self.state = state
        self.logger = logger
        self.cycles = cycles
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
            var seen = 0
            while self.roles() == roles && !Task.isCancelled && !Task.isShuttingDownGracefully {
                await sleepUnlessStopping(.milliseconds(500))
                let now = monitor.cycles
                if now != seen { cycles.withLock { $0 &+= now - seen } }
                seen = now
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

    /// Whether systemd listens (`NOTIFY_SOCKET` is set).
    public var isActive: Bool { socketPath != nil }

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

/// Feeds systemd's watchdog only while every monitor makes progress: a reader or printer
/// monitor that stopped polling (a hung device call) stops the feeding, and systemd restarts
/// kioskd after its watchdog interval.
public struct WatchdogService: Service {
    let notifier: SystemdNotifier
    /// Progress counters by monitor (`reader`, `printers`): each must change within the window.
    let progress: @Sendable () -> [String: Int]
    let logger: Logger?

    public init(notifier: SystemdNotifier, logger: Logger? = nil, progress: @escaping @Sendable () -> [String: Int] = { [:] }) {
        self.notifier = notifier
        self.logger = logger
        self.progress = progress
    }

    public func run() async throws {
        guard let interval = notifier.watchdogInterval else {
            try? await gracefulShutdown()
            return
        }
        var judge = ProgressJudge(window: interval * 2)
        var stalledBefore: [String] = []
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let stalled = judge.stalled(progress(), at: .now)
            if stalled.isEmpty {
                notifier.notify("WATCHDOG=1")
            } else if stalled != stalledBefore {
                logger?.error("watchdog not fed: no progress", metadata: ["monitors": "\(stalled.joined(separator: ", "))"])
            }
            stalledBefore = stalled
            await sleepUnlessStopping(interval)
        }
    }
}

/// Tells systemd what the daemon is doing (`STATUS=`, shown by `systemctl status kioskd`)
/// whenever the line changes, checked every two seconds.
public struct StatusLineService: Service {
    let notifier: SystemdNotifier
    let line: @Sendable () async -> String

    public init(notifier: SystemdNotifier, line: @escaping @Sendable () async -> String) {
        self.notifier = notifier
        self.line = line
    }

    public func run() async throws {
        guard notifier.isActive else {
            try? await gracefulShutdown()
            return
        }
        var last = ""
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let now = await line()
            if now != last { notifier.notify("STATUS=" + now) }
            last = now
            await sleepUnlessStopping(.seconds(2))
        }
    }
}

/// Which progress counters have not changed within a window.
public struct ProgressJudge: Sendable {
    let window: Duration
    private var last: [String: (value: Int, changed: ContinuousClock.Instant)] = [:]

    public init(window: Duration) { self.window = window }

    /// The monitors whose counter stood still for longer than the window, sorted.
    public mutating func stalled(_ counters: [String: Int], at now: ContinuousClock.Instant) -> [String] {
        var out: [String] = []
        for (name, value) in counters {
            if let seen = last[name], seen.value == value {
                if now - seen.changed > window { out.append(name) }
            } else {
                last[name] = (value, now)
            }
        }
        return out.sorted()
    }
}
