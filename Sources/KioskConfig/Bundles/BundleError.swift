import Foundation

/// Why a configuration bundle or trusted root was rejected. The running configuration is never
/// touched when any of these is thrown.
public enum BundleError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(String)
    case tooLarge(bytes: Int, limit: Int)
    case unknownKey(keyid: String, role: String)
    case badSignature(keyid: String)
    case thresholdNotMet(role: String, valid: Int, needed: Int)
    case expired(expires: String)
    case rollback(version: Int, current: Int, layer: String)
    case wrongTarget(target: String, kiosk: String, site: String)
    case fileNotAllowed(path: String, why: String)
    case hashMismatch(path: String)
    case invalidConfiguration(ConfigurationError)
    case rootUpdate(String)
    /// A feed statement that says nothing about the feed's freshness.
    case freshness(String)

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
        }
    }
}
