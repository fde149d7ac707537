import Foundation
import GRDB
import KioskCore
import Registry

/// Results by post (免费邮递): what the kiosks' citizens asked to have posted, kept per site for
/// the hall staff, who mark each envelope posted when the courier takes it. Both stores keep it.
public protocol DeliveryStore: Sendable {
    /// The deliveries of `site`, oldest first, with `status` if given (at most 500).
    func deliveries(site: String, status: DeliveryRecord.Status?) async throws -> [DeliveryRecord]
    /// Marks a delivery posted (again: the first marking stands); 404 when there is none, 403
    /// when it belongs to another site than `site` (nil: any site, at the console).
    func markPosted(id: String, site: String?, by: String, now: Date) async throws -> Result<DeliveryRecord, Problem>
}

enum DeliveryRules {
    static func notFound(_ id: String) -> Problem {
        Problem(statusCode: 404, code: "delivery.not-found", title: "No such delivery", detail: "no delivery has the id \(id.prefix(80))")
    }

    static func otherSite(_ id: String) -> Problem {
        Problem(statusCode: 403, code: "hall.other-site", title: "Another site", detail: "delivery \(id.prefix(80)) is posted by another hall")
    }

    /// What a new submission asks to have posted: id, kind, reference, address and the site it claims.
    static func wanted(_ item: StoredSubmission, registryNumber: String) -> (String, DeliveryRecord.Kind, String, DeliveryAddress, String?)? {
        if let application = item.application, let address = application.delivery {
            return (application.trackingNumber, .application, registryNumber, address, nil)
        }
        if let request = item.delivery { return (request.deliveryId, .certificate, request.documentKind, request.address, request.site) }
        return nil
    }
}

extension SQLiteRegistryStore: DeliveryStore {
    static func registerDeliveryMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v8-deliveries") { db in
            try db.execute(sql: """
                CREATE TABLE delivery (delivery_id TEXT PRIMARY KEY, kiosk_id TEXT NOT NULL, site TEXT NOT NULL, kind TEXT NOT NULL,
                    reference TEXT NOT NULL, address TEXT NOT NULL, status TEXT NOT NULL, created_at REAL NOT NULL, posted_at REAL, posted_by TEXT);
                CREATE INDEX delivery_site ON delivery(site, status, created_at);
                """)
        }
    }

    /// Keeps a new submission's delivery inside its transaction, at the kiosk's registered site.
    static func recordDelivery(_ item: StoredSubmission, kioskId: String, registryNumber: String, at: Double, _ db: Database) throws {
        guard let (id, kind, reference, address, claimed) = DeliveryRules.wanted(item, registryNumber: registryNumber) else { return }
        let site = try String.fetchOne(db, sql: "SELECT site FROM kiosk WHERE id = ?", arguments: [kioskId]) ?? claimed ?? "-"
        try db.execute(sql: """
            INSERT OR IGNORE INTO delivery (delivery_id, kiosk_id, site, kind, reference, address, status, created_at)
            VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)
            """, arguments: [id, kioskId, site, kind.rawValue, reference, try encode(address), at])
    }

    static func record(_ row: Row) throws -> DeliveryRecord {
        DeliveryRecord(deliveryId: row["delivery_id"], kind: DeliveryRecord.Kind(rawValue: row["kind"]) ?? .application,
                       reference: row["reference"], site: row["site"], address: try decode(DeliveryAddress.self, row["address"]),
                       status: DeliveryRecord.Status(rawValue: row["status"]) ?? .pending, createdAt: Date(timeIntervalSince1970: row["created_at"]),
                       postedAt: (row["posted_at"] as Double?).map { Date(timeIntervalSince1970: $0) }, postedBy: row["posted_by"])
    }

    public func deliveries(site: String, status: DeliveryRecord.Status?) async throws -> [DeliveryRecord] {
        try await queue.read { db in
            var sql = "SELECT * FROM delivery WHERE site = ?"
            var arguments: StatementArguments = [site]
            if let status { sql += " AND status = ?"; arguments += [status.rawValue] }
            return try Row.fetchAll(db, sql: sql + " ORDER BY created_at, delivery_id LIMIT 500", arguments: arguments).map(Self.record)
        }
    }

    public func markPosted(id: String, site: String?, by: String, now: Date) async throws -> Result<DeliveryRecord, Problem> {
        try await queue.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM delivery WHERE delivery_id = ?", arguments: [id]) else {
                return .failure(DeliveryRules.notFound(id))
            }
            if let site, (row["site"] as String) != site { return .failure(DeliveryRules.otherSite(id)) }
            try db.execute(sql: "UPDATE delivery SET status = 'posted', posted_at = ?, posted_by = ? WHERE delivery_id = ? AND status = 'pending'",
                           arguments: [now.timeIntervalSince1970, by, id])
            guard let marked = try Row.fetchOne(db, sql: "SELECT * FROM delivery WHERE delivery_id = ?", arguments: [id]) else {
                return .failure(DeliveryRules.notFound(id))
            }
            return .success(try Self.record(marked))
        }
    }
}
