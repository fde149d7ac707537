import Foundation
import GRDB
import KioskCore
import Registry

/// A kiosk's heartbeats are kept as its newest state, one row per kiosk (`kiosk_status`): a fleet
/// sends one a minute per kiosk, and a row per heartbeat, with its idempotency key kept for days,
/// would grow without end for nothing anyone reads. A heartbeat still gets a registry number (from
/// the submissions' own sequence) and a receipt; a resend of the newest one under its key answers
/// the same receipt, and a key used before for something else is refused as for any submission.
/// An older heartbeat arriving late is answered but does not replace a newer state.
enum Heartbeats {
    /// The time a heartbeat's state is ordered by: when it was sent, never later than its arrival,
    /// so a kiosk whose clock runs ahead cannot pin a state that later heartbeats do not replace.
    static func orderedAt(_ heartbeat: Heartbeat, arrival: Date) -> Double {
        min(heartbeat.sentAt.timeIntervalSince1970, arrival.timeIntervalSince1970)
    }

    /// The answer to `item` when the kiosk's newest heartbeat was kept under its key: the receipt
    /// again for the same body, a 409 for another.
    static func resent(_ item: StoredSubmission, bodyHash: String, registryNumber: String, receivedAt: Double) -> Result<SubmissionReceipt, Problem> {
        guard bodyHash == item.bodyHash else { return .failure(StoredSubmission.keyReused(item.idempotencyKey)) }
        return .success(SubmissionReceipt(kind: .heartbeats, registryNumber: registryNumber, receivedAt: Date(timeIntervalSince1970: receivedAt)))
    }

    /// The newest heartbeat as kept (its JSON), decoded; nil when there is none.
    static func decode(_ body: String?) -> Heartbeat? {
        body.flatMap { try? SQLiteRegistryStore.decode(Heartbeat.self, $0) }
    }
}

extension SQLiteRegistryStore {
    static func registerHeartbeatMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v12-kiosk-status") { db in
            try db.execute(sql: """
                CREATE TABLE kiosk_status (kiosk_id TEXT PRIMARY KEY, idempotency_key TEXT NOT NULL, body_hash TEXT NOT NULL,
                                           registry_number TEXT NOT NULL, body TEXT NOT NULL, sent_at REAL NOT NULL, received_at REAL NOT NULL);
                """)
        }
    }

    /// A submission's registry number: its kind's prefix, the day, and the number from the
    /// submissions' sequence in at least eight digits.
    static func registryNumber(_ kind: SubmissionKind, day: String, _ n: Int64) -> String {
        "\(prefix(kind))-\(day)-\(String(format: "%08lld", n))"
    }

    /// Keeps a heartbeat as its kiosk's newest state, inside the submission's transaction.
    static func beat(_ item: StoredSubmission, _ heartbeat: Heartbeat, kioskId: String, now: Date, day: String,
                     _ db: Database) throws -> Result<SubmissionReceipt, Problem> {
        if let row = try Row.fetchOne(db, sql: "SELECT body_hash, registry_number, received_at FROM kiosk_status WHERE kiosk_id = ? AND idempotency_key = ?",
                                      arguments: [kioskId, item.idempotencyKey]) {
            return Heartbeats.resent(item, bodyHash: row["body_hash"], registryNumber: row["registry_number"], receivedAt: row["received_at"])
        }
        // The number comes from the submissions' AUTOINCREMENT sequence, which SQLite lets a
        // statement move on, so it is never a submission's.
        try db.execute(sql: """
            INSERT INTO sqlite_sequence (name, seq) SELECT 'submission', 0
            WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'submission')
            """)
        try db.execute(sql: "UPDATE sqlite_sequence SET seq = seq + 1 WHERE name = 'submission'")
        let n = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'submission'") ?? 0
        let number = registryNumber(.heartbeats, day: day, n)
        let at = now.timeIntervalSince1970
        try db.execute(sql: """
            INSERT INTO kiosk_status (kiosk_id, idempotency_key, body_hash, registry_number, body, sent_at, received_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (kiosk_id) DO UPDATE SET idempotency_key = excluded.idempotency_key, body_hash = excluded.body_hash,
                registry_number = excluded.registry_number, body = excluded.body, sent_at = excluded.sent_at, received_at = excluded.received_at
            WHERE excluded.sent_at >= kiosk_status.sent_at
            """, arguments: [kioskId, item.idempotencyKey, item.bodyHash, number, String(decoding: item.body, as: UTF8.self),
                             Heartbeats.orderedAt(heartbeat, arrival: now), at])
        try db.execute(sql: "UPDATE kiosk SET last_heartbeat_at = ? WHERE id = ?", arguments: [at, kioskId])
        return .success(SubmissionReceipt(kind: .heartbeats, registryNumber: number, receivedAt: now))
    }
}
