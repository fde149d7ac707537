import Crypto
import Foundation

/// The trusted root (TUF-style): the keys the kiosk trusts and, per role, which keys and how many
/// signatures are needed. Roles: `root` (signs new root metadata; held offline) and `publisher`
/// (signs configuration bundles), and optionally `timestamp` (the registry's online key that signs
/// the feed's freshness statements). Kept in the kiosk's state, apart from the configuration it protects.
public struct RootMetadata: Codable, Sendable, Equatable {
    /// A public key the root lists.
    public struct Key: Codable, Sendable, Equatable {
        /// Always `ed25519`.
        public var scheme: String
        /// Base64 of the 32-byte raw public key.
        public var publicKey: String

        public init(scheme: String = "ed25519", publicKey: String) {
            self.scheme = scheme
            self.publicKey = publicKey
        }
    }

    /// Which keys may sign for a role, and how many must.
    public struct Role: Codable, Sendable, Equatable {
        public var keyids: [String]
        public var threshold: Int

        public init(keyids: [String], threshold: Int) {
            self.keyids = keyids
            self.threshold = threshold
        }
    }

    /// Increases by exactly one with every rotation.
    public var version: Int
    /// RFC 3339 time after which this root is no longer trusted for new bundles.
    public var expires: String
    public var keys: [String: Key]
    public var roles: [String: Role]

    public init(version: Int, expires: String, keys: [String: Key], roles: [String: Role]) {
        self.version = version
        self.expires = expires
        self.keys = keys
        self.roles = roles
    }

    /// The Ed25519 key for `keyid`, if listed and well formed.
    public func publicKey(_ keyid: String) -> Curve25519.Signing.PublicKey? {
        guard let entry = keys[keyid], entry.scheme == "ed25519",
              let raw = Data(base64Encoded: entry.publicKey) else { return nil }
        return try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
    }

    /// Checks the structure: key ids match their keys, both roles exist with reachable thresholds.
    public func validate() throws(BundleError) {
        guard version >= 1 else { throw .malformed("root version must be 1 or more") }
        guard ConfigDates.parse(expires) != nil else { throw .malformed("root expires '\(expires)' is not an RFC 3339 time") }
        for (keyid, key) in keys {
            guard let publicKey = publicKey(keyid) else {
                throw .malformed("root key \(keyid) is not a valid \(key.scheme) key")
            }
            guard KeyID.of(publicKey) == keyid else {
                throw .malformed("root key id \(keyid) does not match its key")
            }
        }
        for name in ["root", "publisher", FeedStatement.role] {
            guard let role = roles[name] else {
                if name == FeedStatement.role { continue }  // optional: without it, freshness is not checked
                throw .malformed("root has no '\(name)' role")
            }
            guard role.threshold >= 1, role.threshold <= Set(role.keyids).count,
                  role.keyids.allSatisfy({ keys[$0] != nil }) else {
                throw .malformed("role '\(name)' needs a threshold between 1 and the number of its listed keys")
            }
        }
    }

    /// Decodes and checks root metadata signed by its own root role (a first, pinned root).
    public static func trustOnFirstUse(_ envelope: SignedEnvelope) throws(BundleError) -> RootMetadata {
        let root = try decodeUnverified(envelope)
        _ = try envelope.verifiedPayload(type: SignedEnvelope.rootType, role: "root", root: root)
        return root
    }

    /// Verifies a rotation: `next` must be version + 1, signed by a threshold of this root's root
    /// keys and by a threshold of its own root keys, and not expired.
    public func rotate(to envelope: SignedEnvelope, now: Date) throws(BundleError) -> RootMetadata {
        do {
            _ = try envelope.verifiedPayload(type: SignedEnvelope.rootType, role: "root", root: self)
        } catch {
            throw .rootUpdate("not signed by the current root keys: \(error)")
        }
        let next = try Self.decodeUnverified(envelope)
        do {
            _ = try envelope.verifiedPayload(type: SignedEnvelope.rootType, role: "root", root: next)
        } catch {
            throw .rootUpdate("not signed by its own root keys: \(error)")
        }
        guard next.version == version + 1 else {
            throw .rootUpdate("version \(next.version) does not follow the trusted version \(version)")
        }
        if let expiry = ConfigDates.parse(next.expires), expiry <= now {
            throw .expired(expires: next.expires)
        }
        return next
    }

    static func decodeUnverified(_ envelope: SignedEnvelope) throws(BundleError) -> RootMetadata {
        guard envelope.payloadType == SignedEnvelope.rootType else {
            throw .malformed("payload type is '\(envelope.payloadType)', expected '\(SignedEnvelope.rootType)'")
        }
        guard let body = Data(base64Encoded: envelope.payload) else { throw .malformed("payload is not base64") }
        let root: RootMetadata
        do { root = try JSONDecoder().decode(RootMetadata.self, from: body) } catch {
            throw .malformed("root metadata: \(SignedEnvelope.describe(error))")
        }
        try root.validate()
        return root
    }
}

/// RFC 3339 times as configuration metadata writes them.
public enum ConfigDates {
    /// Parses `2027-01-31T00:00:00Z` (fractional seconds allowed).
    public static func parse(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        return try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// Formats a time as `2027-01-31T00:00:00Z`.
    public static func format(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}
