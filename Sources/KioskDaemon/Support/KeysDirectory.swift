import Foundation
import KioskCore

/// The directory of the keys that protect kioskd's state (`outbox.key`, `audit.secret`), kept
/// apart from the state so that a copy of the state directory alone reads nothing.
public enum KeysDirectory {
    /// Creates `directory` (mode 0700) if missing, refuses one that others may enter, and moves
    /// key files an older kioskd left in `legacyStateDirectory` into it. Returns `directory`.
    public static func prepare(_ directory: URL, legacyStateDirectory: URL) throws -> URL {
        let fm = FileManager.default
        let path = directory.path
        if !fm.fileExists(atPath: path) {
            do { try fm.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) } catch {
                throw DaemonError.stateNotWritable(path)
            }
        }
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { throw DaemonError.stateNotWritable(path) }
        guard info.st_mode & 0o077 == 0 else {
            throw DaemonError.key("\(path) may be entered by others (mode \(String(info.st_mode & 0o777, radix: 8))); run chmod 700 on it")
        }
        guard directory.standardizedFileURL.path != legacyStateDirectory.standardizedFileURL.path else {
            throw DaemonError.key("the keys directory \(path) is the state directory: keep the keys apart (--keys)")
        }
        for name in StateKeys.names {
            let old = legacyStateDirectory.appendingPathComponent(name).path, new = directory.appendingPathComponent(name).path
            guard fm.fileExists(atPath: old), !fm.fileExists(atPath: new) else { continue }
            if rename(old, new) != 0 {
                // Another file system: copy, flush, then remove the old one.
                guard let data = fm.contents(atPath: old), fm.createFile(atPath: new, contents: data, attributes: [.posixPermissions: 0o600]) else {
                    throw DaemonError.stateNotWritable(new)
                }
                if let handle = FileHandle(forWritingAtPath: new) { try? handle.synchronize(); try? handle.close() }
                unlink(old)
            }
        }
        return directory
    }
}
