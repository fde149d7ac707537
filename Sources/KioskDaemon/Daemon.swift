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
    /// - Parameters:
    ///   - gateway: the registry; made from the configuration and state when nil.
    ///   - readerOpener: opens the reader; by default the configured device (or the simulator
    ///     named in the options).
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
        let (store, configuration, directory) = try Self.openState(options: options)
        configStore = store
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

        let signingKey = try Self.documentSigningKey(state: options.stateDirectory)
        documentKeyPublic = signingKey.key.publicKeyBase64
        if !options.allowDemoKeys { try Self.refuseDemoKeys(options: options, configuration: directory, signingKey: signingKey) }
        let desk = try DocumentDesk.make(settings: settings, options: options, signingKey: signingKey.key,
                                         templates: directory.appendingPathComponent("templates"), logger: logger)
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
        readerPoller = try Self.readerPoller(settings: settings.reader, options: options, opener: readerOpener, logger: logger)
    }

    // MARK: - Running

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
        if let port = options.metricsPort { services.append(metricsApplication(port: port)) }
        services.append(ReadyNotice(notifier: notifier, sockets: [options.citizenSocket, options.technicianSocket],
                                    hub: hub, logger: logger))
        await installInitialRoot()
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) },
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        audit.record(actor: "kioskd", action: "daemon.start", detail: "version \(Yitiji.version)")
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
