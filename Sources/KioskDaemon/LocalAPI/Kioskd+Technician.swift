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

/// What the technician socket asks of the daemon: status, diagnostics, maintenance, audit, configuration views.
extension Kioskd {
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
            version: Yitiji.version, kioskId: configuration.settings.kiosk.id, site: configuration.settings.kiosk.site,
            pid: getpid(), uptimeSeconds: Int(Date().timeIntervalSince(startedAt)),
            maintenance: await state.maintenance, maintenanceReason: await state.maintenanceReason,
            readerPresent: await state.readerPresent, readerEndpoint: await state.readerEndpoint, samID: await state.samID,
            printers: views, sessionActive: await sessions.isActive, sessionsStarted: await sessions.sessionsStarted,
            counters: await state.counters, configDirectory: options.configDirectory.path,
            configVersion: Self.versionText(await configStore.currentGeneration()), outbox: await outboxFigures(),
            lastHeartbeatAgeSeconds: (await heartbeatFigures())?.lastAcceptedAt.map { max(0, Int(Date().timeIntervalSince($0))) })
        status.summary = await statusLine()
        return status
    }

    /// The configuration in force in a few words: `generation 3: fleet v3, site:demo-hall v1`, or the
    /// embedded default when no bundle was ever applied.
    static func versionText(_ generation: ConfigGeneration?) -> String {
        guard let generation else { return "embedded default" }
        return "generation \(generation.generation)" + (generation.layers.isEmpty ? "" : ": " + ConfigGeneration.layerText(generation.layers))
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

    public func outboxFigures() async -> OutboxFigures? { await backedGateway?.figures() }

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
}
