import Foundation
import KioskCore
@_exported import KioskAPI
import KioskConfig



/// Why a provider has no figures.
public struct ProviderUnavailable: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is missing, e.g. `kioskd does not serve /v1/diagnostics/outbox`.
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Supplies outbox figures: kioskd in process (its outbox store), or a client of kioskd's
/// technician socket.
public protocol OutboxFiguresProvider: Sendable {
    /// The current figures.
    func outboxFigures() async throws -> OutboxFigures
}

/// Supplies heartbeat figures.
public protocol HeartbeatProvider: Sendable {
    /// The current figures.
    func heartbeatFigures() async throws -> HeartbeatFigures
}


/// Supplies the reader's state while kioskd owns the reader.
public protocol ReaderFiguresProvider: Sendable {
    /// The current figures.
    func readerFigures() async throws -> ReaderFigures
}

/// Supplies the verifier's state as kioskd sees it (its demo simulator included).
public protocol VerifierFiguresProvider: Sendable {
    /// The verifier, probed now.
    func verifierFigures() async throws -> VerifierFigures
}

/// Where a diagnostic run looks, and the providers of figures only kioskd has.
///
/// `kioskctl diag` fills it from its options and, when kioskd answers on its technician socket,
/// sets `outbox`, `heartbeat` and `reader` to `TechnicianSocketProviders` (the routes
/// `/v1/diagnostics/outbox`, `/heartbeat`, `/reader`). kioskd can serve those routes with these
/// Codable types, or run the same checks itself: build an environment with in-process providers
/// (its outbox store, heartbeat sender and reader service conforming to `OutboxFiguresProvider`,
/// `HeartbeatProvider`, `ReaderFiguresProvider`) and call `DiagnosticRunner(environment:).run()`.
public struct DiagnosticEnvironment: Sendable {
    /// The configuration directory (`kiosk.yaml` and friends).
    public var configDirectory: URL
    /// kioskd's state directory (`/var/lib/yitiji`): config store, outbox, logs.
    /// Where kioskd keeps the keys that protect its state (`--keys`; by default the state
    /// directory's path followed by `-keys`).
    public var keysDirectory: URL { keysDirectoryOverride ?? StateKeys.defaultDirectory(state: stateDirectory) }
    /// The keys directory when kioskd was started with `--keys`.
    public var keysDirectoryOverride: URL?
    /// Where keys sealed as systemd credentials are kept (`yitiji-seal-keys`).
    public var credentialStore: URL = StateKeys.credentialStore
    public var stateDirectory: URL
    /// The runtime directory (`/run/yitiji`).
    public var runtimeDirectory: URL
    /// kioskd's technician socket (default `<runtime>/technician.sock`).
    public var technicianSocket: String
    /// The CUPS server, as `CUPS_SERVER` would name it; nil for the default.
    public var cupsServer: String?
    /// The CUPS spool directory, for the disk check.
    public var cupsSpoolDirectory: URL
    /// The reader model database; nil for the default search path.
    public var readerModelsPath: String?
    /// Deadline of each check, in seconds.
    public var checkDeadlineSeconds: Double
    /// Collect raw detail (frames, IPP attributes, HTTP answers).
    public var verbose: Bool
    /// Outbox figures; nil when only kioskd has them and it is not reachable.
    public var outbox: (any OutboxFiguresProvider)?
    /// Heartbeat figures.
    public var heartbeat: (any HeartbeatProvider)?
    /// The reader's state while kioskd owns it.
    public var reader: (any ReaderFiguresProvider)?
    /// The verifier as kioskd sees it.
    public var verifier: (any VerifierFiguresProvider)?
    /// The clock; tests move it.
    public var now: @Sendable () -> Date

    /// `/run/yitiji/technician.sock`.
    public static let defaultTechnicianSocket = "/run/yitiji/technician.sock"

    public init(
        configDirectory: URL = KioskConfiguration.defaultDirectory(),
        stateDirectory: URL = URL(fileURLWithPath: "/var/lib/yitiji"),
        runtimeDirectory: URL = URL(fileURLWithPath: "/run/yitiji"),
        technicianSocket: String? = nil,
        cupsServer: String? = nil,
        cupsSpoolDirectory: URL = URL(fileURLWithPath: "/var/spool/cups"),
        readerModelsPath: String? = nil,
        checkDeadlineSeconds: Double = 5,
        verbose: Bool = false,
        outbox: (any OutboxFiguresProvider)? = nil,
        heartbeat: (any HeartbeatProvider)? = nil,
        reader: (any ReaderFiguresProvider)? = nil,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configDirectory = configDirectory
        self.stateDirectory = stateDirectory
        self.runtimeDirectory = runtimeDirectory
        self.technicianSocket = technicianSocket ?? runtimeDirectory.appendingPathComponent("technician.sock").path
        self.cupsServer = cupsServer
        self.cupsSpoolDirectory = cupsSpoolDirectory
        self.readerModelsPath = readerModelsPath
        self.checkDeadlineSeconds = checkDeadlineSeconds
        self.verbose = verbose
        self.outbox = outbox
        self.heartbeat = heartbeat
        self.reader = reader
        self.now = now
    }
}

/// Whether kioskd answered on its technician socket.
public enum DaemonState: Sendable, Equatable {
    /// Answering; its version when it said.
    case running(version: String?)
    /// Not answering; why.
    case notRunning(String)

    public var isRunning: Bool { if case .running = self { return true } else { return false } }
}

/// What every check sees: the environment, whether kioskd runs, and the configuration as loaded.
public struct DiagnosticContext: Sendable {
    public var environment: DiagnosticEnvironment
    public var daemon: DaemonState
    /// The configuration, or why it could not be loaded.
    public var configuration: Result<KioskConfiguration, ConfigurationError>

    public init(environment: DiagnosticEnvironment, daemon: DaemonState,
                configuration: Result<KioskConfiguration, ConfigurationError>) {
        self.environment = environment
        self.daemon = daemon
        self.configuration = configuration
    }

    /// The configuration when it loaded.
    public var settings: KioskSettings? { try? configuration.get().settings }
}
