import Foundation
import GRDB
import KioskCore

/// A cached answer and when the registry gave it.
public struct Cached<Value: Sendable>: Sendable {
    public var value: Value
    /// When the registry answered it.
    public var storedAt: Date
    /// True when it came from the cache because the registry could not be reached.
    public var fromCache: Bool
    /// Seconds since the registry answered it.
    public func ageSeconds(now: Date = Date()) -> Int { max(0, Int(now.timeIntervalSince(storedAt))) }
}

/// A cache of public enterprise data only (the business-licence object, status and archive;
/// never the legal representative's ID number, never persons), to show "cached, as of …" when
/// the registry cannot be reached. Its own SQLite file (WAL), read and written asynchronously.
public final class QueryCache: Sendable {
    let database: DatabasePool
    /// Entries older than this are not shown.
    public let maxAge: TimeInterval

    /// Opens (creating if needed) the cache at `path`.
    public init(path: String, maxAge: TimeInterval = 30 * 24 * 3600) throws(OutboxError) {
        self.maxAge = maxAge
        do {
            database = try DatabasePool(path: path)
            var migrator = DatabaseMigrator()
            migrator.registerMigration("cache-v1") { db in
                try db.execute(sql: """
                    CREATE TABLE cache_entry (key TEXT PRIMARY KEY, body BLOB NOT NULL, stored_at REAL NOT NULL);
                    """)
            }
            try migrator.migrate(database)
        } catch { throw .database("\(path): \(error)") }
    }

    func put(_ key: String, _ value: some Encodable, at date: Date) async {
        guard let body = try? RegistryJSON.encoder().encode(value) else { return }
        _ = try? await database.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO cache_entry (key, body, stored_at) VALUES (?, ?, ?)",
                           arguments: [key, body, date.timeIntervalSince1970])
        }
    }

    func get<T: Decodable & Sendable>(_ key: String, as type: T.Type, now: Date) async -> Cached<T>? {
        let found = try? await database.read { db -> (body: Data, storedAt: Double)? in
            try Row.fetchOne(db, sql: "SELECT body, stored_at FROM cache_entry WHERE key = ?", arguments: [key]).map { ($0["body"], $0["stored_at"]) }
        }
        guard let row = found ?? nil else { return nil }
        let storedAt = Date(timeIntervalSince1970: row.storedAt)
        guard now.timeIntervalSince(storedAt) <= maxAge, let value = try? RegistryJSON.decoder().decode(T.self, from: row.body) else {
            return nil
        }
        return Cached(value: value, storedAt: storedAt, fromCache: true)
    }

    /// Keeps an enterprise's public record.
    public func store(_ enterprise: Enterprise, at date: Date = Date()) async { await put("enterprise:" + enterprise.uscc, enterprise, at: date) }
    /// Keeps an enterprise's public archive (and its record).
    public func store(_ archive: PublicArchive, at date: Date = Date()) async {
        await put("archive:" + archive.enterprise.uscc, archive, at: date)
        await store(archive.enterprise, at: date)
    }

    /// The cached public record of `uscc`, if any and not too old.
    public func enterprise(uscc: String, now: Date = Date()) async -> Cached<Enterprise>? { await get("enterprise:" + uscc, as: Enterprise.self, now: now) }
    /// The cached public archive of `uscc`, if any and not too old.
    public func archive(uscc: String, now: Date = Date()) async -> Cached<PublicArchive>? { await get("archive:" + uscc, as: PublicArchive.self, now: now) }

    /// The registry's answer (kept in the cache), or the cached one when the registry is
    /// unreachable, timed out or its circuit is open. Refusals (e.g. not found) are thrown.
    public func enterprise(uscc: String, via client: RegistryClient) async throws(RegistryClientError) -> Cached<Enterprise> {
        do {
            let value = try await client.enterprise(uscc: uscc)
            await store(value)
            return Cached(value: value, storedAt: Date(), fromCache: false)
        } catch {
            if error.isFallback, let cached = await enterprise(uscc: uscc) { return cached }
            throw error
        }
    }

    /// As `enterprise(uscc:via:)`, for the public archive.
    public func archive(uscc: String, via client: RegistryClient) async throws(RegistryClientError) -> Cached<PublicArchive> {
        do {
            let value = try await client.archive(uscc: uscc)
            await store(value)
            return Cached(value: value, storedAt: Date(), fromCache: false)
        } catch {
            if error.isFallback, let cached = await archive(uscc: uscc) { return cached }
            throw error
        }
    }
}

extension RegistryClientError {
    /// Whether a cached answer may stand in (the registry was not reached or not healthy).
    var isFallback: Bool {
        switch self {
        case .unreachable, .timeout, .circuitOpen, .malformedAnswer, .untrusted: return true
        case .refused(let p): return p.statusCode >= 500
        case .invalidRequest: return false
        }
    }
}
