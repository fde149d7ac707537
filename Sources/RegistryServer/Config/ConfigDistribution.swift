import Crypto
import Foundation
import ServiceLifecycle
import GRDB
import Hummingbird
import KioskConfig
import KioskCore
import Logging
import PostgresNIO
import Registry

/// A bundle central operations published.
public struct PublishedBundle: Codable, Sendable, Equatable {
    public var id: Int64
    public var target: String
    public var version: Int
    /// Share of the target's kiosks that get it, 1–100.
    public var stagePercent: Int
    public var sha256: String
    public var size: Int
    public var publishedAt: Date
    public var note: String
}

/// One kiosk's last report for one target.
public struct KioskConfigState: Codable, Sendable, Equatable {
    public var kioskId: String
    public var report: ConfigReport
}

/// Why a bundle cannot be published.
public enum PublishError: Error, Sendable, CustomStringConvertible {
    /// The bundle, its target or its stage cannot be published; says why.
    case invalid(String)
    public var description: String {
        switch self { case .invalid(let why): return why }
    }
}

/// Where registryd keeps configuration bundles and what kiosks reported of them.
public protocol ConfigBundleStore: Sendable {
    /// Stores a signed envelope for `target`; the version must be newer than every one published for it.
    func publish(envelope: Data, target: String, version: Int, stagePercent: Int, note: String, at: Date) async throws -> PublishedBundle
    /// Changes a bundle's roll-out share (widen a staged roll-out, or stop it with 0).
    func setStage(id: Int64, percent: Int) async throws -> Bool
    /// Every bundle of `targets` (all targets when nil), newest first.
    func publishedBundles(targets: [String]?) async throws -> [PublishedBundle]
    /// The signed envelope of bundle `id`.
    func bundleEnvelope(id: Int64) async throws -> Data?
    /// A number that changes whenever a bundle is published or re-staged.
    func configRevision() async throws -> Int64
    /// Keeps a kiosk's report (the last per kiosk and target).
    func record(report: ConfigReport, kioskId: String) async throws
    /// The last report of every kiosk and target.
    func configReports() async throws -> [KioskConfigState]
}

/// Checks a signed bundle before it is published: well formed, its signed target the one named.
public enum BundleInspection {
    public static func manifest(of envelope: Data) throws -> BundleManifest {
        let decoded: SignedEnvelope
        do { decoded = try SignedEnvelope.decode(envelope) } catch { throw PublishError.invalid("not a signed bundle: \(error)") }
        guard decoded.payloadType == SignedEnvelope.configType else {
            throw PublishError.invalid("payload type \(decoded.payloadType) is not a configuration bundle")
        }
        guard !decoded.signatures.isEmpty else { throw PublishError.invalid("the bundle carries no signature") }
        guard let body = Data(base64Encoded: decoded.payload),
              let manifest = try? JSONDecoder().decode(BundleManifest.self, from: body) else {
            throw PublishError.invalid("the bundle's manifest cannot be read")
        }
        return manifest
    }
}

extension SQLiteRegistryStore: ConfigBundleStore {
    /// Creates the configuration tables (once, when the store opens).
    func migrateConfig() throws {
        try queue.write { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS config_bundle (id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL, version INTEGER NOT NULL,
                    stage_percent INTEGER NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL, envelope BLOB NOT NULL,
                    published_at REAL NOT NULL, note TEXT NOT NULL, UNIQUE (target, version));
                CREATE TABLE IF NOT EXISTS config_revision (id INTEGER PRIMARY KEY CHECK (id = 1), revision INTEGER NOT NULL);
                INSERT OR IGNORE INTO config_revision (id, revision) VALUES (1, 0);
                CREATE TABLE IF NOT EXISTS config_report (kiosk_id TEXT NOT NULL, target TEXT NOT NULL, report TEXT NOT NULL,
                    PRIMARY KEY (kiosk_id, target));
                """)
        }
    }

    static func bundle(_ row: Row) -> PublishedBundle {
        PublishedBundle(id: row["id"], target: row["target"], version: row["version"], stagePercent: row["stage_percent"],
                        sha256: row["sha256"], size: row["size"], publishedAt: Date(timeIntervalSince1970: row["published_at"]),
                        note: row["note"])
    }

    public func publish(envelope: Data, target: String, version: Int, stagePercent: Int, note: String, at: Date) async throws -> PublishedBundle {
        let digest = SHA256.hash(data: envelope).hexString
        return try await queue.write { db in
            let newest = try Int.fetchOne(db, sql: "SELECT MAX(version) FROM config_bundle WHERE target = ?", arguments: [target]) ?? 0
            guard version > newest else {
                throw PublishError.invalid("version \(version) of \(target) is not newer than the published version \(newest)")
            }
            try db.execute(sql: """
                INSERT INTO config_bundle (target, version, stage_percent, sha256, size, envelope, published_at, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [target, version, stagePercent, digest, envelope.count, envelope, at.timeIntervalSince1970, note])
            try db.execute(sql: "UPDATE config_revision SET revision = revision + 1 WHERE id = 1")
            return PublishedBundle(id: db.lastInsertedRowID, target: target, version: version, stagePercent: stagePercent, sha256: digest,
                                   size: envelope.count, publishedAt: at, note: note)
        }
    }

    public func setStage(id: Int64, percent: Int) async throws -> Bool {
        return try await queue.write { db in
            try db.execute(sql: "UPDATE config_bundle SET stage_percent = ? WHERE id = ?", arguments: [percent, id])
            let changed = db.changesCount > 0
            if changed { try db.execute(sql: "UPDATE config_revision SET revision = revision + 1 WHERE id = 1") }
            return changed
        }
    }

    public func publishedBundles(targets: [String]?) async throws -> [PublishedBundle] {
        return try await queue.read { db in
            let columns = "id, target, version, stage_percent, sha256, size, published_at, note"
            if let targets {
                let marks = Array(repeating: "?", count: targets.count).joined(separator: ",")
                return try Row.fetchAll(db, sql: "SELECT \(columns) FROM config_bundle WHERE target IN (\(marks)) ORDER BY id DESC",
                                        arguments: StatementArguments(targets)).map(Self.bundle)
            }
            return try Row.fetchAll(db, sql: "SELECT \(columns) FROM config_bundle ORDER BY id DESC").map(Self.bundle)
        }
    }

    public func bundleEnvelope(id: Int64) async throws -> Data? {
        return try await queue.read { try Data.fetchOne($0, sql: "SELECT envelope FROM config_bundle WHERE id = ?", arguments: [id]) }
    }

    public func configRevision() async throws -> Int64 {
        try await queue.read { db in
            (try? Int64.fetchOne(db, sql: "SELECT revision FROM config_revision WHERE id = 1")) ?? 0
        }
    }

    public func record(report: ConfigReport, kioskId: String) async throws {
        let text = String(decoding: try RegistryJSON.encoder().encode(report), as: UTF8.self)
        try await queue.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO config_report (kiosk_id, target, report) VALUES (?, ?, ?)",
                           arguments: [kioskId, report.target ?? "-", text])
        }
    }

    public func configReports() async throws -> [KioskConfigState] {
        return try await queue.read { db in
            try Row.fetchAll(db, sql: "SELECT kiosk_id, report FROM config_report ORDER BY kiosk_id, target").compactMap { row in
                let text: String = row["report"]
                guard let report = try? RegistryJSON.decoder().decode(ConfigReport.self, from: Data(text.utf8)) else { return nil }
                return KioskConfigState(kioskId: row["kiosk_id"], report: report)
            }
        }
    }
}

/// `GET /v1/config/announcements?site=&etag=&wait=` (a long poll: answers at once when the
/// bundles differ from `etag`, else when they change, else after `wait` seconds),
/// `GET /v1/config/bundles/{id}` and `POST /v1/config/reports`. All signed by the kiosk.
public enum ConfigRoutes {
    /// Adds the routes: `reads` and `reports` are signed groups with their body limits. Answers
    /// the desk that also serves polls parked below the routes (`ConfigPollParking`).
    @discardableResult
    static func add(reads: RouterGroup<RegistryRequestContext>, reports: RouterGroup<RegistryRequestContext>, store: any ConfigBundleStore,
                    options: RegistryOptions = RegistryOptions()) -> AnnouncementDesk {
        let catalogue = ConfigCatalogue(store: store)
        let desk = AnnouncementDesk(catalogue: catalogue, options: options)
        reads.get("config/announcements") { request, context in
            let kioskId = try context.requireKiosk()
            let poll = try await desk.open(kioskId: kioskId, query: try AnnouncementQuery(request.uri))
            return try RegistryRoutes.json(try await desk.finish(try await desk.hold(poll), kioskId: kioskId))
        }
        reads.get("config/bundles/:id") { _, context in
            _ = try context.requireKiosk()
            guard let id = context.parameters.get("id", as: Int64.self), let envelope = try await catalogue.envelope(id: id) else {
                throw Problem(status: .notFound, code: "config.not-found", title: "No such bundle", detail: "no configuration bundle has this id")
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: envelope)))
        }
        reports.post("config/reports") { request, context in
            let kioskId = try context.requireKiosk()
            let body = try await request.body.collect(upTo: 64 << 10)
            guard let report = try? RegistryJSON.decoder().decode(ConfigReport.self, from: Data(body.readableBytesView)),
                  ["committed", "rolledBack", "rejected", "manualRollback"].contains(report.result),
                  (report.reason ?? "").count <= 2000 else {
                throw Problem(status: .unprocessableContent, code: "request.invalid", title: "Invalid report",
                              detail: "a report is {target, version, result (committed|rolledBack|rejected|manualRollback), reason, generation, at}")
            }
            try await store.record(report: report, kioskId: kioskId)
            return Response(status: .noContent)
        }
        return desk
    }
}

/// The signed freshness statement of one answer: made now, for this kiosk, over exactly its bundles.
func freshnessStatement(for answer: ConfigAnnouncements, kioskId: String, key: Curve25519.Signing.PrivateKey, validity: TimeInterval) throws -> String {
    let now = Date()
    let entries = answer.bundles.map { FeedStatement.entry(target: $0.target, version: $0.version, sha256: $0.sha256) }
    return try FeedStatement(kioskId: kioskId, issued: now, expires: now.addingTimeInterval(validity), bundles: entries)
        .signed(by: key).base64EncodedString()
}

extension PostgresRegistryStore: ConfigBundleStore {
    /// The configuration tables, created by `migrate()`.
    static let configMigration: [PostgresQuery] = [
        """
        CREATE TABLE IF NOT EXISTS config_bundle (id BIGSERIAL PRIMARY KEY, target TEXT NOT NULL, version INTEGER NOT NULL,
            stage_percent INTEGER NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL, envelope TEXT NOT NULL,
            published_at DOUBLE PRECISION NOT NULL, note TEXT NOT NULL, UNIQUE (target, version))
        """,
        "CREATE TABLE IF NOT EXISTS config_revision (id INTEGER PRIMARY KEY, revision BIGINT NOT NULL)",
        "INSERT INTO config_revision (id, revision) VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
        """
        CREATE TABLE IF NOT EXISTS config_report (kiosk_id TEXT NOT NULL, target TEXT NOT NULL, report TEXT NOT NULL,
            PRIMARY KEY (kiosk_id, target))
        """,
    ]

    public func publish(envelope: Data, target: String, version: Int, stagePercent: Int, note: String, at: Date) async throws -> PublishedBundle {
        let digest = SHA256.hash(data: envelope).hexString
        let text = envelope.base64EncodedString(), size = envelope.count, time = at.timeIntervalSince1970
        let logger = self.logger
        return try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(7463)", logger: logger)
            var newest = 0
            for try await value in try await connection.query("SELECT COALESCE(MAX(version), 0) FROM config_bundle WHERE target = \(target)",
                                                                 logger: logger).decode(Int.self) { newest = value }
            guard version > newest else {
                throw PublishError.invalid("version \(version) of \(target) is not newer than the published version \(newest)")
            }
            var id: Int64 = 0
            for try await value in try await connection.query("""
                INSERT INTO config_bundle (target, version, stage_percent, sha256, size, envelope, published_at, note)
                VALUES (\(target), \(version), \(stagePercent), \(digest), \(size), \(text), \(time), \(note)) RETURNING id
                """, logger: logger).decode(Int64.self) { id = value }
            try await connection.query("UPDATE config_revision SET revision = revision + 1 WHERE id = 1", logger: logger)
            return PublishedBundle(id: id, target: target, version: version, stagePercent: stagePercent, sha256: digest, size: size,
                                   publishedAt: at, note: note)
        }
    }

    public func setStage(id: Int64, percent: Int) async throws -> Bool {
        let changed = try await !strings("UPDATE config_bundle SET stage_percent = \(percent) WHERE id = \(id) RETURNING target").isEmpty
        if changed { try await client.query("UPDATE config_revision SET revision = revision + 1 WHERE id = 1", logger: logger) }
        return changed
    }

    public func publishedBundles(targets: [String]?) async throws -> [PublishedBundle] {
        var out: [PublishedBundle] = []
        let rows = try await client.query(
            "SELECT id, target, version, stage_percent, sha256, size, published_at, note FROM config_bundle ORDER BY id DESC", logger: logger)
        for try await (id, target, version, stage, sha, size, at, note) in rows.decode((Int64, String, Int, Int, String, Int, Double, String).self)
        where targets?.contains(target) ?? true {
            out.append(PublishedBundle(id: id, target: target, version: version, stagePercent: stage, sha256: sha, size: size,
                                       publishedAt: Date(timeIntervalSince1970: at), note: note))
        }
        return out
    }

    public func bundleEnvelope(id: Int64) async throws -> Data? {
        return try await strings("SELECT envelope FROM config_bundle WHERE id = \(id)").first.flatMap { Data(base64Encoded: $0) }
    }

    public func configRevision() async throws -> Int64 {
        var revision: Int64 = 0
        for try await value in try await client.query("SELECT revision FROM config_revision WHERE id = 1", logger: logger).decode(Int64.self) {
            revision = value
        }
        return revision
    }

    public func record(report: ConfigReport, kioskId: String) async throws {
        let text = String(decoding: try RegistryJSON.encoder().encode(report), as: UTF8.self), target = report.target ?? "-"
        try await client.query("""
            INSERT INTO config_report (kiosk_id, target, report) VALUES (\(kioskId), \(target), \(text))
            ON CONFLICT (kiosk_id, target) DO UPDATE SET report = EXCLUDED.report
            """, logger: logger)
    }

    public func configReports() async throws -> [KioskConfigState] {
        var out: [KioskConfigState] = []
        let rows = try await client.query("SELECT kiosk_id, report FROM config_report ORDER BY kiosk_id, target", logger: logger)
        for try await (kiosk, text) in rows.decode((String, String).self) {
            if let report = try? RegistryJSON.decoder().decode(ConfigReport.self, from: Data(text.utf8)) {
                out.append(KioskConfigState(kioskId: kiosk, report: report))
            }
        }
        return out
    }
}

/// A bundle's roll-out as central operations follow it.
public enum Rollout {
    /// The registered kiosks a bundle for `target` reaches at `percent` (a `site:` target reaches
    /// the kiosks that ask from that site, which the registry cannot list in advance: nil).
    public static func reach(target: String, version: Int, percent: Int, kiosks: [String]) -> [String]? {
        guard let parsed = BundleTarget(target) else { return [] }
        let candidates: [String]
        switch parsed.scope {
        case .fleet: candidates = kiosks
        case .kiosk: candidates = kiosks.filter { $0 == parsed.id }
        case .site: return nil
        }
        return candidates.filter { ConfigStaging.includes(kioskId: $0, target: target, version: version, percent: percent) }.sorted()
    }

    /// Where one bundle stands: kiosks that run it (or a later version), kiosks that refused or
    /// rolled it back, and kiosks it reaches that have not reported it yet.
    public struct Progress: Codable, Sendable, Equatable {
        public var applied: [String] = []
        public var failed: [String: String] = [:]
        public var waiting: [String] = []
    }

    /// The progress of `bundle` among `kiosks` from their last reports.
    public static func progress(of bundle: PublishedBundle, kiosks: [String], reports: [KioskConfigState]) -> Progress {
        var progress = Progress()
        let mine = reports.filter { $0.report.target == bundle.target }
        var reported = Set<String>()
        for state in mine {
            guard let version = state.report.version else { continue }
            if version >= bundle.version, state.report.result == "committed" {
                progress.applied.append(state.kioskId)
                reported.insert(state.kioskId)
            } else if version == bundle.version, ["rolledBack", "rejected"].contains(state.report.result) {
                progress.failed[state.kioskId] = state.report.result + (state.report.reason.map { ": \($0)" } ?? "")
                reported.insert(state.kioskId)
            }
        }
        let reached = reach(target: bundle.target, version: bundle.version, percent: bundle.stagePercent, kiosks: kiosks) ?? []
        progress.waiting = reached.filter { !reported.contains($0) }
        progress.applied.sort()
        return progress
    }
}
