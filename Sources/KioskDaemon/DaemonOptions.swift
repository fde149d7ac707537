import Foundation
import KioskCore

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
