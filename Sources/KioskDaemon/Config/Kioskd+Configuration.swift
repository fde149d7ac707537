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

/// A configuration taken into use: checked first, then applied without a restart.
extension Kioskd {
    /// Makes the state and runtime directories, opens the configuration store (finishing a swap a
    /// power cut interrupted) and loads the configuration in use and its directory.
    static func openState(options: DaemonOptions) throws -> (ConfigStore, KioskConfiguration, URL) {
        for dir in [options.stateDirectory, options.runtimeDirectory] {
            do {
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
            } catch { throw DaemonError.stateNotWritable(dir.path) }
        }
        let store: ConfigStore
        do { store = try ConfigStore(stateDirectory: options.stateDirectory, baseDirectory: options.configDirectory) } catch {
            throw DaemonError.stateNotWritable(options.stateDirectory.appendingPathComponent("config").path)
        }
        let directory = ConfigStore.currentDirectory(stateDirectory: options.stateDirectory, baseDirectory: options.configDirectory)
        do { return (store, try KioskConfiguration.load(from: directory), directory) } catch {
            throw DaemonError.configuration("\(error)")
        }
    }

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
}
