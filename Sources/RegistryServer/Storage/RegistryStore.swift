import Foundation
import GRDB
import KioskCore
import Registry

/// Why the store failed.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    case database(String)
    case seed(SeedError)

    public var description: String {
        switch self {
        case .database(let why): return "database: \(why)"
        case .seed(let error): return "seed: \(error)"
        }
    }
}

/// What registryd keeps, behind one protocol (SQLite here; PostgreSQL for a fleet).
public protocol RegistryStore: Sendable {
    func enterprise(uscc: String) async throws -> EnterpriseRecord?
    func searchEnterprises(name: String, limit: Int) async throws -> [Enterprise]
    func person(idNumber: String) async throws -> SocialInsuranceRecord?
    /// Loads a seed in one transaction: all of it or nothing.
    func load(_ seed: RegistrySeed) async throws
}

/// The embedded default store: one SQLite file through GRDB (WAL).
public final class SQLiteRegistryStore: RegistryStore {
    let queue: DatabasePool

    /// Opens (creating if needed) the database at `path`.
    public init(path: String) throws {
        do {
            var config = Configuration()
            config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            queue = try DatabasePool(path: path, configuration: config)
            var migrator = DatabaseMigrator()
            migrator.registerMigration("v1") { db in
                try db.execute(sql: """
                    CREATE TABLE enterprise (uscc TEXT PRIMARY KEY, name TEXT NOT NULL, record TEXT NOT NULL);
                    CREATE INDEX enterprise_name ON enterprise(name);
                    CREATE TABLE person (id_number TEXT PRIMARY KEY, record TEXT NOT NULL);
                    """)
            }
            try migrator.migrate(queue)
        } catch {
            throw StoreError.database("\(path): \(error)")
        }
    }

    static func encode<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }

    public func enterprise(uscc: String) async throws -> EnterpriseRecord? {
        let text = try await queue.read { db in
            try String.fetchOne(db, sql: "SELECT record FROM enterprise WHERE uscc = ?", arguments: [uscc])
        }
        return try text.map { try SQLiteRegistryStore.decode(EnterpriseRecord.self, $0) }
    }

    public func searchEnterprises(name: String, limit: Int) async throws -> [Enterprise] {
        let pattern = "%" + name.replacingOccurrences(of: "%", with: "").replacingOccurrences(of: "_", with: "") + "%"
        let rows = try await queue.read { db in
            try String.fetchAll(db, sql: "SELECT record FROM enterprise WHERE name LIKE ? ORDER BY name LIMIT ?",
                                arguments: [pattern, limit])
        }
        return try rows.map { try SQLiteRegistryStore.decode(EnterpriseRecord.self, $0).enterprise }
    }

    public func person(idNumber: String) async throws -> SocialInsuranceRecord? {
        let text = try await queue.read { db in
            try String.fetchOne(db, sql: "SELECT record FROM person WHERE id_number = ?", arguments: [idNumber])
        }
        return try text.map { try SQLiteRegistryStore.decode(SocialInsuranceRecord.self, $0) }
    }

    public func load(_ seed: RegistrySeed) async throws {
        try await queue.write { db in
            for record in seed.enterprises {
                try db.execute(sql: "INSERT OR REPLACE INTO enterprise (uscc, name, record) VALUES (?, ?, ?)",
                               arguments: [record.enterprise.uscc, record.enterprise.name, try SQLiteRegistryStore.encode(record)])
            }
            for person in seed.persons {
                try db.execute(sql: "INSERT OR REPLACE INTO person (id_number, record) VALUES (?, ?)",
                               arguments: [person.idNumber.uppercased(), try SQLiteRegistryStore.encode(person)])
            }
        }
    }
}
