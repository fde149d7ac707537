import Foundation
import KioskCore
import Logging
import PostgresNIO
import Registry

/// Results by post on PostgreSQL: the same table and rules as on SQLite.
extension PostgresRegistryStore: DeliveryStore {
    static let deliveryMigration: [PostgresQuery] = [
        """
        CREATE TABLE IF NOT EXISTS delivery (delivery_id TEXT PRIMARY KEY, kiosk_id TEXT NOT NULL, site TEXT NOT NULL, kind TEXT NOT NULL,
            reference TEXT NOT NULL, address TEXT NOT NULL, status TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
            posted_at DOUBLE PRECISION, posted_by TEXT)
        """,
        "CREATE INDEX IF NOT EXISTS delivery_site ON delivery(site, status, created_at)",
    ]

    static func recordDelivery(_ item: StoredSubmission, kioskId: String, registryNumber: String, at: Double,
                               _ connection: PostgresConnection, _ logger: Logger) async throws {
        guard let (id, kind, reference, address, claimed) = DeliveryRules.wanted(item, registryNumber: registryNumber) else { return }
        var registered: String?
        for try await site in try await connection.query("SELECT site FROM kiosk WHERE id = \(kioskId)", logger: logger).decode(String?.self) {
            registered = site
        }
        let site = registered ?? claimed ?? "-", kindName = kind.rawValue, text = try SQLiteRegistryStore.encode(address)
        try await connection.query("""
            INSERT INTO delivery (delivery_id, kiosk_id, site, kind, reference, address, status, created_at)
            VALUES (\(id), \(kioskId), \(site), \(kindName), \(reference), \(text), 'pending', \(at))
            ON CONFLICT (delivery_id) DO NOTHING
            """, logger: logger)
    }

    typealias DeliveryColumns = (String, String, String, String, String, String, Double, Double?, String?)
    static let deliverySelect = "SELECT delivery_id, site, kind, reference, address, status, created_at, posted_at, posted_by FROM delivery"

    static func record(_ c: DeliveryColumns) throws -> DeliveryRecord {
        DeliveryRecord(deliveryId: c.0, kind: DeliveryRecord.Kind(rawValue: c.2) ?? .application, reference: c.3, site: c.1,
                       address: try SQLiteRegistryStore.decode(DeliveryAddress.self, c.4), status: DeliveryRecord.Status(rawValue: c.5) ?? .pending,
                       createdAt: Date(timeIntervalSince1970: c.6), postedAt: c.7.map { Date(timeIntervalSince1970: $0) }, postedBy: c.8)
    }

    public func deliveries(site: String, status: DeliveryRecord.Status?) async throws -> [DeliveryRecord] {
        let statusName = status?.rawValue
        var out: [DeliveryRecord] = []
        for try await row in try await client.query("""
            \(unescaped: Self.deliverySelect) WHERE site = \(site) AND (\(statusName)::text IS NULL OR status = \(statusName))
            ORDER BY created_at, delivery_id LIMIT 500
            """, logger: logger).decode(DeliveryColumns.self) { out.append(try Self.record(row)) }
        return out
    }

    public func markPosted(id: String, site: String?, by: String, now: Date) async throws -> Result<DeliveryRecord, Problem> {
        let logger = self.logger, at = now.timeIntervalSince1970
        return try await client.withTransaction(logger: logger) { connection in
            var found: DeliveryColumns?
            for try await row in try await connection.query("\(unescaped: Self.deliverySelect) WHERE delivery_id = \(id) FOR UPDATE", logger: logger)
                .decode(DeliveryColumns.self) { found = row }
            guard let row = found else { return .failure(DeliveryRules.notFound(id)) }
            if let site, row.1 != site { return .failure(DeliveryRules.otherSite(id)) }
            try await connection.query("""
                UPDATE delivery SET status = 'posted', posted_at = \(at), posted_by = \(by) WHERE delivery_id = \(id) AND status = 'pending'
                """, logger: logger)
            for try await marked in try await connection.query("\(unescaped: Self.deliverySelect) WHERE delivery_id = \(id)", logger: logger)
                .decode(DeliveryColumns.self) { return .success(try Self.record(marked)) }
            return .failure(DeliveryRules.notFound(id))
        }
    }
}
