import Foundation
import KioskCore
import Logging
import PostgresNIO
import Registry

/// Heartbeats on PostgreSQL: each kiosk's newest state, as on SQLite (`Heartbeats`).
extension PostgresRegistryStore {
    static let heartbeatMigration: [PostgresQuery] = [
        """
        CREATE TABLE IF NOT EXISTS kiosk_status (kiosk_id TEXT PRIMARY KEY, idempotency_key TEXT NOT NULL, body_hash TEXT NOT NULL,
            registry_number TEXT NOT NULL, body TEXT NOT NULL, sent_at DOUBLE PRECISION NOT NULL, received_at DOUBLE PRECISION NOT NULL)
        """,
    ]

    /// The SQL of a registry number made from `n`, a value of the submissions' sequence, after `prefix`
    /// (kind and day): at least eight digits, as on SQLite.
    static let numberFromSequence = "CASE WHEN n >= 100000000 THEN n::text ELSE lpad(n::text, 8, '0') END"

    /// Keeps a heartbeat as its kiosk's newest state in one statement, which needs no transaction
    /// around it: the key looked up among the kept submission keys and the kept heartbeat, a number
    /// taken only for a new one, the state replaced unless it is newer, the kiosk marked seen.
    /// `run` sends the statement (on the pool, or on a batch's connection).
    static func beat(_ item: StoredSubmission, _ heartbeat: Heartbeat, kioskId: String, now: Date, day: String,
                     run: (PostgresQuery) async throws -> PostgresRowSequence) async throws -> Result<SubmissionReceipt, Problem> {
        let (key, hash, at) = (item.idempotencyKey, item.bodyHash, now.timeIntervalSince1970)
        let prefix = "\(SQLiteRegistryStore.prefix(.heartbeats))-\(day)-"
        let body = String(decoding: item.body, as: UTF8.self), sent = Heartbeats.orderedAt(heartbeat, arrival: now)
        let rows = try await run("""
            WITH prior AS (SELECT kind, body_hash, receipt FROM idempotency WHERE kiosk_id = \(kioskId) AND key = \(key)),
                 last AS (SELECT body_hash, registry_number, received_at FROM kiosk_status WHERE kiosk_id = \(kioskId) AND idempotency_key = \(key)),
                 issued AS (SELECT \(prefix) || \(unescaped: numberFromSequence) AS number FROM (SELECT nextval('submission_id_seq') AS n) AS next
                            WHERE NOT EXISTS (SELECT 1 FROM prior) AND NOT EXISTS (SELECT 1 FROM last)),
                 kept AS (INSERT INTO kiosk_status (kiosk_id, idempotency_key, body_hash, registry_number, body, sent_at, received_at)
                          SELECT \(kioskId), \(key), \(hash), number, \(body), \(sent), \(at) FROM issued
                          ON CONFLICT (kiosk_id) DO UPDATE SET idempotency_key = EXCLUDED.idempotency_key, body_hash = EXCLUDED.body_hash,
                              registry_number = EXCLUDED.registry_number, body = EXCLUDED.body, sent_at = EXCLUDED.sent_at,
                              received_at = EXCLUDED.received_at
                          WHERE kiosk_status.sent_at <= EXCLUDED.sent_at),
                 seen AS (UPDATE kiosk SET last_heartbeat_at = \(at) WHERE id = \(kioskId) AND EXISTS (SELECT 1 FROM issued))
            SELECT (SELECT number FROM issued), (SELECT kind FROM prior), (SELECT body_hash FROM prior), (SELECT receipt FROM prior),
                   (SELECT body_hash FROM last), (SELECT registry_number FROM last), (SELECT received_at FROM last)
            """)
        for try await (number, priorKind, priorHash, priorReceipt, lastHash, lastNumber, lastReceived)
            in rows.decode((String?, String?, String?, String?, String?, String?, Double?).self) {
            if let number { return .success(SubmissionReceipt(kind: .heartbeats, registryNumber: number, receivedAt: now)) }
            if let priorKind, let priorHash, let priorReceipt {
                // Kept among the submission keys: another kind's, or a heartbeat kept there before.
                guard priorKind == SubmissionKind.heartbeats.rawValue, priorHash == hash else { return .failure(StoredSubmission.keyReused(key)) }
                return .success(try SQLiteRegistryStore.decode(SubmissionReceipt.self, priorReceipt))
            }
            if let lastHash, let lastNumber, let lastReceived {
                return Heartbeats.resent(item, bodyHash: lastHash, registryNumber: lastNumber, receivedAt: lastReceived)
            }
        }
        throw StoreError.database("a heartbeat of \(kioskId) was neither kept nor found")
    }
}
