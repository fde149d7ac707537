import Crypto
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
    /// Seconds over which the kiosks told at once spread their downloads (absent or 0: at once).
    /// Each kiosk waits `downloadDelay(kioskId:)`, its own share, so a publish to thousands of
    /// kiosks is not thousands of downloads in the same second.
    public var spreadSeconds: Int?

    public init(target: String, version: Int, id: String, sha256: String, size: Int, spreadSeconds: Int? = nil) {
        self.target = target
        self.version = version
        self.id = id
        self.sha256 = sha256
        self.size = size
        self.spreadSeconds = spreadSeconds
    }

    /// The longest spread a kiosk honours, whatever an answer says: a registry cannot hold a
    /// kiosk's update back longer than this.
    public static let maximumSpreadSeconds = 300

    /// How long `kioskId` waits before downloading this bundle: a point in `[0, spreadSeconds)`
    /// fixed by the kiosk ID and the bundle's hash (the same on every poll, different per kiosk
    /// and per bundle); zero without a spread.
    public func downloadDelay(kioskId: String) -> Duration {
        let spread = min(max(spreadSeconds ?? 0, 0), Self.maximumSpreadSeconds)
        guard spread > 0 else { return .zero }
        let digest = Array(SHA256.hash(data: Data("\(kioskId):\(sha256.lowercased())".utf8)))
        let value = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return .milliseconds(Int64(value % UInt64(spread * 1000)))
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
