import Foundation
import GRDB
import KioskCore
import Registry

/// Retirees' yearly entitlement confirmations (生存认证): one mark per person and year, the first
/// confirmation standing; a confirmation of someone who receives no pension marks nothing.
enum PensionRules {
    /// The mark a confirmation sets, if it is for its own year and not from the future.
    static func mark(_ confirmation: PensionConfirmation, now: Date) -> PensionConfirmationMark? {
        let day = CalendarDate.today(now: min(confirmation.confirmedAt, now))
        guard day.year == confirmation.year else { return nil }
        return PensionConfirmationMark(year: confirmation.year, confirmedOn: day)
    }
}

extension SQLiteRegistryStore {
    static func registerPensionMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v9-pension") { db in
            try db.execute(sql: """
                CREATE TABLE pension_confirmation (id_number TEXT NOT NULL, year INTEGER NOT NULL, confirmed_on TEXT NOT NULL,
                    kiosk_id TEXT NOT NULL, registry_number TEXT NOT NULL, PRIMARY KEY (id_number, year));
                """)
        }
    }

    /// Marks a new pension confirmation inside its submission's transaction.
    static func recordPension(_ item: StoredSubmission, kioskId: String, registryNumber: String, _ db: Database) throws {
        guard let confirmation = item.pension, let mark = PensionRules.mark(confirmation, now: Date()) else { return }
        let id = confirmation.applicant.idNumber.uppercased()
        guard let text = try String.fetchOne(db, sql: "SELECT record FROM person WHERE id_number = ?", arguments: [id]),
              try decode(SocialInsuranceRecord.self, text).pension != nil else { return }
        try db.execute(sql: """
            INSERT OR IGNORE INTO pension_confirmation (id_number, year, confirmed_on, kiosk_id, registry_number) VALUES (?, ?, ?, ?, ?)
            """, arguments: [id, mark.year, mark.confirmedOn.description, kioskId, registryNumber])
    }

    /// The person's latest confirmation.
    static func pensionMark(idNumber: String, _ db: Database) throws -> PensionConfirmationMark? {
        guard let row = try Row.fetchOne(db, sql: "SELECT year, confirmed_on FROM pension_confirmation WHERE id_number = ? ORDER BY year DESC LIMIT 1",
                                         arguments: [idNumber.uppercased()]),
              let day = CalendarDate(row["confirmed_on"] as String) else { return nil }
        return PensionConfirmationMark(year: row["year"], confirmedOn: day)
    }
}
