import Foundation

/// Copies files as a service account that owns none of them must: contents and permission bits,
/// never owners. (`FileManager.copyItem` also copies the owner, which an account other than root
/// may not do: copying root's `/usr/share/yitiji` as `yitiji` fails with "Operation not permitted".)
public enum FileTree {
    /// Copies `source` (a file, or a directory with everything under it) to `destination`, which
    /// must not exist yet. Symbolic links are followed.
    public static func copy(_ source: URL, to destination: URL) throws(FileTreeError) {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: source.path, isDirectory: &isDirectory) else {
            throw .cannotCopy(source.path, "it does not exist")
        }
        let mode = ((try? fm.attributesOfItem(atPath: source.path))?[.posixPermissions] as? Int) ?? 0o644
        if isDirectory.boolValue {
            do {
                // The copier must be able to fill it, whatever the source's bits say.
                try fm.createDirectory(at: destination, withIntermediateDirectories: false, attributes: [.posixPermissions: mode | 0o700])
            } catch { throw .cannotCopy(destination.path, "cannot make the folder: \(error.localizedDescription)") }
            let entries: [String]
            do { entries = try fm.contentsOfDirectory(atPath: source.path) } catch {
                throw .cannotCopy(source.path, "cannot list it: \(error.localizedDescription)")
            }
            for entry in entries.sorted() {
                try copy(source.appendingPathComponent(entry), to: destination.appendingPathComponent(entry))
            }
        } else {
            let data: Data
            do { data = try Data(contentsOf: source) } catch { throw .cannotCopy(source.path, "cannot read it: \(error.localizedDescription)") }
            guard !fm.fileExists(atPath: destination.path),
                  fm.createFile(atPath: destination.path, contents: data, attributes: [.posixPermissions: mode & 0o777]) else {
                throw .cannotCopy(destination.path, "cannot write it (does it exist already, or is the disk full?)")
            }
        }
    }
}

/// A copy could not be made.
public enum FileTreeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The path that failed and why.
    case cannotCopy(String, String)

    public var description: String {
        switch self {
        case let .cannotCopy(path, why): return "cannot copy \(path): \(why)"
        }
    }
}
