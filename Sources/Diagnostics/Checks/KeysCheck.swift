import Foundation
import KioskCore
import KioskConfig
import Printing

/// `keys`: the keys that protect the state live apart from it (mode 0700), the document signing
/// key is in place, and no demonstration key is trusted.
public struct KeysCheck: DiagnosticCheck {
    public let id = "keys"
    public let area = DiagnosticArea.keys

    public init() {}

    public func run(_ context: DiagnosticContext) async -> CheckResult {
        let fm = FileManager.default
        let state = context.environment.stateDirectory
        let keys = context.environment.keysDirectory
        var parts: [String] = []
        for name in StateKeys.names where fm.fileExists(atPath: state.appendingPathComponent(name).path) {
            return .fail(id, "\(state.appendingPathComponent(name).path) lies beside the data it protects",
                         action: "restart kioskd: it moves the key to \(keys.path) (mode 0700)")
        }
        var info = stat()
        if stat(keys.path, &info) == 0 {
            if info.st_mode & 0o077 != 0 {
                return .fail(id, "\(keys.path) may be entered by others (mode \(String(info.st_mode & 0o777, radix: 8)))",
                             action: "chmod 700 \(keys.path)")
            }
            let present = StateKeys.names.filter { fm.fileExists(atPath: keys.appendingPathComponent($0).path) }
            let sealed = StateKeys.names.filter {
                fm.fileExists(atPath: context.environment.credentialStore.appendingPathComponent("yitiji-\($0)").path)
            }
            if !present.isEmpty || sealed.isEmpty {
                parts.append("keys apart in \(keys.path) (0700): \(present.isEmpty ? "none yet" : present.joined(separator: ", "))")
            }
            if !sealed.isEmpty {
                parts.append("sealed as systemd credentials in \(context.environment.credentialStore.path): \(sealed.joined(separator: ", "))")
            }
            let both = Set(present).intersection(sealed)
            if !both.isEmpty {
                return .warn(id, parts.joined(separator: "; ") + "; plain copies remain beside the sealed ones: \(both.sorted().joined(separator: ", "))",
                             action: "run yitiji-seal-keys again: it removes the plain copies once the sealed ones open")
            }
        } else {
            parts.append("no keys directory yet (\(keys.path); kioskd makes it)")
        }
        let signingPath = state.appendingPathComponent("document-signing.key").path
        var signingPublic: String?
        if fm.fileExists(atPath: signingPath) {
            guard let key = try? DocumentSigningKey.load(path: signingPath) else {
                return .fail(id, "\(signingPath) is not a usable Ed25519 key", action: "restore the kiosk's key, or make a new one with kioskd --enrol (kioskd registers it at the registry)")
            }
            signingPublic = key.publicKeyBase64
            parts.append("document signing key present")
        } else {
            return .fail(id, "no document signing key at \(signingPath)",
                         action: "run kioskd --enrol as the kioskd account; kioskd registers the key at the registry when it starts")
        }
        let demo = DemoKeys.findings(configDirectory: context.environment.configDirectory, stateDirectory: state,
                                     documentSigningKeyPublic: signingPublic, documentSigningKeyPath: signingPath)
        if !demo.isEmpty {
            return .warn(id, parts.joined(separator: "; ") + "; demonstration keys trusted (a demo machine only): " + demo.joined(separator: "; "),
                         action: "on a real kiosk install the fleet's root.json and run kioskd --enrol (README: the keys of a real kiosk)")
        }
        return .ok(id, parts.joined(separator: "; "))
    }
}
