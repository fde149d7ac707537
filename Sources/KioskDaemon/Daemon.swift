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

/// Where kioskd keeps things, and how its sockets are shared.
public struct DaemonOptions: Sendable {
    /// The configuration directory (`/etc/yitiji`, else the embedded `kiosk-config/`).
    public var configDirectory: URL
    /// State: audit log, print ledger, outbox, cache, configuration history (`/var/lib/yitiji`).
    public var stateDirectory: URL
    /// Sockets (`/run/yitiji`).
    public var runtimeDirectory: URL
    /// Group allowed on the citizen socket (mode 0660), or nil for the daemon's own group.
    public var citizenGroup: String?
    /// Group allowed on the technician socket (mode 0660), or nil for owner only (0600).
    public var technicianGroup: String?
    /// Loopback port of the Prometheus metrics endpoint; nil: none.
    public var metricsPort: Int?
    /// Use the in-process reader simulator with this control FIFO instead of a device.
    public var simulatorControl: String?
    /// The CUPS server (a socket path or host), else CUPS's own default (`CUPS_SERVER`, client.conf).
    public var cupsServer: String?
    /// Trust the demonstration fleet's keys (`--demo`); otherwise kioskd refuses to start with them.
    public var allowDemoKeys = false
    /// Where the keys that protect state live (`outbox.key`, `audit.secret`): apart from the state
    /// they protect, so one copy of the state directory is not enough to read it. Nil: the
    /// state directory's sibling `<state>-keys` (`/var/lib/yitiji-keys`), mode 0700.
    public var keysDirectory: URL?
    /// The site's own directory (`/etc/yitiji`) that `configDirectory` was laid from over the
    /// packaged defaults, read again on SIGHUP; nil: `configDirectory` itself.
    public var siteDirectory: URL?

    /// The keys directory in use.
    public var effectiveKeysDirectory: URL {
        keysDirectory ?? StateKeys.defaultDirectory(state: stateDirectory)
    }

    public init(configDirectory: URL, stateDirectory: URL, runtimeDirectory: URL, citizenGroup: String? = nil,
                technicianGroup: String? = nil, metricsPort: Int? = nil, simulatorControl: String? = nil,
                cupsServer: String? = nil) {
        self.configDirectory = configDirectory
        self.stateDirectory = stateDirectory
        self.runtimeDirectory = runtimeDirectory
        self.citizenGroup = citizenGroup
        self.technicianGroup = technicianGroup
        self.metricsPort = metricsPort
        self.simulatorControl = simulatorControl
        self.cupsServer = cupsServer
    }

    /// The citizen socket's path.
    public var citizenSocket: String { runtimeDirectory.appendingPathComponent("citizen.sock").path }
    /// The technician socket's path.
    public var technicianSocket: String { runtimeDirectory.appendingPathComponent("technician.sock").path }
}

/// kioskd: every part is a service in one group; SIGTERM shuts them down in reverse order.
public final class Kioskd: TechnicianService {
    public let options: DaemonOptions
    let currentConfiguration: Locked<KioskConfiguration>
    /// The configuration in use (it changes when a bundle is applied).
    public var configuration: KioskConfiguration { currentConfiguration.withLock { $0 } }
    public let configStore: ConfigStore
    public let configAgent: ConfigAgent
    let configFeed: (any ConfigFeed)?
    /// The registry client, outbox and cache, unless a test gave its own gateway.
    public let backedGateway: RegistryBackedGateway?
    let heartbeat = Locked(HeartbeatFigures(lastAcceptedAt: nil, intervalSeconds: 60))
    let registryProbe: (@Sendable (KioskConfiguration) async -> String?)?
    public let hub = EventHub()
    public let state: KioskState
    public let sessions: SessionManager
    public let audit: AuditLog
    public let citizen: KioskCitizenService
    /// Person–card checks for the citizen's visit.
    public let faces: FaceCheckDesk
    let logger: Logger
    let startedAt = Date()
    /// The running service group, so that `shutdown()` can stop it gracefully, and whether a
    /// shutdown was asked for before the group ran.
    let runningGroup = Locked<(group: ServiceGroup?, stopRequested: Bool)>((nil, false))
    let readerService: ReaderService
    /// Base64 of the document-signing key's public half, registered at the registry.
    let documentKeyPublic: String
    let notifier = SystemdNotifier()
    /// The Prometheus metrics.
    public let metrics: KioskMetrics
    /// Polling rounds of the printer monitors, for the watchdog.
    let printerCycles = Locked(0)

    /// Loads the configuration and opens the state; nothing runs until `run()`.
    /// - Parameter gateway: the registry; made from the configuration and state when nil.
    /// - Parameter readerOpener: opens the reader; by default the configured device (or the
    ///   simulator named in the options).
    ///   - configFeed: where configuration bundles come from; none: the configuration only changes
    ///     through the technician socket.
    ///   - registryProbe: checks the registry a new configuration names (nil: healthy); part of the
    ///     health check after a bundle is applied.
    public init(options: DaemonOptions, gateway: (any RegistryGateway)? = nil, readerOpener: ReaderService.Opener? = nil,
                configFeed: (any ConfigFeed)? = nil, registryProbe: (@Sendable (KioskConfiguration) async -> String?)? = nil,
                logger: Logger = Logger(label: "kioskd")) throws {
        self.options = options
        self.logger = logger
        self.registryProbe = registryProbe ?? Self.probeRegistry
        let fm = FileManager.default
        for dir in [options.stateDirectory, options.runtimeDirectory] {
            do { try fm.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750]) } catch {
                throw DaemonError.stateNotWritable(dir.path)
            }
        }
        do { configStore = try ConfigStore(stateDirectory: options.stateDirectory, baseDirectory: options.configDirectory) } catch {
            throw DaemonError.stateNotWritable(options.stateDirectory.appendingPathComponent("config").path)
        }
        let configuration: KioskConfiguration
        let directory = ConfigStore.currentDirectory(stateDirectory: options.stateDirectory, baseDirectory: options.configDirectory)
        do { configuration = try KioskConfiguration.load(from: directory) } catch {
            throw DaemonError.configuration("\(error)")
        }
        currentConfiguration = Locked(configuration)
        if let problem = TechnicianGroupRule.problem(technician: options.technicianGroup, citizen: options.citizenGroup) {
            throw DaemonError.configuration(problem)
        }
        let keys = try KeysDirectory.prepare(options.effectiveKeysDirectory, legacyStateDirectory: options.stateDirectory)
        audit = try AuditLog(stateDirectory: options.stateDirectory, secretFile: StateKeys.file("audit.secret", keysDirectory: keys))
        state = KioskState(hub: hub)
        let settings = configuration.settings
        sessions = SessionManager(hub: hub, audit: audit, idleTimeout: TimeInterval(settings.session.idleTimeoutSeconds),
                                  warningLead: TimeInterval(settings.session.idleWarningSeconds))

        let signingKey = try Self.documentSigningKey(state: options.stateDirectory, config: options.configDirectory)
        documentKeyPublic = signingKey.key.publicKeyBase64
        if !options.allowDemoKeys {
            var findings = DemoKeys.findings(configDirectory: options.configDirectory, stateDirectory: options.stateDirectory,
                                             documentSigningKeyPublic: signingKey.key.publicKeyBase64, documentSigningKeyPath: signingKey.path)
            if directory.standardizedFileURL != options.configDirectory.standardizedFileURL {
                findings += DemoKeys.findings(configDirectory: directory, stateDirectory: options.stateDirectory, documentSigningKeyPublic: nil)
                    .filter { !findings.contains($0) }
            }
            if !findings.isEmpty { throw DaemonError.demoKeys(findings) }
        }
        let renderer: DocumentRenderer
        do {
            renderer = try DocumentRenderer(signingKey: signingKey.key, provider: settings.kiosk.provider,
                                            templatesDirectory: directory.appendingPathComponent("templates").path)
        } catch { throw DaemonError.configuration("documents: \(error)") }
        let printService = (try? CupsClient(server: options.cupsServer)).map {
            PrintService(ledger: PrintLedger(path: options.stateDirectory.appendingPathComponent("print-ledger.json").path),
                         runner: PrintJobRunner(client: $0))
        }
        let desk = DocumentDesk(renderer: renderer, printService: printService, printers: settings.printers, logger: logger)
        let registry: any RegistryGateway
        if let gateway {
            registry = gateway
            backedGateway = gateway as? RegistryBackedGateway
        } else {
            let made = try RegistryBackedGateway(settings: settings, configurationDirectory: configuration.directory,
                                                 stateDirectory: options.stateDirectory, keysDirectory: keys, logger: logger)
            registry = made
            backedGateway = made
        }
        self.configFeed = configFeed ?? backedGateway.map {
            RegistryConfigFeed(base: $0.client, site: settings.kiosk.site, logger: logger) as any ConfigFeed
        }
        let metrics = KioskMetrics()
        self.metrics = metrics
        backedGateway?.onRequest.withLock { $0 = { metrics.registryRequest($0) } }
        let simulator = options.allowDemoKeys ? FaceCheckDesk.demoSimulator(runtimeDirectory: options.runtimeDirectory) : nil
        if settings.verifier == nil, let simulator {
            logger.notice("demo: person–card checks use the verifier simulator", metadata: ["command": "\(simulator.arguments.joined(separator: " "))"])
        }
        faces = FaceCheckDesk(settings: settings.verifier, fallback: simulator, sessions: sessions, audit: audit, logger: logger)
        citizen = KioskCitizenService(sessions: sessions, state: state, hub: hub, gateway: registry, desk: desk, faces: faces,
                                      configuration: configuration, audit: audit, logger: logger,
                                      onPrinted: { metrics.print(role: $0, outcome: $1, took: $2) })

        configAgent = ConfigAgent(store: configStore, kioskId: settings.kiosk.id, site: settings.kiosk.site, sessions: sessions,
                                  audit: audit, logger: logger)
        var timing = ReaderTiming()
        timing.pollIntervalMilliseconds = settings.reader.pollIntervalMilliseconds
        let select = settings.reader.select, device = settings.reader.device
        if let readerOpener {
            readerService = ReaderService(timing: timing, opener: readerOpener)
        } else if let control = options.simulatorControl {
            let simulator = ReaderSimulator()
            readerService = ReaderService(timing: timing) { () throws(ReaderError) -> any ReaderTransport in
                let transport = SimulatedTransport(simulator: simulator)
                return transport
            }
            try? Self.watchSimulatorControl(path: control, simulator: simulator, logger: logger)
        } else {
            let database: ReaderModelDatabase
            do { database = try ReaderModelDatabase.loadDefault() } catch { throw DaemonError.configuration("reader models: \(error)") }
            readerService = ReaderService(timing: timing) { () throws(ReaderError) -> any ReaderTransport in
                let context: USBContext
                do { context = try USBContext() } catch { throw .noReader("libusb: \(error)") }
                return try ReaderDiscovery.openSelected(selection: select, device: device, database: database, context: context).0
            }
        }
    }

    static func documentSigningKey(state: URL, config: URL) throws -> (key: DocumentSigningKey, path: String) {
        let candidates = [state.appendingPathComponent("document-signing.key").path,
                          "/etc/yitiji/document-signing.key"]
        for path in candidates where FileManager.default.fileExists(atPath: path) {
            do { return (try DocumentSigningKey.load(path: path), path) } catch { throw DaemonError.key("\(path): \(error)") }
        }
        throw DaemonError.key("no document signing key at \(candidates[0]): run `kioskd --enrol` to make the kiosk's keys")
    }

    /// Reads control lines (`place resident`, `remove`, …) for the in-process simulator.
    static func watchSimulatorControl(path: String, simulator: ReaderSimulator, logger: Logger) throws {
        if !FileManager.default.fileExists(atPath: path) { mkfifo(path, 0o600) }
        let thread = Thread {
            while true {
                guard let handle = FileHandle(forReadingAtPath: path) else { return }
                let data = handle.readDataToEndOfFile()
                try? handle.close()
                for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
                    if let problem = simulator.control(String(line)) {
                        logger.warning("simulator control refused", metadata: ["problem": "\(problem)"])
                    }
                }
            }
        }
        thread.name = "simulator-control"
        thread.start()
    }

    // MARK: - Technician operations

    public func status() async -> TechnicianStatus {
        let printers = await state.printers
        let roles = configuration.settings.printers
        let views = roles.keys.sorted().map { role -> TechnicianStatus.Printer in
            let queue = roles[role]?.queue ?? ""
            guard let s = printers[role] else {
                return .init(role: role, queue: queue, device: "unknown", paper: "unknown", toner: "unknown", accepting: false,
                             reasons: [], message: "not polled yet")
            }
            return .init(role: role, queue: queue, device: s.device.rawValue, paper: s.paper.rawValue, toner: s.toner.rawValue,
                         accepting: s.accepting, reasons: s.reasons, message: s.message)
        }
        var status = TechnicianStatus(
            version: KioskCore.version, kioskId: configuration.settings.kiosk.id, site: configuration.settings.kiosk.site,
            pid: getpid(), uptimeSeconds: Int(Date().timeIntervalSince(startedAt)),
            maintenance: await state.maintenance, maintenanceReason: await state.maintenanceReason,
            readerPresent: await state.readerPresent, readerEndpoint: await state.readerEndpoint, samID: await state.samID,
            printers: views, sessionActive: await sessions.isActive, sessionsStarted: await sessions.sessionsStarted,
            counters: await state.counters, configDirectory: options.configDirectory.path, configVersion: nil,
            outbox: nil, lastHeartbeatAgeSeconds: nil)
        status.summary = await statusLine()
        return status
    }

    public func setMaintenance(_ request: MaintenanceRequest, by account: String) async throws {
        if await state.setMaintenance(request.on, reason: request.reason) {
            if request.on { await sessions.end(.maintenance) }
            audit.record(actor: "technician", action: request.on ? "maintenance.on" : "maintenance.off", by: account,
                         detail: request.reason ?? "")
            logger.notice("maintenance mode", metadata: ["on": "\(request.on)"])
        }
    }

    public func audit(limit: Int) async -> [AuditLog.Entry] { audit.recent(limit: limit) }

    public func readerFigures() async -> ReaderFigures {
        let present = await state.readerPresent
        return ReaderFigures(reader: await state.readerEndpoint, samID: await state.samID,
                             samStatus: present ? "success" : nil, lastError: await state.lastReaderError)
    }

    public func outboxFigures() async -> OutboxFigures? { backedGateway?.figures() }

    public func verifierFigures() async -> VerifierFigures {
        await faces.figures(servicesNeedingIt: configuration.services.items.filter(\.needsFaceMatch).map(\.code))
    }

    public func heartbeatFigures() async -> HeartbeatFigures? {
        backedGateway == nil ? nil : heartbeat.withLock { $0 }
    }

    public func events() -> AsyncStream<KioskEvent> { hub.subscribe() }

    static func view(_ entry: ConfigHistoryEntry) -> ConfigurationView.Event {
        .init(time: entry.time, result: entry.result.rawValue, target: entry.target, version: entry.version,
              generation: entry.generation, reason: entry.reason)
    }

    public func configuration() async -> ConfigurationView {
        let settings = configuration.settings
        let generation = await configStore.currentGeneration()
        return ConfigurationView(directory: await configStore.currentDirectory().path, generation: generation?.generation,
                                 layers: generation?.layers ?? [:], kioskId: settings.kiosk.id, site: settings.kiosk.site,
                                 registryURL: settings.registry.url,
                                 trustedRoot: ((try? await configStore.trustedRoot()) ?? nil) != nil,
                                 history: (await configStore.history()).suffix(50).map(Self.view))
    }

    public func configurationDiff() async -> [ConfigFileDiff] {
        let current = await configStore.currentDirectory()
        guard let generation = await configStore.currentGeneration() else { return [] }
        let earlier = configStore.root.appendingPathComponent("generations/\(generation.generation - 1)")
        let base = FileManager.default.fileExists(atPath: earlier.appendingPathComponent("kiosk.yaml").path) ? earlier : options.configDirectory
        return ConfigDiff.between(base, current)
    }

    public func rollbackConfiguration(reason: String, by account: String) async throws -> ConfigurationView {
        try await configStore.rollback(reason: reason)
        audit.record(actor: "technician", action: "config.rollback", by: account, detail: reason)
        if let restored = try? KioskConfiguration.load(from: await configStore.currentDirectory()) { await apply(restored) }
        return await configuration()
    }

    public func applyBundle(_ envelope: Data, by account: String) async -> ConfigurationView.Event {
        audit.record(actor: "technician", action: "config.bundle", by: account, detail: "\(envelope.count) bytes handed over locally")
        return Self.view(await configAgent.consider(envelope: envelope, feed: configFeed))
    }

    // MARK: - Configuration

    /// Checks a configuration that was just swapped in: the reader still answers, every printer
    /// role's queue exists, the registry it names answers. Returns why it is unhealthy, or nil.
    func healthCheck(_ candidate: KioskConfiguration) async -> String? {
        var problems: [String] = []
        if !(await state.readerPresent) { problems.append("the ID-card reader does not answer") }
        let server = options.cupsServer
        for (role, printer) in candidate.settings.printers.sorted(by: { $0.key < $1.key }) {
            let status = await runBlocking { () -> PrinterStatus? in
                guard let client = try? CupsClient(server: server) else { return nil }
                return try? client.status(queue: printer.queue)
            }
            if let status, status.device != .offline { continue }
            problems.append("printer role \(role): queue '\(printer.queue)' is not reachable")
        }
        if let registryProbe, let problem = await registryProbe(candidate) { problems.append(problem) }
        return problems.isEmpty ? nil : problems.joined(separator: "; ")
    }

    /// Checks that the registry a configuration names answers `GET /v1/health`.
    static func probeRegistry(_ candidate: KioskConfiguration) async -> String? {
        guard let credentials = try? KioskCredentials.generate(kioskId: candidate.settings.kiosk.id) else { return nil }
        var configuration = RegistryClientConfiguration(baseURL: candidate.settings.registry.url, credentials: credentials)
        do { configuration.trustRoots = try RegistryClientConfiguration.loadCA(optional: candidate.settings.registry.caPath(in: candidate.directory)) } catch {
            return "registry.caFile: \(error)"
        }
        configuration.deadline = .seconds(5)
        configuration.maxAttempts = 2
        do {
            _ = try await RegistryClient(configuration: configuration).health()
            return nil
        } catch {
            return "registry \(candidate.settings.registry.url) does not answer: \(error)"
        }
    }

    /// Takes a committed configuration into use without a restart. A new registry URL takes
    /// effect at once for queries, the outbox relay, the heartbeat and the configuration feed.
    func apply(_ new: KioskConfiguration) async {
        currentConfiguration.withLock { $0 = new }
        let roots = try? RegistryClientConfiguration.loadCA(optional: new.settings.registry.caPath(in: new.directory))
        if let client = backedGateway?.client, client.endpoint.retarget(new.settings.registry.url, trustRoots: roots) {
            client.breaker.reset()
            logger.notice("registry moved", metadata: ["url": "\(client.endpoint.baseURL)"])
        }
        citizen.update(configuration: new)
        await faces.update(settings: new.settings.verifier)
        await sessions.setTiming(idleTimeout: TimeInterval(new.settings.session.idleTimeoutSeconds),
                                 warningLead: TimeInterval(new.settings.session.idleWarningSeconds))
        hub.publish(.configurationChanged)
    }

    /// Installs the fleet's initial trusted root from `keys/root.json` of the configuration, when
    /// none is trusted yet (trust on first use; later roots only by verified rotation).
    func installInitialRoot() async {
        guard (try? await configStore.trustedRoot()) == nil else { return }
        let url = options.configDirectory.appendingPathComponent("keys/root.json")
        guard let data = try? Data(contentsOf: url) else { return }
        do {
            try await configStore.installRoot(data)
            logger.notice("trusted root installed", metadata: ["from": "\(url.path)"])
        } catch {
            logger.error("initial trusted root refused", metadata: ["error": "\(error)"])
        }
    }

    // MARK: - Running

    /// The technician socket's routes: diagnostics, maintenance, audit, configuration, queue.
    public func technicianRouter() -> Router<LocalRequestContext> {
        let router = Router(context: LocalRequestContext.self)
        router.add(middleware: TechnicianAccessMiddleware(groupName: options.technicianGroup))
        TechnicianRoutes.add(to: router, service: self)
        QueueRoutes.add(to: router, outbox: backedGateway?.outbox, audit: audit)
        return router
    }

    /// The citizen socket's routes: the session's operations only.
    public func citizenRouter() -> Router<LocalRequestContext> {
        let router = Router(context: LocalRequestContext.self)
        CitizenRoutes.add(to: router, service: citizen)
        return router
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

    /// Runs every service until SIGTERM or SIGINT, then shuts them down in reverse order.
    public func run() async throws {
        await configAgent.setHandlers(healthCheck: { [weak self] candidate in
            guard let self else { return "kioskd is stopping" }
            return await self.healthCheck(candidate)
        }, apply: { [weak self] configuration in
            await self?.apply(configuration)
        })
        var services: [any Service] = [
            ReaderLinkService(reader: readerService, sessions: sessions, state: state, hub: hub, logger: logger),
            PrinterWatchService(roles: { [currentConfiguration] in currentConfiguration.withLock { $0.settings.printers.mapValues(\.queue) } },
                                cupsServer: options.cupsServer, state: state, logger: logger, cycles: printerCycles),
            SessionTimerService(sessions: sessions),
            WatchdogService(notifier: notifier, logger: logger) { [readerService, printerCycles] in
                ["reader": readerService.cycles, "printers": printerCycles.withLock { $0 }]
            },
            StatusLineService(notifier: notifier) { [weak self] in await self?.statusLine() ?? "stopping" },
        ]
        if let configFeed { services.append(ConfigAgentService(agent: configAgent, feed: configFeed)) }
        services.append(SiteReloadService { [weak self] in _ = await self?.reloadSite() })
        if let backedGateway {
            services.append(backedGateway.relay)
            services.append(HeartbeatService(daemon: self, gateway: backedGateway))
            services.append(RegistryWatchService(gateway: backedGateway, logger: logger))
            services.append(DocumentKeyService(gateway: backedGateway, publicKey: documentKeyPublic, audit: audit, logger: logger))
        }
        services.append(socketApplication(path: options.technicianSocket, group: options.technicianGroup,
                                          mode: options.technicianGroup == nil ? 0o600 : 0o660, router: technicianRouter()))
        services.append(socketApplication(path: options.citizenSocket, group: options.citizenGroup, mode: 0o660,
                                          router: citizenRouter()))
        if let port = options.metricsPort {
            let router = Router()
            router.get("metrics") { _, _ in
                Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                         body: .init(byteBuffer: ByteBuffer(string: await self.metricsText())))
            }
            services.append(Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
                                        logger: logger))
        }
        services.append(ReadyNotice(notifier: notifier, sockets: [options.citizenSocket, options.technicianSocket],
                                    hub: hub, logger: logger))
        await installInitialRoot()
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) },
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        audit.record(actor: "kioskd", action: "daemon.start", detail: "version \(KioskCore.version)")
        let stopAtOnce = runningGroup.withLock { $0.group = group; return $0.stopRequested }
        if !stopAtOnce { try await group.run() }
        runningGroup.withLock { $0.group = nil }
        notifier.notify("STOPPING=1")
        await sessions.end(.shutdown)
        hub.finish()
        audit.record(actor: "kioskd", action: "daemon.stop")
        audit.close()
    }

    /// Stops a running daemon the way SIGTERM does: every service shuts down gracefully, in
    /// reverse order. Cancelling `run()` instead could drop a connection that was being accepted.
    public func shutdown() async {
        let group = runningGroup.withLock { $0.stopRequested = true; return $0.group }
        await group?.triggerGracefulShutdown()
    }

    /// One line for `systemctl status kioskd`, e.g. `serving; reader ok; a4 ready; receipt out of paper`.
    public func statusLine() async -> String {
        var parts: [String] = []
        if await state.maintenance {
            parts.append("maintenance" + ((await state.maintenanceReason).map { ": \($0)" } ?? ""))
        } else {
            parts.append(await sessions.isActive ? "serving a citizen" : "serving")
        }
        parts.append(await state.readerPresent ? "reader ok" : "reader missing")
        for (role, status) in await state.printers.sorted(by: { $0.key < $1.key }) {
            parts.append("\(role) " + Self.describe(status))
        }
        if let depth = backedGateway?.figures()?.depth, depth > 0 { parts.append("\(depth) waiting for the registry") }
        if await configAgent.freezeStatus(window: configuration.settings.registry.freezeWindow).isFrozen {
            parts.append("configuration feed frozen")
        }
        return parts.joined(separator: "; ")
    }

    /// A printer's state in a few words.
    static func describe(_ status: PrinterStatus) -> String {
        if status.isReady { return status.paper == .low ? "ready, paper low" : (status.toner == .low ? "ready, toner low" : "ready") }
        switch (status.device, status.paper, status.toner) {
        case (.offline, _, _): return "offline"
        case (_, .out, _): return "out of paper"
        case (_, .jammed, _): return "paper jammed"
        case (_, _, .out): return "out of toner"
        default: return status.doorOpen ? "door open" : status.device.rawValue
        }
    }

    /// Prometheus text exposition of the daemon's figures (swift-prometheus): gauges and counters
    /// are brought up to date, histograms have accumulated as the kiosk worked.
    public func metricsText() async -> String {
        let counters = await state.counters
        metrics.counter("card_reads", help: "Cards read.", total: counters["reads"] ?? 0)
        metrics.counter("card_read_failures", help: "Cards on the reader that could not be read.", total: counters["reads.failed"] ?? 0)
        for outcome in ["completed", "failed", "uncertain"] {
            metrics.counter("prints", help: "Print jobs by outcome.", labels: [("outcome", outcome)], total: counters["prints.\(outcome)"] ?? 0)
        }
        for (key, value) in counters where key.hasPrefix("prints.problem.") {
            metrics.counter("print_failures", help: "Prints not completed, by what the citizen was told.",
                            labels: [("reason", String(key.dropFirst("prints.problem.".count)))], total: value)
        }
        metrics.counter("sessions", help: "Citizen sessions started.", total: await sessions.sessionsStarted)
        metrics.gauge("session_active", help: "1 while a citizen session is active.", await sessions.isActive ? 1 : 0)
        metrics.gauge("reader_connected", help: "1 while the ID-card reader is connected.", await state.readerPresent ? 1 : 0)
        metrics.gauge("maintenance", help: "1 in maintenance mode.", await state.maintenance ? 1 : 0)
        metrics.gauge("event_subscribers", help: "Local API clients following events.", Double(hub.subscriberCount))
        let printers = await state.printers
        for role in configuration.settings.printers.keys.sorted() { metrics.printer(role: role, status: printers[role]) }
        metrics.gauge("config_generation", help: "The configuration generation in use; 0 for the embedded default.",
                      Double(await configStore.currentGeneration()?.generation ?? 0))
        let freeze = await configAgent.freezeStatus(window: configuration.settings.registry.freezeWindow)
        if freeze != .unprotected {
            metrics.gauge("config_feed_frozen", help: "1 while no fresh signed statement has come from the configuration feed within the freeze window.",
                          freeze.isFrozen ? 1 : 0)
            if case let .heard(age, _) = freeze {
                metrics.gauge("config_feed_statement_age", unit: "seconds", help: "Seconds since the configuration feed's last fresh signed statement.", age.rounded())
            }
        }
        if let gateway = backedGateway {
            let figures = gateway.figures()
            metrics.gauge("outbox_depth", help: "Writes waiting for the registry.", Double(figures?.depth ?? 0))
            metrics.gauge("outbox_dead_letters", help: "Writes given up on, waiting for a technician.", Double(figures?.deadLetters ?? 0))
            metrics.gauge("outbox_oldest_age", unit: "seconds", help: "Age of the oldest waiting write.", (figures?.oldestAgeSeconds ?? 0).rounded())
            metrics.counter("registry_request_failures", help: "Registry calls that failed.", total: gateway.latency.withLock { $0.failures })
            if let accepted = heartbeat.withLock({ $0.lastAcceptedAt }) {
                metrics.gauge("heartbeat_age", unit: "seconds", help: "Seconds since the registry last accepted a heartbeat.",
                              Date().timeIntervalSince(accepted).rounded())
            }
        }
        return metrics.text()
    }
}

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

/// A registry that is not there: every query says unreachable, every write is refused.
public struct UnavailableGateway: RegistryGateway {
    let reason: String
    public init(reason: String) { self.reason = reason }
    public func enterprise(uscc: String) async throws(GatewayError) -> EnterpriseAnswer { throw .unreachable(reason) }
    public func search(name: String, limit: Int) async throws(GatewayError) -> (results: [EnterpriseSummary], cachedAgeSeconds: Int?) {
        throw .unreachable(reason)
    }
    public func socialInsurance(idNumber: String) async throws(GatewayError) -> SocialInsuranceRecord { throw .unreachable(reason) }
    public func authorizePrint(kind: String, uscc: String, idNumber: String) async throws(GatewayError) -> Bool { throw .unreachable(reason) }
    public func submitApplication(_ draft: ApplicationDraft) async throws(GatewayError) -> QueuedApplication { throw .unreachable(reason) }
    public func submitRating(_ rating: RatingRecord) async throws(GatewayError) { throw .unreachable(reason) }
    public func recordPrint(_ record: PrintRecord) async throws(GatewayError) { throw .unreachable(reason) }
    public func reserveTicket(site: String, _ request: TicketRequest) async throws(GatewayError) -> HallTicket { throw .unreachable(reason) }
    public func checkIn(site: String, _ request: CheckInRequest) async throws(GatewayError) -> CheckInAnswer { throw .unreachable(reason) }
    public func offlineSequence(ticketId: String, day: String, queue: String) async throws(GatewayError) -> Int { throw .unreachable(reason) }
    public func hasOfflineSequence(ticketId: String) async -> Bool { false }
    public func reportTicket(_ report: TicketReport) async throws(GatewayError) { throw .unreachable(reason) }
    public func progress(number: String) async throws(GatewayError) -> ApplicationProgress? { throw .unreachable(reason) }
    public func progress(idNumber: String) async throws(GatewayError) -> [ApplicationProgress] { throw .unreachable(reason) }
    public func undelivered(trackingNumber: String?, idNumber: String?) async -> [ApplicationSubmission] { [] }
    public func requestDelivery(_ request: DeliveryRequest) async throws(GatewayError) { throw .unreachable(reason) }
    public func confirmPension(_ confirmation: PensionConfirmation) async throws(GatewayError) { throw .unreachable(reason) }
    public func checkName(_ proposedName: String) async throws(GatewayError) -> NameCheckResult { throw .unreachable(reason) }
    public func reportCardLoss(_ report: CardLossReport) async throws(GatewayError) -> String? { throw .unreachable(reason) }
    public func openings(idNumber: String) async throws(GatewayError) -> [OpeningInvitation] { throw .unreachable(reason) }
    public func confirmParty(_ confirmation: PartyConfirmation) async throws(GatewayError) -> String? { throw .unreachable(reason) }
    public func queuedConfirmations(idNumber: String) async -> Set<String> { [] }
    public func queueFigure(_ queue: String) async -> KnownQueueFigure? { nil }
    public func saveQueueFigure(_ queue: String, _ figure: KnownQueueFigure) async {}
}
