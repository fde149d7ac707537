import Foundation

/// Why a configuration bundle or trusted root was rejected. The running configuration is never
/// touched when any of these is thrown.
public enum BundleError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not a bundle envelope, or its manifest does not decode; says what.
    case malformed(String)
    /// Larger than a bundle may be.
    case tooLarge(bytes: Int, limit: Int)
    /// Signed by a key the trusted root does not name for the role.
    case unknownKey(keyid: String, role: String)
    /// A signature that does not verify: the bundle was altered or signed with another key.
    case badSignature(keyid: String)
    /// Fewer valid signatures than the role's threshold.
    case thresholdNotMet(role: String, valid: Int, needed: Int)
    /// Its expiry has passed.
    case expired(expires: String)
    /// Not newer than the highest version of its layer ever trusted here.
    case rollback(version: Int, current: Int, layer: String)
    /// Meant for another kiosk or site.
    case wrongTarget(target: String, kiosk: String, site: String)
    /// A file a bundle may not carry (a path outside the configuration, a key).
    case fileNotAllowed(path: String, why: String)
    /// A file whose content does not match the manifest's SHA-256.
    case hashMismatch(path: String)
    /// The configuration the bundle would make does not load.
    case invalidConfiguration(ConfigurationError)
    /// A new trusted root that cannot be accepted (not signed by the old and new root keys, not the next version, not in a fleet bundle).
    case rootUpdate(String)
    /// A feed statement that says nothing about the feed's freshness.
    case freshness(String)
    /// A rollback asked for while the embedded default configuration is in use.
    case nothingToRollBack
    /// A bundle arrived while the kiosk trusts no root yet: it cannot be verified.
    case noTrustedRoot

    public var description: String {
        switch self {
        case let .malformed(why): return "malformed bundle: \(why)"
        case let .tooLarge(bytes, limit): return "bundle is \(bytes) bytes, more than the \(limit) allowed"
        case let .unknownKey(keyid, role): return "signed by key \(keyid), which is not a trusted \(role) key"
        case let .badSignature(keyid): return "the signature by key \(keyid) does not verify: the bundle was altered or signed with another key"
        case let .thresholdNotMet(role, valid, needed): return "\(valid) valid \(role) signature(s), \(needed) needed"
        case let .expired(expires): return "expired at \(expires)"
        case let .rollback(version, current, layer): return "version \(version) of the \(layer) layer is not newer than the installed version \(current)"
        case let .wrongTarget(target, kiosk, site): return "meant for \(target), not for kiosk \(kiosk) at site \(site)"
        case let .fileNotAllowed(path, why): return "file '\(path)' is not allowed in a bundle: \(why)"
        case let .hashMismatch(path): return "file '\(path)' does not match its SHA-256 in the manifest"
        case let .invalidConfiguration(error): return "the resulting configuration is invalid: \(error)"
        case let .rootUpdate(why): return "trusted root update refused: \(why)"
        case let .freshness(why): return "feed statement refused: \(why)"
        case .nothingToRollBack: return "nothing to roll back: the embedded default configuration is in use"
        case .noTrustedRoot: return "no trusted root is installed: put the fleet's root.json in the configuration's keys directory (keys/root.json) first"
        }
    }
}
