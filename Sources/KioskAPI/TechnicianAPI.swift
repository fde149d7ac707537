import Foundation

/// kioskd's state as the technician socket reports it (`GET /v1/status`).
public struct TechnicianStatus: Codable, Sendable, Equatable {
    /// One printer role's last known status.
    public struct Printer: Codable, Sendable, Equatable {
        public var role: String
        public var queue: String
        /// online, offline, busy, stopped
        public var device: String
        /// ok, low, out, jammed
        public var paper: String
        /// ok, low, out
        public var toner: String
        public var accepting: Bool
        public var reasons: [String]
        public var message: String
        public init(role: String, queue: String, device: String, paper: String, toner: String, accepting: Bool,
                    reasons: [String], message: String) {
            self.role = role
            self.queue = queue
            self.device = device
            self.paper = paper
            self.toner = toner
            self.accepting = accepting
            self.reasons = reasons
            self.message = message
        }
    }


    /// What kioskd is doing in one line (as `systemctl status` shows it), e.g. `serving; reader ok; a4 out of paper`.
    public var summary: String?
    public var version: String
    public var kioskId: String
    public var site: String
    public var pid: Int32
    public var uptimeSeconds: Int
    public var maintenance: Bool
    public var maintenanceReason: String?
    public var readerPresent: Bool
    public var readerEndpoint: String?
    public var samID: String?
    public var printers: [Printer]
    /// Whether a citizen session is active (never who).
    public var sessionActive: Bool
    public var sessionsStarted: Int
    /// Counters since start, e.g. `reads`, `prints.completed`.
    public var counters: [String: Int]
    public var configDirectory: String
    public var configVersion: String?
    public var outbox: OutboxFigures?
    /// Seconds since the last heartbeat the registry acknowledged, if any.
    public var lastHeartbeatAgeSeconds: Int?

    public init(version: String, kioskId: String, site: String, pid: Int32, uptimeSeconds: Int, maintenance: Bool,
                maintenanceReason: String?, readerPresent: Bool, readerEndpoint: String?, samID: String?, printers: [Printer],
                sessionActive: Bool, sessionsStarted: Int, counters: [String: Int], configDirectory: String,
                configVersion: String?, outbox: OutboxFigures?, lastHeartbeatAgeSeconds: Int?) {
        self.version = version
        self.kioskId = kioskId
        self.site = site
        self.pid = pid
        self.uptimeSeconds = uptimeSeconds
        self.maintenance = maintenance
        self.maintenanceReason = maintenanceReason
        self.readerPresent = readerPresent
        self.readerEndpoint = readerEndpoint
        self.samID = samID
        self.printers = printers
        self.sessionActive = sessionActive
        self.sessionsStarted = sessionsStarted
        self.counters = counters
        self.configDirectory = configDirectory
        self.configVersion = configVersion
        self.outbox = outbox
        self.lastHeartbeatAgeSeconds = lastHeartbeatAgeSeconds
    }
}

/// `POST /v1/maintenance` on the technician socket.
public struct MaintenanceRequest: Codable, Sendable, Equatable {
    public var on: Bool
    /// Why (shown to staff, recorded in the audit log); required to switch on.
    public var reason: String?
    public init(on: Bool, reason: String?) { self.on = on; self.reason = reason }
}

/// The configuration in use and its history (`GET /v1/config`).
public struct ConfigurationView: Codable, Sendable, Equatable {
    /// One event of the configuration history.
    public struct Event: Codable, Sendable, Equatable {
        public var time: String
        /// committed, rolledBack, rejected, manualRollback
        public var result: String
        public var target: String?
        public var version: Int?
        public var generation: Int
        public var reason: String?
        public init(time: String, result: String, target: String?, version: Int?, generation: Int, reason: String?) {
            self.time = time
            self.result = result
            self.target = target
            self.version = version
            self.generation = generation
            self.reason = reason
        }
    }

    public var directory: String
    /// The generation in use; nil while the embedded default is in use.
    public var generation: Int?
    /// Installed version per layer, e.g. `fleet: 3`.
    public var layers: [String: Int]
    public var kioskId: String
    public var site: String
    public var registryURL: String
    /// Whether a trusted root is installed (bundles can be verified).
    public var trustedRoot: Bool
    public var history: [Event]

    public init(directory: String, generation: Int?, layers: [String: Int], kioskId: String, site: String, registryURL: String,
                trustedRoot: Bool, history: [Event]) {
        self.directory = directory
        self.generation = generation
        self.layers = layers
        self.kioskId = kioskId
        self.site = site
        self.registryURL = registryURL
        self.trustedRoot = trustedRoot
        self.history = history
    }
}

/// How one configuration file differs between two generations (`GET /v1/config/diff`).
public struct ConfigFileDiff: Codable, Sendable, Equatable {
    public var path: String
    /// added, removed, changed
    public var change: String
    /// Unified-style lines: `-old`, `+new`.
    public var lines: [String]
    public init(path: String, change: String, lines: [String]) {
        self.path = path
        self.change = change
        self.lines = lines
    }
}

/// `POST /v1/config/rollback`.
public struct RollbackRequest: Codable, Sendable, Equatable {
    public var reason: String
    public init(reason: String) { self.reason = reason }
}

/// The outbox's figures, as whoever owns the outbox reports them.
public struct OutboxFigures: Sendable, Equatable, Codable {
    /// Items waiting to be sent.
    public var depth: Int
    /// Age of the oldest waiting item, in seconds; nil when the outbox is empty.
    public var oldestAgeSeconds: Double?
    /// Items that will not be retried and need a technician.
    public var deadLetters: Int

    public init(depth: Int, oldestAgeSeconds: Double?, deadLetters: Int) {
        self.depth = depth
        self.oldestAgeSeconds = oldestAgeSeconds
        self.deadLetters = deadLetters
    }
}

/// The last heartbeat the kiosk sent to the registry. In JSON, `lastAcceptedAt` is ISO 8601.
public struct HeartbeatFigures: Sendable, Equatable, Codable {
    /// When the last heartbeat was accepted by the registry; nil when none was yet.
    public var lastAcceptedAt: Date?
    /// How often heartbeats are due, in seconds.
    public var intervalSeconds: Double
    /// Why the last attempt failed, if it did.
    public var lastError: String?

    public init(lastAcceptedAt: Date?, intervalSeconds: Double, lastError: String? = nil) {
        self.lastAcceptedAt = lastAcceptedAt
        self.intervalSeconds = intervalSeconds
        self.lastError = lastError
    }
}

/// What kioskd says about a reader it owns.
public struct ReaderFigures: Sendable, Equatable, Codable {
    /// The reader, e.g. `usb 0400:c35a bus 1 device 2 — …`; nil when none is connected.
    public var reader: String?
    /// The SAM ID, when read.
    public var samID: String?
    /// The SAM status in words, e.g. `success`.
    public var samStatus: String?
    /// The last error the reader service saw, if any.
    public var lastError: String?

    public init(reader: String?, samID: String?, samStatus: String?, lastError: String? = nil) {
        self.reader = reader
        self.samID = samID
        self.samStatus = samStatus
        self.lastError = lastError
    }
}

/// What kioskd says about its person–card verifier.
public struct VerifierFigures: Sendable, Equatable, Codable {
    /// The verifier program, or `simulator (demo)`; nil when none is configured.
    public var verifier: String?
    /// `ready`, `failed` or `notConfigured`.
    public var state: String
    /// Its name and model when ready, else what failed.
    public var detail: String
    /// The codes of the services that need a face match.
    public var servicesNeedingIt: [String]

    public init(verifier: String?, state: String, detail: String, servicesNeedingIt: [String]) {
        self.verifier = verifier
        self.state = state
        self.detail = detail
        self.servicesNeedingIt = servicesNeedingIt
    }
}

/// One line of the audit log.
public struct AuditEntry: Codable, Sendable, Equatable {
    /// ISO 8601 time.
    public var time: String
    /// `citizen`, `technician`, `central` or `kioskd`.
    public var actor: String
    /// The account behind a technician operation, as the kernel reported it for the
    /// connection, e.g. `alice (uid 1000)`.
    public var by: String?
    /// What happened, e.g. `session.start`, `print`, `queue.purge`, `config.apply`.
    public var action: String
    /// Keyed hash of the card holder's ID number, when a card holder is involved.
    public var subject: String?
    /// Non-personal detail, e.g. `business-licence completed job a4-12`.
    public var detail: String

    public init(time: String, actor: String, by: String?, action: String, subject: String?, detail: String) {
        self.time = time
        self.actor = actor
        self.by = by
        self.action = action
        self.subject = subject
        self.detail = detail
    }
}

/// A technician's retry or purge of an outbox item: who and why, both recorded.
public struct QueueOperationRequest: Codable, Sendable, Equatable {
    public var who: String
    public var why: String
    public init(who: String, why: String) { self.who = who; self.why = why }
}
