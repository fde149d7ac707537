import Foundation
import KioskCore

/// The site's configuration (`/etc/yitiji`) as a layer over the packaged defaults
/// (`/usr/share/yitiji/kiosk-config`): a file the site has wins, any other comes from the
/// defaults, so an upgrade's new defaults reach every file the site did not change.
public enum SiteLayer {
    /// Why the layers could not be merged.
    public struct MergeError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Whether `directory` holds a whole configuration on its own.
    public static func isComplete(_ directory: URL) -> Bool {
        KioskConfiguration.files.allSatisfy { FileManager.default.fileExists(atPath: directory.appendingPathComponent($0).path) }
            && FileManager.default.fileExists(atPath: directory.appendingPathComponent("templates").path)
    }

    /// `directory` itself when it is whole (or there are no defaults to fill it from); else the
    /// defaults with the site's files laid over them, written to `workDirectory/site-config`.
    public static func resolve(_ directory: URL, defaults: URL? = DataLocation.url(.defaultConfiguration),
                               workDirectory: URL) throws(MergeError) -> URL {
        guard !isComplete(directory), let defaults, isComplete(defaults),
              defaults.standardizedFileURL != directory.standardizedFileURL else { return directory }
        let fm = FileManager.default
        let target = workDirectory.appendingPathComponent("site-config")
        let staging = workDirectory.appendingPathComponent("site-config.new-\(getpid())")
        do {
            try fm.createDirectory(at: workDirectory, withIntermediateDirectories: true)
            try? fm.removeItem(at: staging)
            try FileTree.copy(defaults, to: staging)
            if let walker = fm.enumerator(atPath: directory.path) {
                for case let path as String in walker {
                    var isDirectory: ObjCBool = false
                    let source = directory.appendingPathComponent(path)
                    guard fm.fileExists(atPath: source.path, isDirectory: &isDirectory) else { continue }
                    let destination = staging.appendingPathComponent(path)
                    if isDirectory.boolValue {
                        try fm.createDirectory(at: destination, withIntermediateDirectories: true)
                    } else {
                        try? fm.removeItem(at: destination)
                        try FileTree.copy(source, to: destination)
                    }
                }
            }
            try? fm.removeItem(at: target)
            try fm.moveItem(at: staging, to: target)
        } catch {
            try? fm.removeItem(at: staging)
            let why = (error as? FileTreeError)?.description ?? error.localizedDescription
            throw MergeError(description: "cannot lay \(directory.path) over \(defaults.path) in \(workDirectory.path): \(why)")
        }
        return target
    }
}
