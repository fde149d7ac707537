import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Makes what was written survive a power cut: file contents and directory entries are flushed
/// to the device (fsync) before anything that depends on them is used.
public enum DurableFiles {
    /// Flushes one file or directory. Throws when it cannot be opened or flushed.
    public static func sync(_ path: String) throws(DurabilityError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotSync(path, String(cString: strerror(errno))) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .cannotSync(path, String(cString: strerror(errno))) }
    }

    /// Flushes every file under `path`, then every directory bottom-up, then `path` itself.
    public static func syncTree(_ path: String) throws(DurabilityError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .cannotSync(path, "no such file or directory")
        }
        if isDirectory.boolValue {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            for entry in entries.sorted() { try syncTree(path + "/" + entry) }
        }
        try sync(path)
    }

    /// Writes `data` to `path` through a temporary file that is flushed, renamed over `path`,
    /// and whose directory is flushed: after a crash, `path` holds the old or the new bytes.
    public static func writeAtomically(_ data: Data, to path: String, mode: mode_t = 0o644) throws(DurabilityError) {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .cannotSync(temporary, String(cString: strerror(errno))) }
        let written = data.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                guard let base = raw.baseAddress else { return false }
                let n = write(fd, base + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; return false }
                offset += n
            }
            return true
        }
        let synced = written && fsync(fd) == 0
        close(fd)
        guard synced, rename(temporary, path) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(temporary)
            throw .cannotSync(path, why)
        }
        try sync((path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent)
    }
}

/// A file could not be made durable.
public enum DurabilityError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The path and the system's reason.
    case cannotSync(String, String)

    public var description: String {
        switch self {
        case let .cannotSync(path, why): return "could not write \(path) durably: \(why) (is the disk full or read-only?)"
        }
    }
}
