import Foundation

/// Where kioskd keeps the keys that protect its state, apart from the state itself: shared by
/// kioskd, which makes and uses them, and diag, which checks them.
public enum StateKeys {
    /// The key files kept there: `outbox.key` (seals the outbox) and `audit.secret` (keys the audit log's hashes).
    public static let names = ["outbox.key", "audit.secret"]

    /// Where `yitiji-seal-keys` keeps the keys sealed as systemd credentials (`yitiji-<name>`).
    public static let credentialStore = URL(fileURLWithPath: "/etc/credstore.encrypted")

    /// The file kioskd reads key `name` from: the decrypted systemd credential when the service
    /// manager handed one over (`$CREDENTIALS_DIRECTORY/<name>`), else `<keys directory>/<name>`.
    public static func file(_ name: String, keysDirectory: URL,
                            environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let credentials = environment["CREDENTIALS_DIRECTORY"], !credentials.isEmpty {
            let sealed = URL(fileURLWithPath: credentials).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: sealed.path) { return sealed }
        }
        return keysDirectory.appendingPathComponent(name)
    }

    /// The default keys directory of a state directory: its path followed by `-keys`.
    public static func defaultDirectory(state: URL) -> URL {
        URL(fileURLWithPath: state.standardizedFileURL.path + "-keys")
    }
}
