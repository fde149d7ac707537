import Foundation
import KioskCore
import Logging
import PostgresNIO
import Registry

/// Pension confirmations on PostgreSQL: the same table and rules as on SQLite.
extension PostgresRegistryStore {
    static let pensionMigration: [PostgresQuery] = [
        """
        CREATE TABLE IF NOT EXISTS pension_confirmation (id_number TEXT NOT NULL, year INTEGER NOT NULL, confirmed_on TEXT NOT NULL,
            kiosk_id TEXT NOT NULL, registry_number TEXT NOT NULL, PRIMARY KEY (id_number, year))
        """,
    ]

    static func recordPension(_ item: StoredSubmission, kioskId: String, registryNumber: String,
                              _ connection: PostgresConnection, _ logger: Logger) async throws {
        guard let confirmation = item.pension, let mark = SocialInsuranceRules.mark(confirmation, now: Date()) else { return }
        let id = confirmation.applicant.idNumber.uppercased()
        guard try await personRecord(id, connection, logger)?.pension != nil else { return }
        let year = mark.year, day = mark.confirmedOn.description
        try await connection.query("""
            INSERT INTO pension_confirmation (id_number, year, confirmed_on, kiosk_id, registry_number)
            VALUES (\(id), \(year), \(day), \(kioskId), \(registryNumber)) ON CONFLICT (id_number, year) DO NOTHING
            """, logger: logger)
    }

    /// The stored record of the person with ID number `id` (upper case), inside a transaction.
    static func personRecord(_ id: String, _ connection: PostgresConnection, _ logger: Logger) async throws -> SocialInsuranceRecord? {
        var text: String?
        for try await value in try await connection.query("SELECT record FROM person WHERE id_number = \(id)", logger: logger).decode(String.self) {
            text = value
        }
        return try text.map { try SQLiteRegistryStore.decode(SocialInsuranceRecord.self, $0) }
    }

    func pensionMark(idNumber: String) async throws -> PensionConfirmationMark? {
        let id = idNumber.uppercased()
        for try await (year, day) in try await client.query(
            "SELECT year, confirmed_on FROM pension_confirmation WHERE id_number = \(id) ORDER BY year DESC LIMIT 1", logger: logger
        ).decode((Int, String).self) {
            return CalendarDate(day).map { PensionConfirmationMark(year: year, confirmedOn: $0) }
        }
        return nil
    }
}

/// Lost social security cards on PostgreSQL.
extension PostgresRegistryStore {
    static let cardLossMigration: [PostgresQuery] = [
        """
        CREATE TABLE IF NOT EXISTS card_loss (id_number TEXT NOT NULL, card_number TEXT NOT NULL, lost_on TEXT NOT NULL,
            registry_number TEXT NOT NULL, PRIMARY KEY (id_number, card_number))
        """,
    ]

    static func recordCardLoss(_ item: StoredSubmission, registryNumber: String, now: Date,
                               _ connection: PostgresConnection, _ logger: Logger) async throws {
        guard let report = item.cardLoss else { return }
        let id = report.applicant.idNumber.uppercased()
        guard let record = try await personRecord(id, connection, logger), let card = SocialInsuranceRules.card(report, of: record) else { return }
        let day = CalendarDate.today(now: now).description
        try await connection.query("""
            INSERT INTO card_loss (id_number, card_number, lost_on, registry_number) VALUES (\(id), \(card), \(day), \(registryNumber))
            ON CONFLICT (id_number, card_number) DO NOTHING
            """, logger: logger)
    }

    func cardLoss(idNumber: String) async throws -> (cardNumber: String, on: CalendarDate)? {
        let id = idNumber.uppercased()
        for try await (card, day) in try await client.query(
            "SELECT card_number, lost_on FROM card_loss WHERE id_number = \(id) ORDER BY lost_on DESC LIMIT 1", logger: logger
        ).decode((String, String).self) {
            return CalendarDate(day).map { (card, $0) }
        }
        return nil
    }
}
