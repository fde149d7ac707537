import Foundation
import Logging
import PostgresNIO
import Registry

/// The parties' confirmations on PostgreSQL: the same tables and rules as on SQLite.
extension PostgresRegistryStore: OpeningStore {
    static let openingMigration: [PostgresQuery] = [
        """
        CREATE TABLE IF NOT EXISTS application_party (id_number TEXT NOT NULL, registry_number TEXT NOT NULL,
            submitted_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (id_number, registry_number))
        """,
        "CREATE TABLE IF NOT EXISTS application_window (registry_number TEXT PRIMARY KEY, confirm_by DOUBLE PRECISION NOT NULL)",
        """
        CREATE TABLE IF NOT EXISTS party_confirmation (tracking_number TEXT NOT NULL, id_number TEXT NOT NULL,
            confirmed_at DOUBLE PRECISION NOT NULL, kiosk_id TEXT NOT NULL, registry_number TEXT NOT NULL, face_matched BOOLEAN NOT NULL,
            PRIMARY KEY (tracking_number, id_number))
        """,
    ]

    static func indexParties(_ item: StoredSubmission, registryNumber: String, now: Date,
                             _ connection: PostgresConnection, _ logger: Logger) async throws {
        guard let application = item.application else { return }
        let confirmBy = now.timeIntervalSince1970 + item.confirmationWindow
        try await connection.query("""
            INSERT INTO application_window (registry_number, confirm_by) VALUES (\(registryNumber), \(confirmBy))
            ON CONFLICT (registry_number) DO NOTHING
            """, logger: logger)
        guard let parties = application.parties else { return }
        let at = now.timeIntervalSince1970
        for party in parties {
            let id = party.idNumber.uppercased()
            try await connection.query("""
                INSERT INTO application_party (id_number, registry_number, submitted_at) VALUES (\(id), \(registryNumber), \(at))
                ON CONFLICT (id_number, registry_number) DO NOTHING
                """, logger: logger)
        }
    }

    static func recordConfirmation(_ item: StoredSubmission, kioskId: String, registryNumber: String, now: Date,
                                   _ connection: PostgresConnection, _ logger: Logger) async throws {
        guard let confirmation = item.partyConfirmation else { return }
        let at = min(confirmation.confirmedAt, now).timeIntervalSince1970
        let (tracking, id, face) = (confirmation.trackingNumber, confirmation.applicant.idNumber.uppercased(), confirmation.faceMatched)
        try await connection.query("""
            INSERT INTO party_confirmation (tracking_number, id_number, confirmed_at, kiosk_id, registry_number, face_matched)
            VALUES (\(tracking), \(id), \(at), \(kioskId), \(registryNumber), \(face)) ON CONFLICT (tracking_number, id_number) DO NOTHING
            """, logger: logger)
    }

    public func confirmations(trackingNumber: String) async throws -> [String: Date] {
        var out: [String: Date] = [:]
        for try await (id, at) in try await client.query(
            "SELECT id_number, confirmed_at FROM party_confirmation WHERE tracking_number = \(trackingNumber)", logger: logger
        ).decode((String, Double).self) {
            out[id] = Date(timeIntervalSince1970: at)
        }
        return out
    }

    public func confirmBy(registryNumber: String) async throws -> Date? {
        for try await value in try await client.query(
            "SELECT confirm_by FROM application_window WHERE registry_number = \(registryNumber)", logger: logger
        ).decode(Double.self) {
            return Date(timeIntervalSince1970: value)
        }
        return nil
    }

    public func openings(idNumber: String) async throws -> [String] {
        let id = idNumber.uppercased()
        return try await strings("SELECT registry_number FROM application_party WHERE id_number = \(id) ORDER BY submitted_at DESC, registry_number DESC LIMIT 20")
    }
}
