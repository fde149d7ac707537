import Crypto
import Foundation

/// The registry's signed word that what it announces to one kiosk is current (TUF's timestamp
/// role): which bundles it announces, when it said so, and until when the word holds. Signed with
/// the online `timestamp` key the fleet root names, fresh with every answer of the configuration
/// feed. A kiosk that hears no fresh statement for longer than its window knows its feed is
/// frozen: cut off, or replayed by someone who hides newer bundles (a revoked key, a moved registry).
public struct FeedStatement: Codable, Sendable, Equatable {
    /// Payload type of a statement envelope.
    public static let payloadType = "application/vnd.yitiji.timestamp+json"
    /// The root role whose keys sign statements.
    public static let role = "timestamp"
    /// Largest statement envelope accepted.
    public static let maxBytes = 64 << 10

    /// The kiosk the statement was made for.
    public var kioskId: String
    /// RFC 3339 time the registry made it.
    public var issued: String
    /// RFC 3339 time after which it says nothing.
    public var expires: String
    /// Every announced bundle as `target@version#sha256`, sorted.
    public var bundles: [String]

    public init(kioskId: String, issued: Date, expires: Date, bundles: [String]) {
        self.kioskId = kioskId
        self.issued = ConfigDates.format(issued)
        self.expires = ConfigDates.format(expires)
        self.bundles = bundles.sorted()
    }

    /// One announced bundle as a statement lists it.
    public static func entry(target: String, version: Int, sha256: String) -> String {
        "\(target)@\(version)#\(sha256.lowercased())"
    }

    /// The statement signed by `key`, as envelope bytes.
    public func signed(by key: Curve25519.Signing.PrivateKey) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        var envelope = SignedEnvelope(payloadType: Self.payloadType, payload: try encoder.encode(self))
        try envelope.sign(with: key)
        return try JSONEncoder().encode(envelope)
    }

    /// Checks a statement received with the feed's answer and returns it with its issue time.
    ///
    /// Refused: bytes that are not a statement, signatures short of the root's `timestamp`
    /// threshold, a statement for another kiosk, one that has expired or was issued in the
    /// future, one older than the newest already accepted (`newestIssued`: a replay), and one
    /// whose bundle list differs from what the answer announces (mix and match).
    public static func verify(_ data: Data, root: RootMetadata, kioskId: String, announced: [String], now: Date,
                              newestIssued: Date?, allowedSkew: TimeInterval = 300) throws(BundleError) -> (FeedStatement, issued: Date) {
        guard root.roles[role] != nil else {
            throw .freshness("the trusted root names no timestamp key, so the feed's freshness cannot be checked")
        }
        let envelope = try SignedEnvelope.decode(data, limit: maxBytes)
        let body = try envelope.verifiedPayload(type: payloadType, role: role, root: root)
        let statement: FeedStatement
        do { statement = try JSONDecoder().decode(FeedStatement.self, from: body) } catch {
            throw .malformed("statement: \(SignedEnvelope.describe(error))")
        }
        guard statement.kioskId == kioskId else {
            throw .freshness("the statement was made for kiosk '\(statement.kioskId.prefix(64))', not for \(kioskId)")
        }
        guard let issued = ConfigDates.parse(statement.issued), let expires = ConfigDates.parse(statement.expires), issued < expires else {
            throw .malformed("statement times '\(statement.issued.prefix(40))' to '\(statement.expires.prefix(40))' are not an RFC 3339 interval")
        }
        guard expires > now else { throw .expired(expires: statement.expires) }
        guard issued <= now.addingTimeInterval(allowedSkew) else {
            throw .freshness("the statement was issued at \(statement.issued), in the future: the registry's or this kiosk's clock is wrong")
        }
        if let newestIssued, issued < newestIssued {
            throw .freshness("the statement of \(statement.issued) is older than one already accepted (\(ConfigDates.format(newestIssued))): an old answer replayed")
        }
        guard statement.bundles.sorted() == announced.sorted() else {
            throw .freshness("the statement lists other bundles than the answer announces: the answer was altered or mixed from two")
        }
        return (statement, issued)
    }
}

/// What the kiosk last heard from its feed, kept in `trust/freshness.json`.
public struct FeedFreshness: Codable, Sendable, Equatable {
    /// Issue time of the newest accepted statement (RFC 3339); nil before the first.
    public var issued: String?
    /// When this kiosk accepted it, by its own clock (RFC 3339).
    public var heard: String?
    /// Why the latest statement was refused, when it was; cleared by the next accepted one.
    public var lastRefusal: String?

    public init(issued: String? = nil, heard: String? = nil, lastRefusal: String? = nil) {
        self.issued = issued
        self.heard = heard
        self.lastRefusal = lastRefusal
    }

    /// Reads `trust/freshness.json` under a configuration store's root, without the store.
    public static func read(storeRoot: URL) -> FeedFreshness? {
        guard let data = try? Data(contentsOf: storeRoot.appendingPathComponent(ConfigStore.freshnessFile)) else { return nil }
        return try? JSONDecoder().decode(FeedFreshness.self, from: data)
    }
}

/// Whether the configuration feed is fresh, one vocabulary for `diag` and the metrics.
public enum FeedFreezeStatus: Sendable, Equatable {
    /// The trusted root names no timestamp key: freshness is not checked.
    case unprotected
    /// No statement accepted yet; `waiting` seconds since the root was trusted.
    case neverHeard(waiting: TimeInterval, frozen: Bool)
    /// The newest accepted statement was heard `age` seconds ago.
    case heard(age: TimeInterval, frozen: Bool)

    /// Seconds a kiosk waits without a fresh statement before it calls its feed frozen.
    public static let defaultWindow: TimeInterval = 86_400

    /// Whether the feed counts as frozen.
    public var isFrozen: Bool {
        switch self {
        case .unprotected: return false
        case let .neverHeard(_, frozen), let .heard(_, frozen): return frozen
        }
    }

    /// The status from what the configuration store holds, at `now`. `rootTrustedSince` is when
    /// the root was installed: a kiosk that never heard a statement is frozen once that is longer
    /// ago than `window`.
    public static func evaluate(root: RootMetadata?, rootTrustedSince: Date?, freshness: FeedFreshness?, window: TimeInterval,
                                now: Date) -> FeedFreezeStatus {
        guard let root, root.roles[FeedStatement.role] != nil else { return .unprotected }
        if let text = freshness?.heard, let heard = ConfigDates.parse(text) {
            let age = max(0, now.timeIntervalSince(heard))
            return .heard(age: age, frozen: age > window)
        }
        let waiting = max(0, now.timeIntervalSince(rootTrustedSince ?? now))
        return .neverHeard(waiting: waiting, frozen: waiting > window)
    }
}
