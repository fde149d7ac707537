import Foundation
import GRDB
import KioskCore
import Registry

/// Retirees' yearly entitlement confirmations (生存认证): one mark per person and year, the first
/// confirmation standing; a confirmation of someone who receives no pension marks nothing. Lost
/// social security cards (挂失): the first report of the person's current card stands.
enum SocialInsuranceRules {
    /// The mark a confirmation sets, if it is for its own year and not from the future.
    static func mark(_ confirmation: PensionConfirmation, now: Date) -> PensionConfirmationMark? {
        let day = CalendarDate.today(now: min(confirmation.confirmedAt, now))
        guard day.year == confirmation.year else { return nil }
        return PensionConfirmationMark(year: confirmation.year, confirmedOn: day)
    }

    /// Shows a loss on record on the person's card (when it is the card reported).
    static func markLost(_ record: inout SocialInsuranceRecord, _ lost: (cardNumber: String, on: CalendarDate)?) {
        guard let lost, record.securityCard?.number == lost.cardNumber else { return }
        record.securityCard?.lostOn = lost.on
    }

    /// The card `report` stops: the person's current card, when the report names it or no card.
    static func card(_ report: CardLossReport, of record: SocialInsuranceRecord) -> String? {
        guard let current = record.securityCard?.number, report.cardNumber == nil || report.cardNumber == current else { return nil }
        return current
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
        guard let confirmation = item.pension, let mark = SocialInsuranceRules.mark(confirmation, now: Date()) else { return }
        let id = confirmation.applicant.idNumber.uppercased()
        guard try personRecord(id, db)?.pension != nil else { return }
        try db.execute(sql: """
            INSERT OR IGNORE INTO pension_confirmation (id_number, year, confirmed_on, kiosk_id, registry_number) VALUES (?, ?, ?, ?, ?)
            """, arguments: [id, mark.year, mark.confirmedOn.description, kioskId, registryNumber])
    }

    /// The stored record of the person with ID number `id` (upper case), inside a transaction.
    static func personRecord(_ id: String, _ db: Database) throws -> SocialInsuranceRecord? {
        try String.fetchOne(db, sql: "SELECT record FROM person WHERE id_number = ?", arguments: [id]).map { try decode(SocialInsuranceRecord.self, $0) }
    }

    /// The person's latest confirmation.
    static func pensionMark(idNumber: String, _ db: Database) throws -> PensionConfirmationMark? {
        guard let row = try Row.fetchOne(db, sql: "SELECT year, confirmed_on FROM pension_confirmation WHERE id_number = ? ORDER BY year DESC LIMIT 1",
                                         arguments: [idNumber.uppercased()]),
              let day = CalendarDate(row["confirmed_on"] as String) else { return nil }
        return PensionConfirmationMark(year: row["year"], confirmedOn: day)
    }
}

extension SQLiteRegistryStore {
    static func registerCardLossMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v10-card-loss") { db in
            try db.execute(sql: """
                CREATE TABLE card_loss (id_number TEXT NOT NULL, card_number TEXT NOT NULL, lost_on TEXT NOT NULL,
                    registry_number TEXT NOT NULL, PRIMARY KEY (id_number, card_number));
                """)
        }
    }

    /// Marks the person's card lost inside the report's transaction, when it names their card.
    static func recordCardLoss(_ item: StoredSubmission, registryNumber: String, now: Date, _ db: Database) throws {
        guard let report = item.cardLoss else { return }
        let id = report.applicant.idNumber.uppercased()
        guard let record = try personRecord(id, db), let card = SocialInsuranceRules.card(report, of: record) else { return }
        try db.execute(sql: "INSERT OR IGNORE INTO card_loss (id_number, card_number, lost_on, registry_number) VALUES (?, ?, ?, ?)",
                       arguments: [id, card, CalendarDate.today(now: now).description, registryNumber])
    }

    /// The loss on record of the person's cards, the latest first.
    static func cardLoss(idNumber: String, _ db: Database) throws -> (cardNumber: String, on: CalendarDate)? {
        guard let row = try Row.fetchOne(db, sql: "SELECT card_number, lost_on FROM card_loss WHERE id_number = ? ORDER BY lost_on DESC LIMIT 1",
                                         arguments: [idNumber.uppercased()]),
              let day = CalendarDate(row["lost_on"] as String) else { return nil }
        return (row["card_number"], day)
    }
}
