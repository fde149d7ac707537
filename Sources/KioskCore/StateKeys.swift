import Foundation

/// Where kioskd keeps the keys that protect its state, apart from the state itself: shared by
/// kioskd, which makes and uses them, and diag, which checks them.
public enum StateKeys {
    /// The key files kept there: `outbox.key` (seals the outbox) and `audit.secret` (keys the audit log's hashes).
    public static let names = ["outbox.key", "audit.secret"]

    /// The default keys directory of a state directory: its path followed by `-keys`.
    public static func defaultDirectory(state: URL) -> URL {
        URL(fileURLWithPath: state.standardizedFileURL.path + "-keys")
    }
}
