import Foundation

/// A configuration bundle published for a kiosk (`GET /v1/config/announcements`).
public struct ConfigAnnouncement: Codable, Sendable, Hashable {
    /// `fleet`, `site:ID` or `kiosk:ID`.
    public var target: String
    public var version: Int
    /// The bundle's ID for `GET /v1/config/bundles/{id}`.
    public var id: String
    /// Hex SHA-256 of the signed envelope.
    public var sha256: String
    /// The envelope's size in bytes.
    public var size: Int

    public init(target: String, version: Int, id: String, sha256: String, size: Int) {
        self.target = target
        self.version = version
        self.id = id
        self.sha256 = sha256
        self.size = size
    }
}

/// The bundles meant for one kiosk now, newest version per target; `etag` changes whenever they do.
public struct ConfigAnnouncements: Codable, Sendable, Hashable {
    public var etag: String
    public var bundles: [ConfigAnnouncement]
    /// Base64 of the registry's signed freshness statement over exactly these bundles, made for
    /// this answer; nil from a registry without a timestamp key.
    public var statement: String?

    public init(etag: String, bundles: [ConfigAnnouncement], statement: String? = nil) {
        self.etag = etag
        self.bundles = bundles
        self.statement = statement
    }
}

/// What became of a bundle at a kiosk (`POST /v1/config/reports`).
public struct ConfigReport: Codable, Sendable, Hashable {
    public var target: String?
    public var version: Int?
    /// `committed`, `rolledBack`, `rejected` or `manualRollback`.
    public var result: String
    public var reason: String?
    /// The configuration generation the kiosk runs afterwards.
    public var generation: Int
    public var at: Date

    public init(target: String?, version: Int?, result: String, reason: String?, generation: Int, at: Date) {
        self.target = target
        self.version = version
        self.result = result
        self.reason = reason
        self.generation = generation
        self.at = at
    }
}

/// Staged roll-out: whether `kioskId` is among the first `percent` % of kiosks for a bundle.
/// Stable for a bundle, and different bundles pick different kiosks first.
public enum ConfigStaging {
    public static func includes(kioskId: String, target: String, version: Int, percent: Int) -> Bool {
        if percent >= 100 { return true }
        if percent <= 0 { return false }
        var hash: UInt64 = 14_695_981_039_346_656_037
        for byte in "\(target)#\(version)#\(kioskId)".utf8 {
            hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211
        }
        return Int(hash % 100) < percent
    }
}
