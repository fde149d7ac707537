import Crypto
import Foundation
import GRDB
import KioskCore
import Registry

/// Applications' progress: a status history per application, moved on by the back office, read
/// by kiosks by tracking number or by the applicant's ID number. Both stores keep it.
public protocol ProgressStore: Sendable {
    /// The application with this tracking number or registry number, if any.
    func progress(number: String) async throws -> ApplicationProgress?
    /// The application itself (as the kiosk sent it) with this tracking or registry number.
    func application(number: String) async throws -> ApplicationSubmission?
    /// The applications of the person with `idNumber`, newest first (at most 20).
    func progress(idNumber: String) async throws -> [ApplicationProgress]
    /// Moves the application `number` (tracking or registry number) on. With an idempotency `key`,
    /// the same change again answers the progress without a second step; another change under the
    /// key is a 409 problem.
    func setStatus(number: String, _ change: StatusChange, by: String, key: String?, now: Date) async throws -> Result<ApplicationProgress, Problem>
}

/// The rules both stores apply.
enum ProgressRules {
    static func notFound(_ number: String) -> Problem {
        Problem(statusCode: 404, code: "application.not-found", title: "No such application",
                detail: "no application has the number \(number.prefix(80)); check the number on the receipt")
    }

    static func final(_ progress: ApplicationProgress) -> Problem {
        Problem(statusCode: 409, code: "application.final", title: "Application closed",
                detail: "application \(progress.registryNumber) is \(progress.status.rawValue); it can no longer change")
    }

    static func keyReused(_ key: String) -> Problem {
        Problem(statusCode: 409, code: "idempotency.key-reused", title: "Idempotency key reused",
                detail: "key \(key.prefix(128)) was used before with a different change; use a new key for a new change")
    }

    static func hash(_ change: StatusChange, number: String) -> String {
        let text = number + "\n" + change.status.rawValue + "\n" + (change.note ?? "")
        return SHA256.hash(data: Data(text.utf8)).hexString
    }

    static func progress(registryNumber: String, tracking: String, body: String, receivedAt: Double,
                         steps: [StatusEntry]) throws -> ApplicationProgress {
        let application = try SQLiteRegistryStore.decode(ApplicationSubmission.self, body)
        let received = StatusEntry(status: .received, note: nil, at: Date(timeIntervalSince1970: receivedAt))
        let history = [received] + steps
        return ApplicationProgress(trackingNumber: tracking, registryNumber: registryNumber, proposedName: application.proposedName,
                                   submittedAt: application.submittedAt, status: history.last?.status ?? .received, history: history)
    }
}

extension SQLiteRegistryStore: ProgressStore {
    static func registerProgressMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v7-progress") { db in
            try db.execute(sql: """
                CREATE TABLE application_status (id INTEGER PRIMARY KEY AUTOINCREMENT, registry_number TEXT NOT NULL, status TEXT NOT NULL,
                    note TEXT, at REAL NOT NULL, by TEXT NOT NULL);
                CREATE INDEX application_status_number ON application_status(registry_number, id);
                CREATE TABLE application_person (registry_number TEXT PRIMARY KEY, id_number TEXT NOT NULL, submitted_at REAL NOT NULL);
                CREATE INDEX application_person_id ON application_person(id_number, submitted_at);
                CREATE TABLE status_key (principal_id TEXT NOT NULL, key TEXT NOT NULL, body_hash TEXT NOT NULL, registry_number TEXT NOT NULL,
                    created_at REAL NOT NULL, PRIMARY KEY (principal_id, key));
                INSERT INTO application_person (registry_number, id_number, submitted_at)
                    SELECT registry_number, upper(json_extract(body, '$.applicant.idNumber')), received_at FROM submission
                    WHERE kind = 'applications' AND json_extract(body, '$.applicant.idNumber') IS NOT NULL;
                """)
        }
    }

    /// Indexes a new application by its applicant, inside the submission's transaction.
    public func application(number: String) async throws -> ApplicationSubmission? {
        let body = try await queue.read { db in
            try String.fetchOne(db, sql: """
                SELECT body FROM submission WHERE kind = 'applications' AND (registry_number = ? OR tracking_number = ?) LIMIT 1
                """, arguments: [number, number])
        }
        return try body.map { try RegistryJSON.decoder().decode(ApplicationSubmission.self, from: Data($0.utf8)) }
    }

    static func indexApplication(_ application: ApplicationSubmission, registryNumber: String, at: Double, _ db: Database) throws {
        try db.execute(sql: "INSERT OR IGNORE INTO application_person (registry_number, id_number, submitted_at) VALUES (?, ?, ?)",
                       arguments: [registryNumber, application.applicant.idNumber.uppercased(), at])
    }

    static func progress(_ db: Database, number: String) throws -> ApplicationProgress? {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT registry_number, tracking_number, body, received_at FROM submission
            WHERE kind = 'applications' AND (registry_number = ? OR tracking_number = ?) LIMIT 1
            """, arguments: [number, number]) else { return nil }
        let registryNumber: String = row["registry_number"]
        let steps = try Row.fetchAll(db, sql: "SELECT status, note, at FROM application_status WHERE registry_number = ? ORDER BY id",
                                     arguments: [registryNumber]).map {
            StatusEntry(status: ApplicationStatus(rawValue: $0["status"]) ?? .received, note: $0["note"], at: Date(timeIntervalSince1970: $0["at"]))
        }
        return try ProgressRules.progress(registryNumber: registryNumber, tracking: row["tracking_number"] ?? "", body: row["body"],
                                          receivedAt: row["received_at"], steps: steps)
    }

    public func progress(number: String) async throws -> ApplicationProgress? {
        try await queue.read { db in try Self.progress(db, number: number) }
    }

    public func progress(idNumber: String) async throws -> [ApplicationProgress] {
        try await queue.read { db in
            try String.fetchAll(db, sql: "SELECT registry_number FROM application_person WHERE id_number = ? ORDER BY submitted_at DESC LIMIT 20",
                                arguments: [idNumber.uppercased()]).compactMap { try Self.progress(db, number: $0) }
        }
    }

    public func setStatus(number: String, _ change: StatusChange, by: String, key: String?, now: Date) async throws -> Result<ApplicationProgress, Problem> {
        try await queue.write { db in
            guard let current = try Self.progress(db, number: number) else { return .failure(ProgressRules.notFound(number)) }
            let hash = ProgressRules.hash(change, number: current.registryNumber)
            if let key, let seen = try Row.fetchOne(db, sql: "SELECT body_hash FROM status_key WHERE principal_id = ? AND key = ?", arguments: [by, key]) {
                return (seen["body_hash"] as String) == hash ? .success(current) : .failure(ProgressRules.keyReused(key))
            }
            if current.status == .approved || current.status == .refused { return .failure(ProgressRules.final(current)) }
            let note = change.note?.trimmingCharacters(in: .whitespacesAndNewlines)
            try db.execute(sql: "INSERT INTO application_status (registry_number, status, note, at, by) VALUES (?, ?, ?, ?, ?)",
                           arguments: [current.registryNumber, change.status.rawValue, note?.isEmpty == false ? note : nil, now.timeIntervalSince1970, by])
            if let key {
                try db.execute(sql: "INSERT INTO status_key (principal_id, key, body_hash, registry_number, created_at) VALUES (?, ?, ?, ?, ?)",
                               arguments: [by, key, hash, current.registryNumber, now.timeIntervalSince1970])
            }
            guard let moved = try Self.progress(db, number: current.registryNumber) else { return .failure(ProgressRules.notFound(number)) }
            return .success(moved)
        }
    }
}
