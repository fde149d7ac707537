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
/// kioskd: every part is a service in one group; SIGTERM shuts them down in reverse order.
public final class Kioskd: TechnicianOperations {
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
    public let citizen: CitizenDesk
    /// Person–card checks for the citizen's visit.
    public let faces: FaceCheckDesk
    let logger: Logger
    let startedAt = Date()
    /// The running service group, so that `shutdown()` can stop it gracefully, and whether a
    /// shutdown was asked for before the group ran.
    let runningGroup = Locked<(group: ServiceGroup?, stopRequested: Bool)>((nil, false))
    let readerPoller: ReaderPoller
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
    public init(options: DaemonOptions, gateway: (any RegistryGateway)? = nil, readerOpener: ReaderPoller.Opener? = nil,
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
        let ledgerPrinter = (try? CupsClient(server: options.cupsServer)).map {
            LedgerPrinter(ledger: PrintLedger(path: options.stateDirectory.appendingPathComponent("print-ledger.json").path),
                         runner: PrintJobRunner(client: $0))
        }
        let desk = DocumentDesk(renderer: renderer, ledgerPrinter: ledgerPrinter, printers: settings.printers, logger: logger)
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
        citizen = CitizenDesk(sessions: sessions, state: state, hub: hub, gateway: registry, desk: desk, faces: faces,
                                      configuration: configuration, audit: audit, logger: logger,
                                      onPrinted: { metrics.print(role: $0, outcome: $1, took: $2) })

        configAgent = ConfigAgent(store: configStore, kioskId: settings.kiosk.id, site: settings.kiosk.site, sessions: sessions,
                                  audit: audit, logger: logger)
        var timing = ReaderTiming()
        timing.pollIntervalMilliseconds = settings.reader.pollIntervalMilliseconds
        let select = settings.reader.select, device = settings.reader.device
        if let readerOpener {
            readerPoller = ReaderPoller(timing: timing, opener: readerOpener)
        } else if let control = options.simulatorControl {
            let simulator = ReaderSimulator()
            readerPoller = ReaderPoller(timing: timing) { () throws(ReaderError) -> any ReaderTransport in
                let transport = SimulatedTransport(simulator: simulator)
                return transport
            }
            try? Self.watchSimulatorControl(path: control, simulator: simulator, logger: logger)
        } else {
            let database: ReaderModelDatabase
            do { database = try ReaderModelDatabase.loadDefault() } catch { throw DaemonError.configuration("reader models: \(error)") }
            readerPoller = ReaderPoller(timing: timing) { () throws(ReaderError) -> any ReaderTransport in
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

    /// Runs every service until SIGTERM or SIGINT, then shuts them down in reverse order.
    public func run() async throws {
        await configAgent.setHandlers(healthCheck: { [weak self] candidate in
            guard let self else { return "kioskd is stopping" }
            return await self.healthCheck(candidate)
        }, apply: { [weak self] configuration in
            await self?.apply(configuration)
        })
        var services: [any Service] = [
            ReaderLinkService(reader: readerPoller, sessions: sessions, state: state, hub: hub, logger: logger),
            PrinterWatchService(roles: { [currentConfiguration] in currentConfiguration.withLock { $0.settings.printers.mapValues(\.queue) } },
                                cupsServer: options.cupsServer, state: state, logger: logger, cycles: printerCycles),
            SessionTimerService(sessions: sessions),
            WatchdogService(notifier: notifier, logger: logger) { [readerPoller, printerCycles] in
                ["reader": readerPoller.cycles, "printers": printerCycles.withLock { $0 }]
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
}
