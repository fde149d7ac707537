import Foundation
import GRDB
import KioskCore
import PostgresNIO
import Registry

/// Name search without reading every enterprise: each name's pairs of adjacent characters are
/// kept in `enterprise_gram` (pair, name, credit code), ordered by name within a pair. A search of
/// two characters or more reads the postings of the query's rarest pair in name order, checks each
/// name against the query as before (`LIKE '%query%'`), and stops at the limit. A province's
/// registry holds millions of enterprises; a search that matched few of them read them all. The
/// names are checked in the index itself (it holds them), so only the enterprises answered are read.
/// Pairs are of Unicode scalars (what `LIKE` compares) with ASCII letters in lower case, so every
/// name `LIKE` finds holds every pair of the query, whatever the store's case rules.
public enum EnterpriseNameIndex {
    /// The query pairs whose postings are counted to find the rarest (spread over a long query).
    static let probes = 8
    /// Postings counted per pair at most: past this, a pair is as good as any other common one.
    static let countCap = 1_000

    /// The distinct pairs of adjacent characters of `text`.
    public static func grams(of text: String) -> [String] {
        let scalars = Array(text.unicodeScalars.map { ("A"..."Z").contains($0) ? Unicode.Scalar($0.value + 32) ?? $0 : $0 })
        guard scalars.count >= 2 else { return [] }
        var seen = Set<String>(), out: [String] = []
        for i in 0..<(scalars.count - 1) {
            var pair = String.UnicodeScalarView()
            pair.append(scalars[i])
            pair.append(scalars[i + 1])
            let gram = String(pair)
            if seen.insert(gram).inserted { out.append(gram) }
        }
        return out
    }

    /// The pairs of a query worth counting: all of a short query's, an even spread of a long one's.
    static func probes(of query: String) -> [String] {
        let all = grams(of: query)
        guard all.count > probes else { return all }
        return (0..<probes).map { all[$0 * (all.count - 1) / (probes - 1)] }
    }

    /// The query as `LIKE` takes it: wildcards and the escape character dropped (never special).
    static func literal(_ name: String) -> String {
        name.replacingOccurrences(of: "%", with: "").replacingOccurrences(of: "_", with: "").replacingOccurrences(of: "\\", with: "")
    }
}

extension SQLiteRegistryStore {
    static func registerNameIndexMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v13-enterprise-grams") { db in
            try db.execute(sql: """
                CREATE TABLE enterprise_gram (gram TEXT NOT NULL, name TEXT NOT NULL, uscc TEXT NOT NULL,
                                              PRIMARY KEY (gram, name, uscc)) WITHOUT ROWID;
                CREATE INDEX enterprise_gram_uscc ON enterprise_gram(uscc);
                """)
            for row in try Row.fetchAll(db, sql: "SELECT uscc, name FROM enterprise") {
                try indexName(uscc: row["uscc"], name: row["name"], db, replacing: false)
            }
        }
    }

    /// Keeps the pairs of enterprise `uscc`'s name, replacing those of its former name.
    static func indexName(uscc: String, name: String, _ db: Database, replacing: Bool = true) throws {
        if replacing { try db.execute(sql: "DELETE FROM enterprise_gram WHERE uscc = ?", arguments: [uscc]) }
        let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO enterprise_gram (gram, name, uscc) VALUES (?, ?, ?)")
        for gram in EnterpriseNameIndex.grams(of: name) { try insert.execute(arguments: [gram, name, uscc]) }
    }

    /// The records of enterprises whose name holds `literal`, by name, at most `limit`.
    static func search(literal: String, limit: Int, _ db: Database) throws -> [String] {
        let pattern = "%" + literal + "%"
        let probes = EnterpriseNameIndex.probes(of: literal)
        guard !probes.isEmpty else {
            // One character: names are read in order until `limit` hold it.
            return try String.fetchAll(db, sql: "SELECT record FROM enterprise WHERE name LIKE ? ORDER BY name LIMIT ?", arguments: [pattern, limit])
        }
        let count = try db.cachedStatement(sql: "SELECT count(*) FROM (SELECT 1 FROM enterprise_gram WHERE gram = ? LIMIT ?)")
        var rarest: (gram: String, count: Int)?
        for gram in probes {
            let found = try Int.fetchOne(count, arguments: [gram, EnterpriseNameIndex.countCap]) ?? 0
            if found == 0 { return [] }
            if found < rarest?.count ?? .max { rarest = (gram, found) }
        }
        return try String.fetchAll(db, sql: """
            SELECT e.record FROM (SELECT name, uscc FROM enterprise_gram WHERE gram = ? AND name LIKE ? ORDER BY gram, name, uscc LIMIT ?) AS g
            JOIN enterprise e ON e.uscc = g.uscc ORDER BY g.name, g.uscc
            """, arguments: [rarest?.gram ?? probes[0], pattern, limit])
    }
}

extension PostgresRegistryStore {
    static let nameIndexMigration: [PostgresQuery] = [
        """
        CREATE TABLE IF NOT EXISTS enterprise_gram (gram TEXT NOT NULL, name TEXT NOT NULL, uscc TEXT NOT NULL,
            PRIMARY KEY (gram, name, uscc))
        """,
        "CREATE INDEX IF NOT EXISTS enterprise_gram_uscc ON enterprise_gram(uscc)",
    ]

    /// Indexes the names of enterprises not indexed yet (those stored before the index existed).
    static func backfillNameIndex(_ connection: PostgresConnection, _ logger: Logger) async throws {
        var missing: [(String, String)] = []
        for try await row in try await connection.query("""
            SELECT uscc, name FROM enterprise e WHERE NOT EXISTS (SELECT 1 FROM enterprise_gram g WHERE g.uscc = e.uscc)
            """, logger: logger).decode((String, String).self) { missing.append(row) }
        try await indexNames(missing, connection, logger, replacing: false)
    }

    /// Keeps the pairs of each enterprise's name, replacing those of its former name, a thousand
    /// enterprises a statement.
    static func indexNames(_ names: [(uscc: String, name: String)], _ connection: PostgresConnection, _ logger: Logger,
                           replacing: Bool = true) async throws {
        var start = 0
        while start < names.count {
            let chunk = names[start..<min(names.count, start + 1000)]
            start += chunk.count
            if replacing {
                try await connection.query("DELETE FROM enterprise_gram WHERE uscc = ANY(\(chunk.map(\.uscc)))", logger: logger)
            }
            var grams: [String] = [], keptNames: [String] = [], codes: [String] = []
            for (uscc, name) in chunk {
                for gram in EnterpriseNameIndex.grams(of: name) {
                    grams.append(gram)
                    keptNames.append(name)
                    codes.append(uscc)
                }
            }
            try await connection.query("""
                INSERT INTO enterprise_gram (gram, name, uscc) SELECT * FROM unnest(\(grams)::text[], \(keptNames)::text[], \(codes)::text[])
                ON CONFLICT DO NOTHING
                """, logger: logger)
        }
    }

    /// The records of enterprises whose name holds `literal`, by name, at most `limit`.
    func search(literal: String, limit: Int) async throws -> [String] {
        let pattern = "%" + literal + "%"
        let probes = EnterpriseNameIndex.probes(of: literal)
        guard !probes.isEmpty else {
            return try await strings("SELECT record FROM enterprise WHERE name LIKE \(pattern) ORDER BY name LIMIT \(limit)")
        }
        // Each pair's postings counted up to the cap, in one round trip.
        var rarest: (gram: String, count: Int)?
        for try await (gram, found) in try await client.query("""
            SELECT p.gram, (SELECT count(*) FROM (SELECT 1 FROM enterprise_gram g WHERE g.gram = p.gram LIMIT \(EnterpriseNameIndex.countCap)) AS c)
            FROM unnest(\(probes)::text[]) AS p(gram)
            """, logger: logger).decode((String, Int).self) {
            if found < rarest?.count ?? .max { rarest = (gram, found) }
        }
        guard let rarest, rarest.count > 0 else { return [] }
        return try await strings("""
            SELECT e.record FROM (SELECT name, uscc FROM enterprise_gram WHERE gram = \(rarest.gram) AND name LIKE \(pattern)
                                  ORDER BY gram, name, uscc LIMIT \(limit)) AS g
            JOIN enterprise e ON e.uscc = g.uscc ORDER BY g.name, g.uscc
            """)
    }
}
