import Crypto
import Foundation
import GRDB
import KioskCore
import Registry

/// Why the store failed.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    /// The database could not be opened, migrated or written; says which and why.
    case database(String)
    /// A kiosk could not be registered or found.
    case kiosk(String)

    public var description: String {
        switch self {
        case .database(let why): return "database: \(why)"
        case .kiosk(let why): return "kiosk: \(why)"
        }
    }
}

/// A registered kiosk.
public struct KioskEntry: Sendable, Codable, Equatable {
    public var id: String
    /// Base64 of the raw Ed25519 public key.
    public var publicKey: String
    public var addedAt: Date
    public var note: String
    /// When its last heartbeat arrived.
    public var lastHeartbeatAt: Date?
    /// What the key may do (`kiosk` unless registered otherwise).
    public var role: PrincipalRole = .kiosk
    /// The site (hall) it stands in.
    public var site: String?
    /// The newest heartbeat it sent (its devices, outbox depth and configuration), if any.
    public var lastHeartbeat: Heartbeat? = nil
}

/// One submission as the store receives it: already checked, with its body's hash.
public struct StoredSubmission: Sendable {
    public var kind: SubmissionKind
    public var idempotencyKey: String
    /// Hex SHA-256 of the body as received.
    public var bodyHash: String
    /// The body, canonical JSON.
    public var body: Data
    /// Set when the body is invalid: answered unless the key was seen before.
    public var invalid: Problem?
    /// For ratings: the visit (one rating per kiosk and visit).
    public var visitId: String?
    /// For applications: the kiosk's tracking number.
    public var trackingNumber: String?
    /// For print records of a document with a code: what the document says, kept per code.
    public var verification: VerificationRecord?
    /// For ticket reports: the ticket, applied to the hall's queue in the same transaction.
    public var ticket: TicketReport?
    /// For applications: the application, indexed by its applicant for progress queries.
    public var application: ApplicationSubmission?
    /// For delivery requests: the request, kept for the hall staff.
    public var delivery: DeliveryRequest?
    /// For pension confirmations: the confirmation, marked on the retiree's record.
    public var pension: PensionConfirmation?
    /// For card loss reports: the report, marked on the card.
    public var cardLoss: CardLossReport?
    /// For party confirmations: the confirmation, kept by its application's tracking number.
    public var partyConfirmation: PartyConfirmation?
    /// For heartbeats: the heartbeat, kept as its kiosk's newest state.
    public var heartbeat: Heartbeat?
    /// For applications: how long the parties have to confirm, from arrival.
    public var confirmationWindow: TimeInterval = Openings.defaultWindow

    public init(kind: SubmissionKind, idempotencyKey: String, body: Data, invalid: Problem?, visitId: String?, trackingNumber: String?,
                verification: VerificationRecord? = nil) {
        self.verification = verification
        self.kind = kind
        self.idempotencyKey = idempotencyKey
        self.body = body
        bodyHash = SHA256.hash(data: body).hexString
        self.invalid = invalid
        self.visitId = visitId
        self.trackingNumber = trackingNumber
    }

    /// What makes the submission unique apart from its idempotency key, whatever the key's age:
    /// an application's tracking number, a rating's visit (per kiosk). The column and its value.
    public var naturalKey: (column: String, value: String)? {
        switch kind {
        case .applications: return trackingNumber.map { ("tracking_number", $0) }
        case .ratings: return visitId.map { ("visit_id", $0) }
        case .tickets: return ticket.map { ("tracking_number", $0.ticketId) }
        case .deliveries: return delivery.map { ("tracking_number", $0.deliveryId) }
        case .pensionConfirmations: return pension.map { ("tracking_number", $0.confirmationId) }
        case .cardLosses: return cardLoss.map { ("tracking_number", $0.reportId) }
        case .partyConfirmations: return partyConfirmation.map { ("tracking_number", $0.confirmationId) }
        case .printRecords, .heartbeats: return nil
        }
    }

    /// The 409 problem of `key` sent again with another body or kind.
    static func keyReused(_ key: String) -> Problem {
        Problem(statusCode: 409, code: "idempotency.key-reused", title: "Idempotency key reused",
                detail: "key \(key.prefix(128)) was used before with a different request; use a new key for a new request")
    }

    /// The answer to `item` when a submission with its natural key is on record already: the
    /// original receipt when the bodies are the same (a late resend), else a refusal.
    static func resent(_ item: StoredSubmission, kioskId: String, registryNumber: String, body: String,
                       receivedAt: Double) -> Result<SubmissionReceipt, Problem> {
        if body == String(decoding: item.body, as: UTF8.self) {
            return .success(SubmissionReceipt(kind: item.kind, registryNumber: registryNumber, receivedAt: Date(timeIntervalSince1970: receivedAt)))
        }
        switch item.kind {
        case .ratings:
            return .failure(Problem(statusCode: 422, code: "rating.duplicate-visit", title: "Visit already rated",
                                    detail: "visit \((item.visitId ?? "").prefix(64)) of kiosk \(kioskId) has a rating already; one rating per visit"))
        default:
            return .failure(Problem(statusCode: 422, code: "submission.tracking-reused", title: "Tracking number reused",
                                    detail: "tracking number \((item.trackingNumber ?? "").prefix(64)) of kiosk \(kioskId) belongs to another application (\(registryNumber)); a new application needs a new tracking number"))
        }
    }
}

/// What registryd keeps, behind one protocol (SQLite here; PostgreSQL for a fleet).
public protocol RegistryStore: Sendable {
    /// Whether the database answers, for a store on a server that can go away; nil when it
    /// cannot (SQLite in the process).
    var availability: StoreAvailability? { get }
    /// The enterprise record as stored (its JSON text), for answers built once per stored version.
    func enterpriseRecordText(uscc: String) async throws -> String?
    func searchEnterprises(name: String, limit: Int) async throws -> [EnterpriseListing]
    func person(idNumber: String) async throws -> SocialInsuranceRecord?
    /// Loads a seed in one transaction: all of it or nothing.
    func load(_ seed: RegistrySeed) async throws
    /// The raw Ed25519 public key of kiosk `id`, if registered.
    func kioskKey(id: String) async throws -> Data?
    /// The key of `id`, what it may do and where it stands, if registered.
    func principal(id: String) async throws -> Principal?
    /// Registers (or re-keys) kiosks, counters or booking systems in one transaction: all of them or
    /// none; a kiosk or counter names its site.
    func addPrincipals(_ entries: [NewPrincipal]) async throws
    /// Removes a kiosk; false when it was not registered.
    func removeKiosk(id: String) async throws -> Bool
    /// Every registered kiosk, by ID.
    func kiosks() async throws -> [KioskEntry]
    /// Records submissions from `kioskId` in order, in one transaction, idempotently: a key seen
    /// before with the same body answers the first receipt again; with another body, a 409
    /// problem. Processing stops after a 409 (the rest answer nil).
    func submit(kioskId: String, _ items: [StoredSubmission], now: Date) async throws -> [Result<SubmissionReceipt, Problem>?]
    /// Forgets idempotency keys older than `before`; answers how many.
    func forgetIdempotencyKeys(before: Date) async throws -> Int
    /// The verification record of a code (by `VerificationRecord.recordKey(code:)`), if a kiosk sent one.
    func verification(recordKey: String) async throws -> VerificationAnswer?
    /// Registers a raw Ed25519 public key as one of `kioskId`'s document keys; a kiosk holds at
    /// most `limit`.
    func registerDocumentKey(kioskId: String, publicKey: Data, at: Date, limit: Int) async throws -> DocumentKeyOutcome
    /// The document keys registered under a key id (8 hex digits).
    func documentKeys(keyId: String) async throws -> [RegisteredDocumentKey]
}

extension RegistryStore {
    public var availability: StoreAvailability? { nil }

    /// The enterprise registered under `uscc`, decoded, if there is one.
    public func enterprise(uscc: String) async throws -> EnterpriseRecord? {
        try await enterpriseRecordText(uscc: uscc).map { try SQLiteRegistryStore.decode(EnterpriseRecord.self, $0) }
    }

    /// Registers (or re-keys) a kiosk, counter or booking system; a kiosk or counter names its site.
    public func addPrincipal(id: String, publicKey: Data, note: String, role: PrincipalRole, site: String?) async throws {
        try await addPrincipals([NewPrincipal(id: id, publicKey: publicKey, note: note, role: role, site: site)])
    }

    /// Registers (or re-keys) a kiosk without a site.
    public func addKiosk(id: String, publicKey: Data, note: String) async throws {
        try await addPrincipal(id: id, publicKey: publicKey, note: note, role: .kiosk, site: nil)
    }

    /// Why a principal cannot be registered, or nil.
    static func principalProblem(id: String, publicKey: Data, role: PrincipalRole, site: String?) -> StoreError? {
        guard KioskSignature.isValidKioskId(id) else { return .kiosk("'\(id.prefix(70))' is not a valid kiosk ID (1 to 64 of A-Z a-z 0-9 . _ -)") }
        guard (try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey)) != nil else {
            return .kiosk("the public key must be base64 of 32 raw Ed25519 bytes")
        }
        if let site, !HallNames.isSite(site) { return .kiosk("'\(site.prefix(70))' is not a site id (1 to 64 of A-Z a-z 0-9 . _ -)") }
        if role == .counter, site == nil { return .kiosk("a counter stands in a site: give --site") }
        return nil
    }
}

/// A key to register, with what it may do and where it stands.
public struct NewPrincipal: Sendable, Equatable {
    public var id: String
    /// The raw 32-byte Ed25519 public key.
    public var publicKey: Data
    public var note: String
    public var role: PrincipalRole
    public var site: String?

    public init(id: String, publicKey: Data, note: String = "", role: PrincipalRole = .kiosk, site: String? = nil) {
        (self.id, self.publicKey, self.note, self.role, self.site) = (id, publicKey, note, role, site)
    }

    /// Why it cannot be registered, or nil.
    var problem: StoreError? { SQLiteRegistryStore.principalProblem(id: id, publicKey: publicKey, role: role, site: site) }
}

/// What became of a document key registration.
public enum DocumentKeyOutcome: Sendable, Equatable {
    case registered
    /// Registered before, to the same kiosk.
    case alreadyRegistered
    /// Registered to another kiosk, named.
    case takenBy(String)
    /// The kiosk already holds the most keys allowed.
    case tooMany(Int)
}

/// The embedded default store: one SQLite file through GRDB (WAL).
public final class SQLiteRegistryStore: RegistryStore {
    let queue: DatabasePool

    /// Opens (creating if needed) the database at `path`.
    public init(path: String) throws {
        do {
            var config = Configuration()
            config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            config.busyMode = .timeout(10)
            queue = try DatabasePool(path: path, configuration: config)
            var migrator = DatabaseMigrator()
            migrator.registerMigration("v1") { db in
                try db.execute(sql: """
                    CREATE TABLE enterprise (uscc TEXT PRIMARY KEY, name TEXT NOT NULL, record TEXT NOT NULL);
                    CREATE INDEX enterprise_name ON enterprise(name);
                    CREATE TABLE person (id_number TEXT PRIMARY KEY, record TEXT NOT NULL);
                    """)
            }
            migrator.registerMigration("v2-submissions") { db in
                try db.execute(sql: """
                    CREATE TABLE kiosk (id TEXT PRIMARY KEY, public_key BLOB NOT NULL, added_at REAL NOT NULL, note TEXT NOT NULL,
                                        last_heartbeat_at REAL);
                    CREATE TABLE idempotency (kiosk_id TEXT NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL, body_hash TEXT NOT NULL,
                                              receipt TEXT NOT NULL, created_at REAL NOT NULL, PRIMARY KEY (kiosk_id, key));
                    CREATE INDEX idempotency_created ON idempotency(created_at);
                    CREATE TABLE submission (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, registry_number TEXT NOT NULL UNIQUE,
                                             kiosk_id TEXT NOT NULL, idempotency_key TEXT NOT NULL, tracking_number TEXT, visit_id TEXT,
                                             body TEXT NOT NULL, received_at REAL NOT NULL);
                    CREATE INDEX submission_kind ON submission(kind, id);
                    CREATE UNIQUE INDEX submission_rating_visit ON submission(kiosk_id, visit_id) WHERE kind = 'ratings';
                    """)
            }
            migrator.registerMigration("v4-verification") { db in
                try db.execute(sql: """
                    CREATE TABLE verification (record_key TEXT PRIMARY KEY, record TEXT NOT NULL, kiosk_id TEXT NOT NULL, recorded_at REAL NOT NULL);
                    """)
            }
            migrator.registerMigration("v3-application-tracking") { db in
                try db.execute(sql: """
                    CREATE UNIQUE INDEX submission_application_tracking ON submission(kiosk_id, tracking_number) WHERE kind = 'applications';
                    """)
            }
            migrator.registerMigration("v5-document-keys") { db in
                try db.execute(sql: """
                    CREATE TABLE document_key (public_key TEXT PRIMARY KEY, key_id TEXT NOT NULL, kiosk_id TEXT NOT NULL, registered_at REAL NOT NULL);
                    CREATE INDEX document_key_id ON document_key(key_id);
                    CREATE INDEX document_key_kiosk ON document_key(kiosk_id);
                    """)
            }
            Self.registerHallMigration(&migrator)
            Self.registerProgressMigration(&migrator)
            Self.registerDeliveryMigration(&migrator)
            Self.registerPensionMigration(&migrator)
            Self.registerCardLossMigration(&migrator)
            Self.registerOpeningMigration(&migrator)
            Self.registerHeartbeatMigration(&migrator)
            Self.registerNameIndexMigration(&migrator)
            try migrator.migrate(queue)
            try migrateConfig()
        } catch {
            throw StoreError.database("\(path): \(error)")
        }
    }

    static func encode<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try RegistryJSON.encoder().encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try RegistryJSON.decoder().decode(type, from: Data(text.utf8))
    }

    /// One statement is its own transaction: the read needs no BEGIN and COMMIT around it.
    public func enterpriseRecordText(uscc: String) async throws -> String? {
        try await queue.unsafeRead { db in
            try String.fetchOne(try db.cachedStatement(sql: "SELECT record FROM enterprise WHERE uscc = ?"), arguments: [uscc])
        }
    }

    public func searchEnterprises(name: String, limit: Int) async throws -> [EnterpriseListing] {
        let literal = EnterpriseNameIndex.literal(name)
        let rows = try await queue.read { db in try Self.search(literal: literal, limit: limit, db) }
        return try rows.map { EnterpriseListing(try SQLiteRegistryStore.decode(EnterpriseRecord.self, $0)) }
    }

    public func person(idNumber: String) async throws -> SocialInsuranceRecord? {
        let (text, mark, lost) = try await queue.read { db in
            (try String.fetchOne(db, sql: "SELECT record FROM person WHERE id_number = ?", arguments: [idNumber]),
             try Self.pensionMark(idNumber: idNumber, db), try Self.cardLoss(idNumber: idNumber, db))
        }
        return try text.map {
            var record = try SQLiteRegistryStore.decode(SocialInsuranceRecord.self, $0)
            record.pensionConfirmed = mark
            SocialInsuranceRules.markLost(&record, lost)
            return record
        }
    }

    public func load(_ seed: RegistrySeed) async throws {
        try await queue.write { db in
            for record in seed.enterprises {
                try db.execute(sql: "INSERT OR REPLACE INTO enterprise (uscc, name, record) VALUES (?, ?, ?)",
                               arguments: [record.enterprise.uscc, record.enterprise.name, try SQLiteRegistryStore.encode(record)])
                try Self.indexName(uscc: record.enterprise.uscc, name: record.enterprise.name, db)
            }
            for person in seed.persons {
                try db.execute(sql: "INSERT OR REPLACE INTO person (id_number, record) VALUES (?, ?)",
                               arguments: [person.idNumber.uppercased(), try SQLiteRegistryStore.encode(person)])
            }
        }
    }

    public func kioskKey(id: String) async throws -> Data? {
        try await queue.read { db in try Data.fetchOne(db, sql: "SELECT public_key FROM kiosk WHERE id = ?", arguments: [id]) }
    }

    /// Read on every signed request: one statement, its own transaction, prepared once per connection.
    public func principal(id: String) async throws -> Principal? {
        try await queue.unsafeRead { db in
            try Row.fetchOne(try db.cachedStatement(sql: "SELECT public_key, role, site FROM kiosk WHERE id = ?"), arguments: [id]).map {
                Principal(publicKey: $0["public_key"], role: PrincipalRole(rawValue: $0["role"]) ?? .kiosk, site: $0["site"])
            }
        }
    }

    public func addPrincipals(_ entries: [NewPrincipal]) async throws {
        if let problem = entries.lazy.compactMap(\.problem).first { throw problem }
        let now = Date().timeIntervalSince1970
        try await queue.write { db in
            let statement = try db.cachedStatement(sql: """
                INSERT INTO kiosk (id, public_key, added_at, note, role, site) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET public_key = excluded.public_key, note = excluded.note, role = excluded.role, site = excluded.site
                """)
            for entry in entries {
                try statement.execute(arguments: [entry.id, entry.publicKey, now, entry.note, entry.role.rawValue, entry.site])
            }
        }
    }

    public func removeKiosk(id: String) async throws -> Bool {
        try await queue.write { db in
            try db.execute(sql: "DELETE FROM kiosk WHERE id = ?", arguments: [id])
            let removed = db.changesCount > 0
            // A kiosk registered again under the ID starts unheard.
            try db.execute(sql: "DELETE FROM kiosk_status WHERE kiosk_id = ?", arguments: [id])
            return removed
        }
    }

    public func kiosks() async throws -> [KioskEntry] {
        try await queue.read { db in
            try Row.fetchAll(db, sql: """
                SELECT kiosk.*, kiosk_status.body AS heartbeat FROM kiosk LEFT JOIN kiosk_status ON kiosk_status.kiosk_id = kiosk.id ORDER BY kiosk.id
                """).map { row in
                KioskEntry(id: row["id"], publicKey: (row["public_key"] as Data).base64EncodedString(),
                           addedAt: Date(timeIntervalSince1970: row["added_at"]), note: row["note"],
                           lastHeartbeatAt: (row["last_heartbeat_at"] as Double?).map { Date(timeIntervalSince1970: $0) },
                           role: PrincipalRole(rawValue: row["role"]) ?? .kiosk, site: row["site"],
                           lastHeartbeat: Heartbeats.decode(row["heartbeat"]))
            }
        }
    }

    static func prefix(_ kind: SubmissionKind) -> String {
        switch kind {
        case .applications: return "SQ"
        case .ratings: return "PJ"
        case .printRecords: return "DY"
        case .heartbeats: return "XT"
        case .tickets: return "QH"
        case .deliveries: return "YJ"
        case .pensionConfirmations: return "RZ"
        case .cardLosses: return "GS"
        case .partyConfirmations: return "QR"
        }
    }

    public func submit(kioskId: String, _ items: [StoredSubmission], now: Date) async throws -> [Result<SubmissionReceipt, Problem>?] {
        // Whole seconds, as the wire carries them: a replayed receipt equals the first.
        let now = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        let day = HallNames.day(of: now)
        return try await queue.write { db in
            var results: [Result<SubmissionReceipt, Problem>?] = []
            var stopped = false
            for item in items {
                if stopped { results.append(nil); continue }
                if let row = try Row.fetchOne(db, sql: "SELECT kind, body_hash, receipt FROM idempotency WHERE kiosk_id = ? AND key = ?",
                                              arguments: [kioskId, item.idempotencyKey]) {
                    if row["body_hash"] == item.bodyHash && row["kind"] == item.kind.rawValue {
                        results.append(.success(try SQLiteRegistryStore.decode(SubmissionReceipt.self, row["receipt"])))
                    } else {
                        results.append(.failure(StoredSubmission.keyReused(item.idempotencyKey)))
                        stopped = true
                    }
                    continue
                }
                if let problem = item.invalid { results.append(.failure(problem)); continue }
                // A late resend whose key was forgotten: found again by what makes it unique.
                if let natural = item.naturalKey,
                   let row = try Row.fetchOne(db, sql: "SELECT registry_number, body, received_at FROM submission WHERE kind = ? AND kiosk_id = ? AND \(natural.column) = ?",
                                              arguments: [item.kind.rawValue, kioskId, natural.value]) {
                    results.append(StoredSubmission.resent(item, kioskId: kioskId, registryNumber: row["registry_number"],
                                                           body: row["body"], receivedAt: row["received_at"]))
                    continue
                }
                if let ticket = item.ticket, let problem = try Self.apply(ticket, kioskId: kioskId, db) {
                    results.append(.failure(problem))
                    continue
                }
                if let heartbeat = item.heartbeat {
                    let result = try Self.beat(item, heartbeat, kioskId: kioskId, now: now, day: day, db)
                    if case .failure = result { stopped = true }
                    results.append(result)
                    continue
                }
                try db.execute(sql: """
                    INSERT INTO submission (kind, registry_number, kiosk_id, idempotency_key, tracking_number, visit_id, body, received_at)
                    VALUES (?, 'pending-' || ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [item.kind.rawValue, UUID().uuidString, kioskId, item.idempotencyKey, item.trackingNumber, item.visitId,
                                     String(decoding: item.body, as: UTF8.self), now.timeIntervalSince1970])
                let id = db.lastInsertedRowID
                let number = Self.registryNumber(item.kind, day: day, id)
                try db.execute(sql: "UPDATE submission SET registry_number = ? WHERE id = ?", arguments: [number, id])
                let receipt = SubmissionReceipt(kind: item.kind, registryNumber: number, receivedAt: now)
                if let application = item.application {
                    try Self.indexApplication(application, registryNumber: number, at: now.timeIntervalSince1970, db)
                }
                try Self.recordDelivery(item, kioskId: kioskId, registryNumber: number, at: now.timeIntervalSince1970, db)
                try Self.recordPension(item, kioskId: kioskId, registryNumber: number, db)
                try Self.recordCardLoss(item, registryNumber: number, now: now, db)
                try Self.indexParties(item, registryNumber: number, now: now, db)
                try Self.recordConfirmation(item, kioskId: kioskId, registryNumber: number, now: now, db)
                try db.execute(sql: "INSERT INTO idempotency (kiosk_id, key, kind, body_hash, receipt, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [kioskId, item.idempotencyKey, item.kind.rawValue, item.bodyHash,
                                           try SQLiteRegistryStore.encode(receipt), now.timeIntervalSince1970])
                if let verification = item.verification, let key = VerificationRecord.recordKey(code: verification.code) {
                    // The first record of a code stands: a later one cannot rewrite what was printed.
                    try db.execute(sql: "INSERT OR IGNORE INTO verification (record_key, record, kiosk_id, recorded_at) VALUES (?, ?, ?, ?)",
                                   arguments: [key, try SQLiteRegistryStore.encode(verification), kioskId, now.timeIntervalSince1970])
                }
                results.append(.success(receipt))
            }
            return results
        }
    }

    public func verification(recordKey: String) async throws -> VerificationAnswer? {
        let row = try await queue.read { db in
            try Row.fetchOne(db, sql: "SELECT record, kiosk_id, recorded_at FROM verification WHERE record_key = ?", arguments: [recordKey])
        }
        guard let row else { return nil }
        let text: String = row["record"]
        return VerificationAnswer(record: try SQLiteRegistryStore.decode(VerificationRecord.self, text), kioskId: row["kiosk_id"],
                                  recordedAt: Date(timeIntervalSince1970: row["recorded_at"]))
    }

    public func registerDocumentKey(kioskId: String, publicKey: Data, at: Date, limit: Int) async throws -> DocumentKeyOutcome {
        let text = publicKey.base64EncodedString()
        return try await queue.write { db in
            if let owner = try String.fetchOne(db, sql: "SELECT kiosk_id FROM document_key WHERE public_key = ?", arguments: [text]) {
                return owner == kioskId ? .alreadyRegistered : .takenBy(owner)
            }
            let held = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM document_key WHERE kiosk_id = ?", arguments: [kioskId]) ?? 0
            guard held < limit else { return .tooMany(held) }
            try db.execute(sql: "INSERT INTO document_key (public_key, key_id, kiosk_id, registered_at) VALUES (?, ?, ?, ?)",
                           arguments: [text, RegisteredDocumentKey.keyId(of: publicKey), kioskId, at.timeIntervalSince1970])
            return .registered
        }
    }

    public func documentKeys(keyId: String) async throws -> [RegisteredDocumentKey] {
        try await queue.read { db in
            try Row.fetchAll(db, sql: "SELECT public_key, kiosk_id, registered_at FROM document_key WHERE key_id = ? ORDER BY registered_at",
                             arguments: [keyId]).map {
                RegisteredDocumentKey(keyId: keyId, publicKey: $0["public_key"], kioskId: $0["kiosk_id"],
                                      registeredAt: Date(timeIntervalSince1970: $0["registered_at"]))
            }
        }
    }

    public func forgetIdempotencyKeys(before: Date) async throws -> Int {
        try await queue.write { db in
            try db.execute(sql: "DELETE FROM idempotency WHERE created_at < ?", arguments: [before.timeIntervalSince1970])
            return db.changesCount
        }
    }
}
