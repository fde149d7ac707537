import Crypto
import Foundation
import GRDB
import KioskCore

/// What the relay asks of the outbox: a stream's due head, the outcomes recorded, expiry.
extension Outbox {
    struct Pending: Sendable {
        var id: Int64
        var stream: SubmissionKind
        var idempotencyKey: String
        var trackingNumber: String?
        var body: Data
        var attempts: Int
        var refusals: Int
    }

    /// Why an item whose payload cannot be decrypted is a dead letter.
    static let undecryptableReason = "the payload cannot be decrypted with the outbox key (the key file was replaced, or the row is damaged); restore the original key file and retry the item, or purge it"

    /// Moves expired items to dead letters; answers how many.
    func expire(now: Date = Date()) async throws -> Int {
        let ttl = policy.ttl, heartbeatTTL = policy.heartbeatTTL
        let (expired, counts) = try await database.write { db in
            let cutoff = now.timeIntervalSince1970 - ttl, heartbeatCutoff = now.timeIntervalSince1970 - heartbeatTTL
            let condition = "(stream != 'heartbeats' AND created_at < \(cutoff)) OR (stream = 'heartbeats' AND created_at < \(heartbeatCutoff))"
            let ids = try Int64.fetchAll(db, sql: "SELECT id FROM outbox_item WHERE \(condition)")
            for id in ids {
                try Self.moveToDeadLetter(db, id: id, reason: "expired: not delivered within its time to live", now: now)
            }
            return (ids.count, try Self.counts(db))
        }
        depths.set(counts)
        return expired
    }

    static func moveToDeadLetter(_ db: Database, id: Int64, reason: String, now: Date) throws {
        try db.execute(sql: """
            INSERT OR REPLACE INTO outbox_dead_letter (id, stream, idempotency_key, tracking_number, payload, created_at, attempts, last_error, reason, dead_at)
            SELECT id, stream, idempotency_key, tracking_number, payload, created_at, attempts, last_error, ?, ? FROM outbox_item WHERE id = ?
            """, arguments: [String(reason.prefix(1000)), now.timeIntervalSince1970, id])
        try db.execute(sql: "DELETE FROM outbox_item WHERE id = ?", arguments: [id])
    }

    /// The head of `stream` (up to `limit` items) when the head is due, else when it will be.
    func head(of stream: SubmissionKind, limit: Int, now: Date = Date()) async throws -> (items: [Pending], nextDue: Date?) {
        let rows: [(Pending, Double)] = try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT id, idempotency_key, tracking_number, payload, attempts, refusals, next_attempt_at FROM outbox_item WHERE stream = ? ORDER BY id LIMIT ?",
                             arguments: [stream.rawValue, limit]).map { row in
                (Pending(id: row["id"], stream: stream, idempotencyKey: row["idempotency_key"], trackingNumber: row["tracking_number"],
                         body: row["payload"], attempts: row["attempts"], refusals: row["refusals"]), row["next_attempt_at"])
            }
        }
        guard let first = rows.first else { return ([], nil) }
        let due = Date(timeIntervalSince1970: first.1)
        if due > now { return ([], due) }
        var items: [Pending] = []
        var unreadable: [Int64] = []
        for (item, _) in rows {
            var clear = item
            do { clear.body = try unseal(item.body) } catch {
                unreadable.append(item.id)
                continue
            }
            items.append(clear)
        }
        if !unreadable.isEmpty {
            // One row that cannot be decrypted must not hold its stream: it becomes a dead letter
            // with the reason, and the items behind it flow.
            let ids = unreadable
            depths.set(try await database.write { db in
                for id in ids {
                    try Self.moveToDeadLetter(db, id: id, reason: Self.undecryptableReason, now: now)
                }
                return try Self.counts(db)
            })
        }
        return (items, now)
    }

    /// What happened to one item of a delivery.
    enum Outcome: Sendable {
        case delivered(registryNumber: String)
        case rejected(reason: String)
        case failed(error: String, refusal: Bool)
    }

    /// Records the outcomes of one delivery in one transaction.
    func record(_ outcomes: [(Pending, Outcome)], now: Date = Date()) async throws {
        let policy = self.policy
        depths.set(try await database.write { db in
            for (item, outcome) in outcomes {
                switch outcome {
                case .delivered(let number):
                    if let tracking = item.trackingNumber {
                        try db.execute(sql: "INSERT OR REPLACE INTO outbox_delivered_application (tracking_number, registry_number, delivered_at) VALUES (?, ?, ?)",
                                       arguments: [tracking, number, now.timeIntervalSince1970])
                    }
                    try db.execute(sql: "DELETE FROM outbox_item WHERE id = ?", arguments: [item.id])
                case .rejected(let reason):
                    try db.execute(sql: "UPDATE outbox_item SET attempts = attempts + 1, last_error = ? WHERE id = ?", arguments: [reason, item.id])
                    try Self.moveToDeadLetter(db, id: item.id, reason: reason, now: now)
                case .failed(let error, let refusal):
                    let attempts = item.attempts + 1
                    let refusals = item.refusals + (refusal ? 1 : 0)
                    if refusals >= policy.poisonThreshold {
                        try db.execute(sql: "UPDATE outbox_item SET attempts = ?, last_error = ? WHERE id = ?", arguments: [attempts, error, item.id])
                        try Self.moveToDeadLetter(db, id: item.id, reason: "poison: refused \(refusals) times; last: \(error)", now: now)
                    } else {
                        let wait = policy.backoff(afterAttempts: attempts)
                        let next = now.timeIntervalSince1970 + Double(wait.nanoseconds) / 1e9
                        try db.execute(sql: "UPDATE outbox_item SET attempts = ?, refusals = ?, last_error = ?, next_attempt_at = ? WHERE id = ?",
                                       arguments: [attempts, refusals, String(error.prefix(1000)), next, item.id])
                    }
                }
            }
            return try Self.counts(db)
        })
    }
}
