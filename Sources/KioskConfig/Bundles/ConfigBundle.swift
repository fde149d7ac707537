import Crypto
import Foundation
import KioskCore

/// Who a configuration layer is for. Layers apply in order fleet → site → kiosk, each file of a
/// later layer replacing the same file of an earlier one.
public struct BundleTarget: Codable, Sendable, Hashable, CustomStringConvertible {
    /// `fleet`, `site` or `kiosk`.
    public enum Scope: String, Codable, Sendable, CaseIterable, Comparable {
        case fleet, site, kiosk
        /// Application order: fleet first, kiosk last.
        public var rank: Int {
            switch self {
            case .fleet: return 0
            case .site: return 1
            case .kiosk: return 2
            }
        }

        public static func < (a: Scope, b: Scope) -> Bool { a.rank < b.rank }
    }

    public var scope: Scope
    /// The site or kiosk id; nil for the fleet.
    public var id: String?

    public init(scope: Scope, id: String? = nil) {
        self.scope = scope
        self.id = id
    }

    /// Parses `fleet`, `site:ID` or `kiosk:ID`.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard let scope = parts.first.flatMap(Scope.init(rawValue:)) else { return nil }
        if scope == .fleet {
            guard parts.count == 1 else { return nil }
            self.init(scope: .fleet)
        } else {
            guard parts.count == 2, !parts[1].isEmpty else { return nil }
            self.init(scope: scope, id: parts[1])
        }
    }

    public var description: String { id.map { "\(scope.rawValue):\($0)" } ?? scope.rawValue }

    /// Whether a kiosk with this id at this site takes the layer.
    public func applies(toKiosk kiosk: String, site: String) -> Bool {
        switch scope {
        case .fleet: return true
        case .site: return id == site
        case .kiosk: return id == kiosk
        }
    }
}

/// The signed payload of a configuration bundle: a version, an expiry, a target, and the files.
public struct BundleManifest: Codable, Sendable, Equatable {
    /// One file: its contents and their SHA-256.
    public struct File: Codable, Sendable, Equatable {
        /// Base64 of the contents.
        public var contents: String
        /// Hex SHA-256 of the contents.
        public var sha256: String

        public init(contents: Data) {
            self.contents = contents.base64EncodedString()
            self.sha256 = SHA256.hash(data: contents).hexString
        }
    }

    /// Must increase with every bundle for the same target.
    public var version: Int
    /// RFC 3339 time after which the bundle is refused.
    public var expires: String
    public var target: BundleTarget
    /// Files by path relative to the configuration directory, e.g. `kiosk.yaml`, `templates/receipt.json`.
    public var files: [String: File]
    /// Free text for operators, e.g. what changed.
    public var note: String?

    public init(version: Int, expires: String, target: BundleTarget, files: [String: Data], note: String? = nil) {
        self.version = version
        self.expires = expires
        self.target = target
        self.files = files.mapValues(File.init(contents:))
        self.note = note
    }

    /// Top-level files and folders a bundle may carry.
    public static let allowedTopLevel: Set<String> = [
        "kiosk.yaml", "services.yaml", "evaluation.yaml", "texts.yaml", "templates", "keys",
    ]

    /// Checks every path and hash; returns the decoded file contents.
    public func checkedFiles() throws(BundleError) -> [String: Data] {
        var result: [String: Data] = [:]
        for (path, file) in files {
            let parts = path.split(separator: "/", omittingEmptySubsequences: false)
            guard !path.isEmpty, !path.hasPrefix("/"), parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else {
                throw .fileNotAllowed(path: path, why: "paths must be relative, without '.' or '..'")
            }
            guard let top = parts.first, Self.allowedTopLevel.contains(String(top)),
                  (parts.count == 1) == !["templates", "keys"].contains(String(top)) else {
                throw .fileNotAllowed(path: path, why: "only \(Self.allowedTopLevel.sorted().joined(separator: ", ")) may be configured")
            }
            // Public keys, and a new root (keys/root.json, trusted only as a verified rotation).
            if top == "keys", !path.hasSuffix(".pub"), path != "keys/root.json" {
                throw .fileNotAllowed(path: path, why: "only public keys (*.pub) and a new root (keys/root.json) may travel in a bundle")
            }
            guard let data = Data(base64Encoded: file.contents) else {
                throw .malformed("file '\(path)' is not base64")
            }
            guard File(contents: data).sha256 == file.sha256.lowercased() else { throw .hashMismatch(path: path) }
            result[path] = data
        }
        return result
    }
}

/// A bundle whose signatures, version, expiry, target and files have all been checked.
public struct VerifiedBundle: Sendable, Equatable {
    public var manifest: BundleManifest
    public var files: [String: Data]
    /// The envelope as received, kept to show provenance.
    public var envelope: SignedEnvelope
}

/// Verifies configuration bundles against the trusted root.
public struct BundleVerifier: Sendable {
    public var root: RootMetadata
    public var kioskId: String
    public var site: String

    public init(root: RootMetadata, kioskId: String, site: String) {
        self.root = root
        self.kioskId = kioskId
        self.site = site
    }

    /// Verifies `data` (a signed envelope) for this kiosk.
    /// - Parameter installedVersions: the version installed for each target, for rollback protection.
    public func verify(_ data: Data, installedVersions: [BundleTarget: Int], now: Date) throws(BundleError) -> VerifiedBundle {
        let envelope = try SignedEnvelope.decode(data)
        if let rootExpiry = ConfigDates.parse(root.expires), rootExpiry <= now {
            throw .expired(expires: "\(root.expires) (the trusted root; rotate it)")
        }
        let body = try envelope.verifiedPayload(type: SignedEnvelope.configType, role: "publisher", root: root)
        let manifest: BundleManifest
        do { manifest = try JSONDecoder().decode(BundleManifest.self, from: body) } catch {
            throw .malformed("manifest: \(SignedEnvelope.describe(error))")
        }
        guard let expiry = ConfigDates.parse(manifest.expires) else {
            throw .malformed("expires '\(manifest.expires)' is not an RFC 3339 time")
        }
        guard expiry > now else { throw .expired(expires: manifest.expires) }
        guard manifest.target.applies(toKiosk: kioskId, site: site) else {
            throw .wrongTarget(target: manifest.target.description, kiosk: kioskId, site: site)
        }
        let installed = installedVersions[manifest.target] ?? 0
        guard manifest.version > installed else {
            throw .rollback(version: manifest.version, current: installed, layer: manifest.target.description)
        }
        return VerifiedBundle(manifest: manifest, files: try manifest.checkedFiles(), envelope: envelope)
    }
}
