import Foundation
import KioskCore
import Logging
import PostgresNIO
import Registry

/// Applications' progress on PostgreSQL: the same tables and rules as on SQLite. One
/// application's status changes are serialised by a transaction-scoped advisory lock.
extension PostgresRegistryStore: ProgressStore {
    static let progressMigration: [PostgresQuery] = [
        """
        CREATE TABLE IF NOT EXISTS application_status (id BIGSERIAL PRIMARY KEY, registry_number TEXT NOT NULL, status TEXT NOT NULL,
            note TEXT, at DOUBLE PRECISION NOT NULL, by TEXT NOT NULL)
        """,
        "CREATE INDEX IF NOT EXISTS application_status_number ON application_status(registry_number, id)",
        """
        CREATE TABLE IF NOT EXISTS application_person (registry_number TEXT PRIMARY KEY, id_number TEXT NOT NULL,
            submitted_at DOUBLE PRECISION NOT NULL)
        """,
        "CREATE INDEX IF NOT EXISTS application_person_id ON application_person(id_number, submitted_at)",
        """
        CREATE TABLE IF NOT EXISTS status_key (principal_id TEXT NOT NULL, key TEXT NOT NULL, body_hash TEXT NOT NULL,
            registry_number TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (principal_id, key))
        """,
        """
        INSERT INTO application_person (registry_number, id_number, submitted_at)
            SELECT registry_number, upper(body::jsonb->'applicant'->>'idNumber'), received_at FROM submission
            WHERE kind = 'applications' AND body::jsonb->'applicant'->>'idNumber' IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM application_person)
        ON CONFLICT (registry_number) DO NOTHING
        """,
    ]

    static func indexApplication(_ application: ApplicationSubmission, registryNumber: String, at: Double,
                                 _ connection: PostgresConnection, _ logger: Logger) async throws {
        let person = application.applicant.idNumber.uppercased()
        try await connection.query("""
            INSERT INTO application_person (registry_number, id_number, submitted_at) VALUES (\(registryNumber), \(person), \(at))
            ON CONFLICT (registry_number) DO NOTHING
            """, logger: logger)
    }

    static func progress(_ connection: PostgresConnection, number: String, _ logger: Logger) async throws -> ApplicationProgress? {
        var found: (String, String?, String, Double)?
        for try await row in try await connection.query("""
            SELECT registry_number, tracking_number, body, received_at FROM submission
            WHERE kind = 'applications' AND (registry_number = \(number) OR tracking_number = \(number)) LIMIT 1
            """, logger: logger).decode((String, String?, String, Double).self) { found = row }
        guard let (registryNumber, tracking, body, received) = found else { return nil }
        var steps: [StatusEntry] = []
        for try await (status, note, at) in try await connection.query(
            "SELECT status, note, at FROM application_status WHERE registry_number = \(registryNumber) ORDER BY id", logger: logger)
            .decode((String, String?, Double).self) {
            steps.append(StatusEntry(status: ApplicationStatus(rawValue: status) ?? .received, note: note, at: Date(timeIntervalSince1970: at)))
        }
        return try ProgressRules.progress(registryNumber: registryNumber, tracking: tracking ?? "", body: body, receivedAt: received, steps: steps)
    }

    public func progress(number: String) async throws -> ApplicationProgress? {
        let logger = self.logger
        return try await client.withConnection { try await Self.progress($0, number: number, logger) }
    }

    public func application(number: String) async throws -> ApplicationSubmission? {
        let body = try await strings("""
            SELECT body FROM submission WHERE kind = 'applications' AND (registry_number = \(number) OR tracking_number = \(number)) LIMIT 1
            """).first
        return try body.map { try RegistryJSON.decoder().decode(ApplicationSubmission.self, from: Data($0.utf8)) }
    }

    public func progress(idNumber: String) async throws -> [ApplicationProgress] {
        let logger = self.logger, person = idNumber.uppercased()
        return try await client.withConnection { connection in
            var numbers: [String] = []
            for try await number in try await connection.query(
                "SELECT registry_number FROM application_person WHERE id_number = \(person) ORDER BY submitted_at DESC LIMIT 20", logger: logger)
                .decode(String.self) { numbers.append(number) }
            var out: [ApplicationProgress] = []
            for number in numbers { if let p = try await Self.progress(connection, number: number, logger) { out.append(p) } }
            return out
        }
    }

    public func setStatus(number: String, _ change: StatusChange, by: String, key: String?, now: Date) async throws -> Result<ApplicationProgress, Problem> {
        let logger = self.logger
        return try await client.withTransaction(logger: logger) { connection in
            guard let current = try await Self.progress(connection, number: number, logger) else { return .failure(ProgressRules.notFound(number)) }
            let registryNumber = current.registryNumber
            try await connection.query("SELECT pg_advisory_xact_lock(7467, hashtext(\(registryNumber)))", logger: logger)
            guard let locked = try await Self.progress(connection, number: registryNumber, logger) else { return .failure(ProgressRules.notFound(number)) }
            let hash = ProgressRules.hash(change, number: registryNumber)
            if let key {
                for try await seen in try await connection.query("SELECT body_hash FROM status_key WHERE principal_id = \(by) AND key = \(key)",
                                                                 logger: logger).decode(String.self) {
                    return seen == hash ? .success(locked) : .failure(ProgressRules.keyReused(key))
                }
            }
            if locked.status == .approved || locked.status == .refused { return .failure(ProgressRules.final(locked)) }
            let trimmed = change.note?.trimmingCharacters(in: .whitespacesAndNewlines)
            let note = trimmed?.isEmpty == false ? trimmed : nil
            let (status, at) = (change.status.rawValue, now.timeIntervalSince1970)
            try await connection.query("""
                INSERT INTO application_status (registry_number, status, note, at, by) VALUES (\(registryNumber), \(status), \(note), \(at), \(by))
                """, logger: logger)
            if let key {
                try await connection.query("""
                    INSERT INTO status_key (principal_id, key, body_hash, registry_number, created_at) VALUES (\(by), \(key), \(hash), \(registryNumber), \(at))
                    """, logger: logger)
            }
            guard let moved = try await Self.progress(connection, number: registryNumber, logger) else { return .failure(ProgressRules.notFound(number)) }
            return .success(moved)
        }
    }
}
