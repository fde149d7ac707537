import Foundation
import KioskAPI

/// Line differences between two configuration directories.
public enum ConfigDiff {
    /// Files under `old` and `new` that differ, with their changed lines (`-` removed, `+` added).
    public static func between(_ old: URL, _ new: URL) -> [ConfigFileDiff] {
        let oldFiles = files(under: old), newFiles = files(under: new)
        var diffs: [ConfigFileDiff] = []
        for path in Set(oldFiles.keys).union(newFiles.keys).sorted() {
            switch (oldFiles[path], newFiles[path]) {
            case (nil, let added?): diffs.append(.init(path: path, change: "added", lines: lines(added).map { "+" + $0 }))
            case (let removed?, nil): diffs.append(.init(path: path, change: "removed", lines: lines(removed).map { "-" + $0 }))
            case (let before?, let after?) where before != after:
                let difference = lines(after).difference(from: lines(before))
                var out: [String] = []
                for change in difference {
                    switch change {
                    case .remove(_, let line, _): out.append("-" + line)
                    case .insert(_, let line, _): out.append("+" + line)
                    }
                }
                diffs.append(.init(path: path, change: "changed", lines: out))
            default: break
            }
        }
        return diffs
    }

    static func lines(_ data: Data) -> [String] {
        String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    /// Configuration files by relative path (bookkeeping files of generations left out).
    static func files(under root: URL) -> [String: Data] {
        var result: [String: Data] = [:]
        let base = root.resolvingSymlinksInPath().path
        guard let walker = FileManager.default.enumerator(atPath: base) else { return result }
        for case let path as String in walker where !path.hasPrefix("layers/") && path != "generation.json" {
            var isDirectory: ObjCBool = false
            let full = base + "/" + path
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue,
               let data = FileManager.default.contents(atPath: full) {
                result[path] = data
            }
        }
        return result
    }
}
