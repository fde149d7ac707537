import Crypto
import Foundation

/// What central operations do with their offline keys: make root metadata, sign it, and sign
/// configuration bundles built from a directory of configuration files.
public enum BundleSigning {
    /// Root metadata listing `rootKeys` (role `root`, `rootThreshold` needed) and `publisherKeys`
    /// (role `publisher`, `publisherThreshold` needed) and, if any, `timestampKeys` (role `timestamp`,
    /// one needed: the registry's online key for the feed's freshness statements).
    public static func rootMetadata(version: Int, expires: String,
                                    rootKeys: [Curve25519.Signing.PublicKey], rootThreshold: Int,
                                    publisherKeys: [Curve25519.Signing.PublicKey], publisherThreshold: Int,
                                    timestampKeys: [Curve25519.Signing.PublicKey] = []) -> RootMetadata {
        var keys: [String: RootMetadata.Key] = [:]
        for key in rootKeys + publisherKeys + timestampKeys {
            keys[KeyID.of(key)] = .init(publicKey: key.rawRepresentation.base64EncodedString())
        }
        var roles: [String: RootMetadata.Role] = [
            "root": .init(keyids: rootKeys.map(KeyID.of), threshold: rootThreshold),
            "publisher": .init(keyids: publisherKeys.map(KeyID.of), threshold: publisherThreshold),
        ]
        if !timestampKeys.isEmpty { roles[FeedStatement.role] = .init(keyids: timestampKeys.map(KeyID.of), threshold: 1) }
        return RootMetadata(version: version, expires: expires, keys: keys, roles: roles)
    }

    /// `root` signed by `signers`, as the envelope a kiosk installs.
    public static func signRoot(_ root: RootMetadata, by signers: [Curve25519.Signing.PrivateKey]) throws -> Data {
        var envelope = SignedEnvelope(payloadType: SignedEnvelope.rootType, payload: try JSONEncoder().encode(root))
        for key in signers { try envelope.sign(with: key) }
        return try JSONEncoder().encode(envelope)
    }

    /// A bundle of `files` (paths relative to the configuration directory) signed by `signers`.
    public static func signBundle(version: Int, expires: String, target: BundleTarget, files: [String: Data], note: String? = nil,
                                  by signers: [Curve25519.Signing.PrivateKey]) throws -> Data {
        let manifest = BundleManifest(version: version, expires: expires, target: target, files: files, note: note)
        var envelope = SignedEnvelope(payloadType: SignedEnvelope.configType, payload: try JSONEncoder().encode(manifest))
        for key in signers { try envelope.sign(with: key) }
        return try JSONEncoder().encode(envelope)
    }

    /// Every regular file under `directory`, by relative path.
    public static func files(in directory: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let base = directory.resolvingSymlinksInPath().path
        guard let walker = FileManager.default.enumerator(atPath: base) else {
            throw BundleError.malformed("cannot read the directory \(directory.path)")
        }
        for case let path as String in walker {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: base + "/" + path, isDirectory: &isDirectory), !isDirectory.boolValue {
                files[path] = try Data(contentsOf: URL(fileURLWithPath: base + "/" + path))
            }
        }
        return files
    }

    /// Loads an Ed25519 private key: base64 of the 32 raw bytes (as `kioskctl`/`registryd` write them).
    public static func loadPrivateKey(path: String) throws -> Curve25519.Signing.PrivateKey {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let raw = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw BundleError.malformed("\(path) is not a base64 Ed25519 private key")
        }
        do { return try Curve25519.Signing.PrivateKey(rawRepresentation: raw) } catch {
            throw BundleError.malformed("\(path) is not a 32-byte Ed25519 private key")
        }
    }
}
