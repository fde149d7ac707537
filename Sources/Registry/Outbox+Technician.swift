import Crypto
import Foundation
import GRDB
import KioskCore

/// What a technician does with the outbox: its status and items, a dead letter retried or purged
/// (with who and why), the audit of those actions, and what is still queued, read in memory only.
extension Outbox {
    /// Depth, oldest age and dead letters per stream.
    public func status(now: Date = Date()) async throws(OutboxError) -> OutboxStatus {
        do {
            return try await database.read { db in
                var streams: [OutboxStreamStatus] = []
                for stream in SubmissionKind.allCases {
                    let row = try Row.fetchOne(db, sql: "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox_item WHERE stream = ?",
                                               arguments: [stream.rawValue])
                    let depth: Int = row?["n"] ?? 0
                    let oldest: Double? = row?["oldest"]
                    let lastError = try String.fetchOne(db, sql: "SELECT last_error FROM outbox_item WHERE stream = ? ORDER BY id LIMIT 1",
                                                        arguments: [stream.rawValue])
                    let dead = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox_dead_letter WHERE stream = ?", arguments: [stream.rawValue]) ?? 0
                    streams.append(OutboxStreamStatus(stream: stream, depth: depth, oldestAgeSeconds: oldest.map { now.timeIntervalSince1970 - $0 },
                                                      lastError: lastError, deadLetters: dead))
                }
                return OutboxStatus(streams: streams)
            }
        } catch { throw .database("\(error)") }
    }

    /// Queued items (oldest first) and, with `deadLetters`, dead letters, without payloads.
    public func list(stream: SubmissionKind? = nil, deadLetters: Bool = false, limit: Int = 100) async throws(OutboxError) -> [OutboxItemSummary] {
        do {
            return try await database.read { db in
                let table = deadLetters ? "outbox_dead_letter" : "outbox_item"
                let extra = deadLetters ? ", reason" : ", NULL AS reason"
                var sql = "SELECT id, stream, idempotency_key, tracking_number, created_at, attempts, last_error\(extra) FROM \(table)"
                var arguments: StatementArguments = []
                if let stream { sql += " WHERE stream = ?"; arguments += [stream.rawValue] }
                sql += " ORDER BY id LIMIT ?"
                arguments += [max(1, limit)]
                return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                    OutboxItemSummary(id: row["id"], stream: SubmissionKind(rawValue: row["stream"]) ?? .heartbeats,
                                      idempotencyKey: row["idempotency_key"], trackingNumber: row["tracking_number"],
                                      createdAt: Date(timeIntervalSince1970: row["created_at"]), attempts: row["attempts"],
                                      lastError: row["last_error"], dead: deadLetters, deadReason: row["reason"])
                }
            }
        } catch { throw .database("\(error)") }
    }

    /// The applications still queued here (not yet delivered), decrypted in memory: by tracking
    /// number, or those naming the person with `idNumber` as applicant or party.
    public func queuedApplications(trackingNumber: String? = nil, idNumber: String? = nil) async throws(OutboxError) -> [ApplicationSubmission] {
        let wanted = idNumber?.uppercased()
        return try await queued(.applications, as: ApplicationSubmission.self, trackingNumber: trackingNumber).filter { application in
            wanted.map { id in OpeningRules.parties(of: application).contains { $0.idNumber.uppercased() == id } } ?? true
        }
    }

    /// The items of `stream` still queued here (not yet delivered), decrypted in memory, oldest
    /// first (at most 1,000); with `trackingNumber`, only that one.
    public func queued<T: Decodable>(_ stream: SubmissionKind, as type: T.Type, trackingNumber: String? = nil) async throws(OutboxError) -> [T] {
        let payloads: [Data]
        do {
            payloads = try await database.read { db in
                if let trackingNumber {
                    return try Data.fetchAll(db, sql: "SELECT payload FROM outbox_item WHERE stream = ? AND tracking_number = ?",
                                             arguments: [stream.rawValue, trackingNumber])
                }
                return try Data.fetchAll(db, sql: "SELECT payload FROM outbox_item WHERE stream = ? ORDER BY id LIMIT 1000",
                                         arguments: [stream.rawValue])
            }
        } catch { throw .database("\(error)") }
        return payloads.compactMap { payload in
            guard let clear = try? unseal(payload) else { return nil }
            return try? RegistryJSON.decoder().decode(T.self, from: clear)
        }
    }

    /// One item (queued or dead letter) with its payload as JSON text, every personal field masked
    /// (`masked(_:key:)`).
    public func show(id: Int64) async throws(OutboxError) -> (summary: OutboxItemSummary, payload: String) {
        let found: (OutboxItemSummary, Data)?
        do {
            found = try await database.read { db -> (OutboxItemSummary, Data)? in
                for dead in [false, true] {
                    let table = dead ? "outbox_dead_letter" : "outbox_item"
                    let reason = dead ? "reason" : "NULL AS reason"
                    if let row = try Row.fetchOne(db, sql: "SELECT *, \(reason) FROM \(table) WHERE id = ?", arguments: [id]) {
                        let summary = OutboxItemSummary(
                            id: row["id"], stream: SubmissionKind(rawValue: row["stream"]) ?? .heartbeats, idempotencyKey: row["idempotency_key"],
                            trackingNumber: row["tracking_number"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
                            attempts: row["attempts"], lastError: row["last_error"], dead: dead, deadReason: row["reason"])
                        return (summary, row["payload"])
                    }
                }
                return nil
            }
        } catch { throw .database("\(error)") }
        guard let found else { throw .notFound(id) }
        let clear = try unseal(found.1)
        // Personal data stays masked wherever it sits in the item: the applicant and the parties,
        // a delivery's recipient, mobile and address, a lost card's number.
        guard let object = try? JSONSerialization.jsonObject(with: clear),
              let data = try? JSONSerialization.data(withJSONObject: Self.masked(object, key: nil), options: [.sortedKeys]) else {
            return (found.0, "(payload of \(clear.count) bytes is not JSON; not shown)")
        }
        let text = String(decoding: data, as: UTF8.self)
        return (found.0, text)
    }

    /// `value` with every personal field masked, at any depth: ID numbers, names and recipients,
    /// mobile numbers, addresses, card numbers.
    static func masked(_ value: Any, key: String?) -> Any {
        if let object = value as? [String: Any] {
            return Dictionary(uniqueKeysWithValues: object.map { ($0.key, masked($0.value, key: $0.key)) })
        }
        // A document's canonical fields are [name, value] pairs: the value is masked by its name.
        if let pairs = value as? [[String]], pairs.allSatisfy({ $0.count == 2 }) {
            return pairs.map { [$0[0], masked($0[1], key: $0[0]) as? String ?? ""] }
        }
        if let list = value as? [Any] { return list.map { masked($0, key: key) } }
        guard let text = value as? String else { return value }
        switch key {
        case "idNumber": return IDNumber.mask(text)
        case "name", "recipient": return CardIdentity.maskName(text)
        case "mobile": return DeliveryAddress.maskMobile(text)
        case "address": return DeliveryAddress.maskPlace(text)
        case "cardNumber": return String(repeating: "*", count: max(0, text.count - 2)) + String(text.suffix(2))
        default: return text
        }
    }

    /// Puts dead letter `id` back at its place in its stream, attempts reset; writes an audit row.
    public func retry(id: Int64, who: String, why: String) async throws(OutboxError) {
        try checkAudit(who: who, why: why)
        do {
            try await database.write { db in
                guard let row = try Row.fetchOne(db, sql: "SELECT * FROM outbox_dead_letter WHERE id = ?", arguments: [id]) else {
                    throw OutboxError.notFound(id)
                }
                let now = Date().timeIntervalSince1970
                try db.execute(sql: """
                    INSERT INTO outbox_item (id, stream, idempotency_key, tracking_number, payload, created_at, attempts, refusals, next_attempt_at, last_error)
                    VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, ?)
                    """, arguments: [id, row["stream"] as String, row["idempotency_key"] as String, row["tracking_number"] as String?,
                                     row["payload"] as Data, now, now, row["last_error"] as String?])
                try db.execute(sql: "DELETE FROM outbox_dead_letter WHERE id = ?", arguments: [id])
                try audit(db, action: "retry", id: id, stream: row["stream"], tracking: row["tracking_number"], who: who, why: why)
                depths.set(try Self.counts(db))
            }
        } catch let error as OutboxError { throw error } catch { throw .database("\(error)") }
        wakers.fire()
    }

    /// Removes queued item or dead letter `id` for good; writes an audit row with `who` and `why`.
    public func purge(id: Int64, who: String, why: String) async throws(OutboxError) {
        try checkAudit(who: who, why: why)
        do {
            try await database.write { db in
                var found = false
                for table in ["outbox_item", "outbox_dead_letter"] {
                    if let row = try Row.fetchOne(db, sql: "SELECT stream, tracking_number FROM \(table) WHERE id = ?", arguments: [id]) {
                        try db.execute(sql: "DELETE FROM \(table) WHERE id = ?", arguments: [id])
                        try audit(db, action: "purge", id: id, stream: row["stream"], tracking: row["tracking_number"], who: who, why: why)
                        found = true
                    }
                }
                if !found { throw OutboxError.notFound(id) }
                depths.set(try Self.counts(db))
            }
        } catch let error as OutboxError { throw error } catch { throw .database("\(error)") }
    }

    /// The audit trail of retries and purges, newest first: (when, action, item, who, why).
    public func auditTrail(limit: Int = 100) async throws(OutboxError) -> [(at: Date, action: String, itemId: Int64, who: String, why: String)] {
        do {
            return try await database.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM outbox_audit ORDER BY id DESC LIMIT ?", arguments: [limit]).map { row in
                    (Date(timeIntervalSince1970: row["at"]), row["action"], row["item_id"], row["who"], row["why"])
                }
            }
        } catch { throw .database("\(error)") }
    }

    func checkAudit(who: String, why: String) throws(OutboxError) {
        if who.trimmingCharacters(in: .whitespaces).isEmpty || why.trimmingCharacters(in: .whitespaces).isEmpty {
            throw .invalidArgument("say who you are and why (both are kept in the audit trail)")
        }
    }

    func audit(_ db: Database, action: String, id: Int64, stream: String?, tracking: String?, who: String, why: String) throws {
        try db.execute(sql: "INSERT INTO outbox_audit (at, action, item_id, stream, tracking_number, who, why) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       arguments: [Date().timeIntervalSince1970, action, id, stream, tracking, String(who.prefix(100)), String(why.prefix(500))])
    }
}
