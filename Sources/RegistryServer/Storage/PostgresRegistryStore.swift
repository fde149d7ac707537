import Crypto
import Foundation
import KioskCore
import Logging
import PostgresNIO
import Registry

/// Where a PostgreSQL server is, and who registryd is there.
public struct PostgresEndpoint: Sendable {
    /// The server's Unix socket file; when set, `host` and `port` are not used.
    public var unixSocketPath: String?
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String

    public init(unixSocketPath: String? = nil, host: String = "127.0.0.1", port: Int = 5432, username: String, password: String? = nil,
                database: String) {
        self.unixSocketPath = unixSocketPath
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    /// The configuration of one connection (the probe's), outside the pool.
    public var connectionConfiguration: PostgresConnection.Configuration {
        var config = unixSocketPath.map { PostgresConnection.Configuration(unixSocketPath: $0, username: username, password: password, database: database) }
            ?? PostgresConnection.Configuration(host: host, port: port, username: username, password: password, database: database, tls: .disable)
        config.options.connectTimeout = .seconds(2)
        return config
    }
}

/// Asks PostgreSQL `SELECT 1` on a connection of its own, outside the pool, so that a pool
/// backing off after failures, or busy with every connection leased, does not colour the answer.
public actor PostgresProbe: StoreProbe {
    let endpoint: PostgresEndpoint
    let logger: Logger
    var connection: PostgresConnection?
    var connections = 0

    public init(endpoint: PostgresEndpoint, logger: Logger = Logger(label: "registryd.postgres.probe")) {
        self.endpoint = endpoint
        self.logger = logger
    }

    public func check() async throws {
        let connection: PostgresConnection
        if let open = self.connection, !open.isClosed {
            connection = open
        } else {
            connections += 1
            connection = try await PostgresConnection.connect(configuration: endpoint.connectionConfiguration, id: connections, logger: logger)
            self.connection = connection
        }
        _ = try await connection.query("SELECT 1", logger: logger).collect()
    }

    public func reset() async {
        let open = connection
        connection = nil
        try? await open?.close()
    }
}

/// The pool as the store uses it: with `availability`, a call fails at once while the server is
/// down, and a call still waiting for a connection when it goes down is let go, both with
/// `StoreUnavailable`; without, it is the pool itself.
struct BoundedPostgresClient: Sendable {
    let pool: PostgresClient
    let availability: StoreAvailability?

    /// Carries a value the compiler cannot prove Sendable into the child task that runs a bounded
    /// call and back; the caller waits for that task, so the value is never used from two at once.
    struct Carried<Value>: @unchecked Sendable {
        let value: Value
    }

    func bounded<Result>(_ operation: () async throws -> Result) async throws -> Result {
        guard let availability else { return try await operation() }
        return try await withoutActuallyEscaping(operation) { operation in
            let carried = Carried(value: operation)
            return try await availability.bounded { Carried(value: try await carried.value()) }.value
        }
    }

    func withTransaction<Result>(logger: Logger, _ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        try await bounded { try await pool.withConnection { connection in try await connection.withTransaction(logger: logger) { try await body($0) } } }
    }

    func withConnection<Result>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        try await bounded { try await pool.withConnection { try await body($0) } }
    }

    @discardableResult
    func query(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try await bounded { try await pool.query(query, logger: logger) }
    }
}

/// registryd's store on PostgreSQL, for a fleet that outgrows one machine: the same tables and
/// behaviour as `SQLiteRegistryStore`. Submissions of one kiosk are serialised by a
/// transaction-scoped advisory lock, so idempotency holds across several registryd processes.
/// `run()` the client (e.g. in the service group) before using the store.
public final class PostgresRegistryStore: RegistryStore {
    /// The connection pool as the store uses it, bounded by `availability`; the pool must be running.
    let client: BoundedPostgresClient
    let logger: Logger
    /// Whether the server answers; fed by `run(probe:)` with `PostgresProbe`.
    public let availability: StoreAvailability?

    /// A store on `client`, which must be running (`client.run()`); give `availability` (and run
    /// its probe) to answer 503 while the server is down.
    public init(client: PostgresClient, availability: StoreAvailability? = nil, logger: Logger = Logger(label: "registryd.postgres")) {
        self.client = BoundedPostgresClient(pool: client, availability: availability)
        self.availability = availability
        self.logger = logger
    }

    /// Runs the connection pool until the task is cancelled.
    public func run() async { await client.pool.run() }

    /// A client for a server on a Unix socket (`/path/.s.PGSQL.5432`) or host and port.
    public static func makeClient(unixSocketPath: String? = nil, host: String = "127.0.0.1", port: Int = 5432, username: String,
                                  password: String? = nil, database: String) -> PostgresClient {
        makeClient(PostgresEndpoint(unixSocketPath: unixSocketPath, host: host, port: port, username: username, password: password, database: database))
    }

    /// A client (pool of at most 16 connections) for `endpoint`.
    public static func makeClient(_ endpoint: PostgresEndpoint) -> PostgresClient {
        var config = endpoint.unixSocketPath.map {
            PostgresClient.Configuration(unixSocketPath: $0, username: endpoint.username, password: endpoint.password, database: endpoint.database)
        } ?? PostgresClient.Configuration(host: endpoint.host, port: endpoint.port, username: endpoint.username,
                                          password: endpoint.password, database: endpoint.database, tls: .disable)
        config.options.connectTimeout = .seconds(5)
        config.options.maximumConnections = 16
        return PostgresClient(configuration: config, backgroundLogger: Logger(label: "registryd.postgres"))
    }

    /// Creates the tables that are missing.
    public func migrate() async throws {
        let statements: [PostgresQuery] = [
            "CREATE TABLE IF NOT EXISTS enterprise (uscc TEXT PRIMARY KEY, name TEXT NOT NULL, record TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS enterprise_name ON enterprise(name)",
            "CREATE TABLE IF NOT EXISTS person (id_number TEXT PRIMARY KEY, record TEXT NOT NULL)",
            """
            CREATE TABLE IF NOT EXISTS kiosk (id TEXT PRIMARY KEY, public_key TEXT NOT NULL, added_at DOUBLE PRECISION NOT NULL,
                                              note TEXT NOT NULL, last_heartbeat_at DOUBLE PRECISION)
            """,
            """
            CREATE TABLE IF NOT EXISTS idempotency (kiosk_id TEXT NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL, body_hash TEXT NOT NULL,
                                                    receipt TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (kiosk_id, key))
            """,
            "CREATE INDEX IF NOT EXISTS idempotency_created ON idempotency(created_at)",
            """
            CREATE TABLE IF NOT EXISTS submission (id BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL, registry_number TEXT NOT NULL UNIQUE,
                                                   kiosk_id TEXT NOT NULL, idempotency_key TEXT NOT NULL, tracking_number TEXT, visit_id TEXT,
                                                   body TEXT NOT NULL, received_at DOUBLE PRECISION NOT NULL)
            """,
            "CREATE INDEX IF NOT EXISTS submission_kind ON submission(kind, id)",
            "CREATE UNIQUE INDEX IF NOT EXISTS submission_rating_visit ON submission(kiosk_id, visit_id) WHERE kind = 'ratings'",
            "CREATE UNIQUE INDEX IF NOT EXISTS submission_application_tracking ON submission(kiosk_id, tracking_number) WHERE kind = 'applications'",
            """
            CREATE TABLE IF NOT EXISTS verification (record_key TEXT PRIMARY KEY, record TEXT NOT NULL, kiosk_id TEXT NOT NULL,
                recorded_at DOUBLE PRECISION NOT NULL)
            """,
            """
            CREATE TABLE IF NOT EXISTS document_key (public_key TEXT PRIMARY KEY, key_id TEXT NOT NULL, kiosk_id TEXT NOT NULL,
                registered_at DOUBLE PRECISION NOT NULL)
            """,
            "CREATE INDEX IF NOT EXISTS document_key_id ON document_key(key_id)",
            "CREATE INDEX IF NOT EXISTS document_key_kiosk ON document_key(kiosk_id)",
        ] + Self.hallMigration + Self.progressMigration + Self.deliveryMigration + Self.pensionMigration + Self.cardLossMigration
            + Self.openingMigration + Self.configMigration + Self.heartbeatMigration + Self.nameIndexMigration
        // A schema these very statements made is left alone: DDL takes table locks, and run under a
        // fleet's traffic (a replica restarting, a `registryd config publish`) it stalls the other
        // replicas' writes or deadlocks with them.
        let digest = SHA256.hash(data: Data(statements.map(\.sql).joined(separator: ";\n").utf8)).hexString
        if (try? await strings("SELECT digest FROM registry_schema WHERE id = 1").first) == digest { return }
        try await client.withTransaction(logger: logger) { connection in
            // Several registryd processes may start at once.
            try await connection.query("SELECT pg_advisory_xact_lock(7461)", logger: logger)
            for statement in statements { try await connection.query(statement, logger: logger) }
            try await Self.backfillNameIndex(connection, logger)
            try await connection.query("CREATE TABLE IF NOT EXISTS registry_schema (id INTEGER PRIMARY KEY, digest TEXT NOT NULL)", logger: logger)
            try await connection.query("""
                INSERT INTO registry_schema (id, digest) VALUES (1, \(digest)) ON CONFLICT (id) DO UPDATE SET digest = EXCLUDED.digest
                """, logger: logger)
        }
    }

    func strings(_ query: PostgresQuery) async throws -> [String] {
        var out: [String] = []
        for try await value in try await client.query(query, logger: logger).decode(String.self) { out.append(value) }
        return out
    }

    public func enterpriseRecordText(uscc: String) async throws -> String? {
        try await strings("SELECT record FROM enterprise WHERE uscc = \(uscc)").first
    }

    public func searchEnterprises(name: String, limit: Int) async throws -> [EnterpriseListing] {
        try await search(literal: EnterpriseNameIndex.literal(name), limit: limit)
            .map { EnterpriseListing(try SQLiteRegistryStore.decode(EnterpriseRecord.self, $0)) }
    }

    public func person(idNumber: String) async throws -> SocialInsuranceRecord? {
        guard let text = try await strings("SELECT record FROM person WHERE id_number = \(idNumber)").first else { return nil }
        var record = try SQLiteRegistryStore.decode(SocialInsuranceRecord.self, text)
        record.pensionConfirmed = try await pensionMark(idNumber: idNumber)
        SocialInsuranceRules.markLost(&record, try await cardLoss(idNumber: idNumber))
        return record
    }

    public func load(_ seed: RegistrySeed) async throws {
        var rows: [(String, String, String)] = []
        for record in seed.enterprises {
            rows.append((record.enterprise.uscc, record.enterprise.name, try SQLiteRegistryStore.encode(record)))
        }
        var persons: [(String, String)] = []
        for person in seed.persons { persons.append((person.idNumber.uppercased(), try SQLiteRegistryStore.encode(person))) }
        let logger = self.logger
        try await client.withTransaction(logger: logger) { connection in
            for (uscc, name, record) in rows {
                try await connection.query("""
                    INSERT INTO enterprise (uscc, name, record) VALUES (\(uscc), \(name), \(record))
                    ON CONFLICT (uscc) DO UPDATE SET name = EXCLUDED.name, record = EXCLUDED.record
                    """, logger: logger)
            }
            // The last name given for a code stands, as in the table.
            let names = Dictionary(rows.map { ($0.0, $0.1) }, uniquingKeysWith: { _, last in last })
            try await Self.indexNames(names.map { (uscc: $0.key, name: $0.value) }, connection, logger)

            for (id, record) in persons {
                try await connection.query("""
                    INSERT INTO person (id_number, record) VALUES (\(id), \(record))
                    ON CONFLICT (id_number) DO UPDATE SET record = EXCLUDED.record
                    """, logger: logger)
            }
        }
        // The planner's figures and the visibility map for the new rows now, not at autovacuum's
        // next round: without them a search reads far more of the name index than it needs.
        try await client.query("VACUUM (ANALYZE) enterprise_gram", logger: logger)
    }

    public func kioskKey(id: String) async throws -> Data? {
        try await strings("SELECT public_key FROM kiosk WHERE id = \(id)").first.flatMap { Data(base64Encoded: $0) }
    }

    public func principal(id: String) async throws -> Principal? {
        for try await (key, role, site) in try await client.query("SELECT public_key, role, site FROM kiosk WHERE id = \(id)", logger: logger)
            .decode((String, String, String?).self) {
            guard let raw = Data(base64Encoded: key) else { return nil }
            return Principal(publicKey: raw, role: PrincipalRole(rawValue: role) ?? .kiosk, site: site)
        }
        return nil
    }

    public func addPrincipals(_ entries: [NewPrincipal]) async throws {
        if let problem = entries.lazy.compactMap(\.problem).first { throw problem }
        let now = Date().timeIntervalSince1970, logger = self.logger
        try await client.withTransaction(logger: logger) { connection in
            for entry in entries {
                let (id, key, note, role, site) = (entry.id, entry.publicKey.base64EncodedString(), entry.note, entry.role.rawValue, entry.site)
                try await connection.query("""
                    INSERT INTO kiosk (id, public_key, added_at, note, role, site) VALUES (\(id), \(key), \(now), \(note), \(role), \(site))
                    ON CONFLICT (id) DO UPDATE SET public_key = EXCLUDED.public_key, note = EXCLUDED.note, role = EXCLUDED.role, site = EXCLUDED.site
                    """, logger: logger)
            }
        }
    }

    public func removeKiosk(id: String) async throws -> Bool {
        // A kiosk registered again under the ID starts unheard.
        try await !strings("""
            WITH status AS (DELETE FROM kiosk_status WHERE kiosk_id = \(id))
            DELETE FROM kiosk WHERE id = \(id) RETURNING id
            """).isEmpty
    }

    public func kiosks() async throws -> [KioskEntry] {
        var out: [KioskEntry] = []
        let rows = try await client.query("""
            SELECT id, public_key, added_at, note, last_heartbeat_at, role, site, kiosk_status.body
            FROM kiosk LEFT JOIN kiosk_status ON kiosk_status.kiosk_id = kiosk.id ORDER BY id
            """, logger: logger)
        for try await (id, key, added, note, seen, role, site, heartbeat) in rows.decode((String, String, Double, String, Double?, String, String?, String?).self) {
            out.append(KioskEntry(id: id, publicKey: key, addedAt: Date(timeIntervalSince1970: added), note: note,
                                  lastHeartbeatAt: seen.map { Date(timeIntervalSince1970: $0) }, role: PrincipalRole(rawValue: role) ?? .kiosk,
                                  site: site, lastHeartbeat: Heartbeats.decode(heartbeat)))
        }
        return out
    }

    public func submit(kioskId: String, _ items: [StoredSubmission], now: Date) async throws -> [Result<SubmissionReceipt, Problem>?] {
        // Whole seconds, as the wire carries them: a replayed receipt equals the first.
        let now = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        let day = HallNames.day(of: now)
        let logger = self.logger
        let at = now.timeIntervalSince1970
        // A fleet's commonest request, a single heartbeat, is one statement on the pool: no
        // transaction, no kiosk lock.
        if items.count == 1, let item = items.first, item.invalid == nil, let heartbeat = item.heartbeat {
            let client = self.client
            return [try await Self.beat(item, heartbeat, kioskId: kioskId, now: now, day: day) { try await client.query($0, logger: logger) }]
        }
        return try await client.withTransaction(logger: logger) { connection in
            func strings(_ query: PostgresQuery) async throws -> [String] {
                var out: [String] = []
                for try await value in try await connection.query(query, logger: logger).decode(String.self) { out.append(value) }
                return out
            }
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(kioskId)))", logger: logger)
            // Every key of the batch looked up at once, under the kiosk's lock (only this kiosk's
            // submissions write its keys); keys this batch keeps are added as it goes.
            var kept: [String: (kind: String, bodyHash: String, receipt: String)] = [:]
            let keys = Array(Set(items.map(\.idempotencyKey)))
            for try await (key, kind, hash, receipt) in try await connection.query(
                "SELECT key, kind, body_hash, receipt FROM idempotency WHERE kiosk_id = \(kioskId) AND key = ANY(\(keys))",
                logger: logger).decode((String, String, String, String).self) {
                kept[key] = (kind, hash, receipt)
            }
            // Every natural key of the batch looked up at once too, one query per kind and column
            // (each hits the kind's own index); the batch's own inserts are added as it goes, so
            // that a second item with the same natural key finds the first, as a query would.
            var onRecord: [String: (number: String, body: String, received: Double)] = [:]
            func naturalKey(_ kind: String, _ column: String, _ value: String) -> String { "\(kind)\u{1F}\(column)\u{1F}\(value)" }
            let wanted = Dictionary(grouping: items.filter { kept[$0.idempotencyKey] == nil && $0.invalid == nil }.compactMap { item in
                item.naturalKey.map { (kind: item.kind.rawValue, column: $0.column, value: $0.value) }
            }, by: { "\($0.kind)\u{1F}\($0.column)" })
            for group in wanted.values {
                guard let first = group.first else { continue }
                let (kind, values) = (first.kind, Array(Set(group.map(\.value))))
                let query: PostgresQuery = first.column == "visit_id"
                    ? "SELECT visit_id, registry_number, body, received_at FROM submission WHERE kind = \(kind) AND kiosk_id = \(kioskId) AND visit_id = ANY(\(values))"
                    : "SELECT tracking_number, registry_number, body, received_at FROM submission WHERE kind = \(kind) AND kiosk_id = \(kioskId) AND tracking_number = ANY(\(values))"
                for try await (value, number, body, received) in try await connection.query(query, logger: logger).decode((String, String, String, Double).self) {
                    onRecord[naturalKey(kind, first.column, value)] = (number, body, received)
                }
            }
            // The keys kept, written once for the batch at its end.
            var keptRows: (keys: [String], kinds: [String], hashes: [String], receipts: [String]) = ([], [], [], [])
            var results: [Result<SubmissionReceipt, Problem>?] = []
            var stopped = false
            for item in items {
                if stopped { results.append(nil); continue }
                let key = item.idempotencyKey, kind = item.kind.rawValue
                if let seen = kept[key] {
                    if seen.bodyHash == item.bodyHash && seen.kind == kind {
                        results.append(.success(try SQLiteRegistryStore.decode(SubmissionReceipt.self, seen.receipt)))
                    } else {
                        results.append(.failure(StoredSubmission.keyReused(key)))
                        stopped = true
                    }
                    continue
                }
                if let problem = item.invalid { results.append(.failure(problem)); continue }
                // A late resend whose key was forgotten: found again by what makes it unique.
                if let natural = item.naturalKey, let found = onRecord[naturalKey(kind, natural.column, natural.value)] {
                    results.append(StoredSubmission.resent(item, kioskId: kioskId, registryNumber: found.number, body: found.body,
                                                           receivedAt: found.received))
                    continue
                }
                if let ticket = item.ticket, let problem = try await Self.apply(ticket, kioskId: kioskId, connection, logger) {
                    results.append(.failure(problem))
                    continue
                }
                if let heartbeat = item.heartbeat {
                    let result = try await Self.beat(item, heartbeat, kioskId: kioskId, now: now, day: day) {
                        try await connection.query($0, logger: logger)
                    }
                    if case .failure = result { stopped = true }
                    results.append(result)
                    continue
                }
                // The number comes from the row's id (at least eight digits), in the insert itself.
                let prefix = "\(SQLiteRegistryStore.prefix(item.kind))-\(day)-"
                let body = String(decoding: item.body, as: UTF8.self)
                var inserted: String?
                for try await value in try await connection.query("""
                    INSERT INTO submission (id, kind, registry_number, kiosk_id, idempotency_key, tracking_number, visit_id, body, received_at)
                    SELECT n, \(kind), \(prefix) || \(unescaped: Self.numberFromSequence),
                           \(kioskId), \(key), \(item.trackingNumber), \(item.visitId), \(body), \(at)
                    FROM (SELECT nextval('submission_id_seq') AS n) AS next
                    RETURNING registry_number
                    """, logger: logger).decode(String.self) { inserted = value }
                guard let number = inserted else { throw StoreError.database("the insert of a submission returned no registry number") }
                let receipt = SubmissionReceipt(kind: item.kind, registryNumber: number, receivedAt: now)
                if let application = item.application {
                    try await Self.indexApplication(application, registryNumber: number, at: at, connection, logger)
                }
                try await Self.recordDelivery(item, kioskId: kioskId, registryNumber: number, at: at, connection, logger)
                try await Self.recordPension(item, kioskId: kioskId, registryNumber: number, connection, logger)
                try await Self.recordCardLoss(item, registryNumber: number, now: now, connection, logger)
                try await Self.indexParties(item, registryNumber: number, now: now, connection, logger)
                try await Self.recordConfirmation(item, kioskId: kioskId, registryNumber: number, now: now, connection, logger)
                let receiptText = try SQLiteRegistryStore.encode(receipt)
                kept[key] = (kind, item.bodyHash, receiptText)
                keptRows.keys.append(key)
                keptRows.kinds.append(kind)
                keptRows.hashes.append(item.bodyHash)
                keptRows.receipts.append(receiptText)
                if let natural = item.naturalKey { onRecord[naturalKey(kind, natural.column, natural.value)] = (number, body, at) }
                if let verification = item.verification, let recordKey = VerificationRecord.recordKey(code: verification.code) {
                    let record = try SQLiteRegistryStore.encode(verification)
                    try await connection.query("""
                        INSERT INTO verification (record_key, record, kiosk_id, recorded_at) VALUES (\(recordKey), \(record), \(kioskId), \(at))
                        ON CONFLICT (record_key) DO NOTHING
                        """, logger: logger)
                }
                results.append(.success(receipt))
            }
            if !keptRows.keys.isEmpty {
                // The keys kept: one round trip for the batch.
                try await connection.query("""
                    INSERT INTO idempotency (kiosk_id, key, kind, body_hash, receipt, created_at)
                    SELECT \(kioskId), key, kind, hash, receipt, \(at)
                    FROM unnest(\(keptRows.keys)::text[], \(keptRows.kinds)::text[], \(keptRows.hashes)::text[],
                                \(keptRows.receipts)::text[]) AS kept(key, kind, hash, receipt)
                    """, logger: logger)
            }
            return results
        }
    }

    public func verification(recordKey: String) async throws -> VerificationAnswer? {
        var found: (String, String, Double)?
        for try await row in try await client.query("SELECT record, kiosk_id, recorded_at FROM verification WHERE record_key = \(recordKey)",
                                                    logger: logger).decode((String, String, Double).self) {
            found = row
        }
        guard let (record, kiosk, at) = found else { return nil }
        return VerificationAnswer(record: try SQLiteRegistryStore.decode(VerificationRecord.self, record), kioskId: kiosk,
                                  recordedAt: Date(timeIntervalSince1970: at))
    }

    public func registerDocumentKey(kioskId: String, publicKey: Data, at: Date, limit: Int) async throws -> DocumentKeyOutcome {
        let text = publicKey.base64EncodedString(), keyId = RegisteredDocumentKey.keyId(of: publicKey), when = at.timeIntervalSince1970
        let logger = self.logger
        return try await client.withTransaction(logger: logger) { connection in
            // One registration per kiosk at a time, so that the count holds.
            try await connection.query("SELECT pg_advisory_xact_lock(7463, hashtext(\(kioskId)))", logger: logger)
            for try await owner in try await connection.query("SELECT kiosk_id FROM document_key WHERE public_key = \(text)",
                                                              logger: logger).decode(String.self) {
                return owner == kioskId ? .alreadyRegistered : .takenBy(owner)
            }
            var held = 0
            for try await count in try await connection.query("SELECT COUNT(*) FROM document_key WHERE kiosk_id = \(kioskId)",
                                                              logger: logger).decode(Int.self) { held = count }
            guard held < limit else { return .tooMany(held) }
            var inserted = false
            for try await _ in try await connection.query("""
                INSERT INTO document_key (public_key, key_id, kiosk_id, registered_at) VALUES (\(text), \(keyId), \(kioskId), \(when))
                ON CONFLICT (public_key) DO NOTHING RETURNING kiosk_id
                """, logger: logger).decode(String.self) { inserted = true }
            if inserted { return .registered }
            for try await owner in try await connection.query("SELECT kiosk_id FROM document_key WHERE public_key = \(text)",
                                                              logger: logger).decode(String.self) {
                return owner == kioskId ? .alreadyRegistered : .takenBy(owner)
            }
            return .registered
        }
    }

    public func documentKeys(keyId: String) async throws -> [RegisteredDocumentKey] {
        var keys: [RegisteredDocumentKey] = []
        for try await (key, kiosk, at) in try await client.query(
            "SELECT public_key, kiosk_id, registered_at FROM document_key WHERE key_id = \(keyId) ORDER BY registered_at",
            logger: logger).decode((String, String, Double).self) {
            keys.append(RegisteredDocumentKey(keyId: keyId, publicKey: key, kioskId: kiosk, registeredAt: Date(timeIntervalSince1970: at)))
        }
        return keys
    }

    public func forgetIdempotencyKeys(before: Date) async throws -> Int {
        let cutoff = before.timeIntervalSince1970
        return try await strings("DELETE FROM idempotency WHERE created_at < \(cutoff) RETURNING key").count
    }
}
