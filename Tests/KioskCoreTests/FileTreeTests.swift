import Foundation
import KioskCore
import TestSupport
import Testing

/// Copies keep contents and permission bits and take the copier as owner; a copy never lands on
/// something that exists. (That an account other than root can copy root's files is proven where
/// it matters: kioskd --enrol as `yitiji` in `SystemdMachineTests`.)
@Suite struct FileTreeTests {
    @Test func aFolderIsCopiedWithItsModes() throws {
        let dir = try TemporaryDirectory(prefix: "tree")
        defer { dir.remove() }
        let fm = FileManager.default
        let source = dir.url.appendingPathComponent("source")
        try fm.createDirectory(at: source.appendingPathComponent("templates/empty"), withIntermediateDirectories: true)
        _ = fm.createFile(atPath: source.appendingPathComponent("kiosk.yaml").path, contents: Data("kiosk:\n".utf8), attributes: [.posixPermissions: 0o640])
        _ = fm.createFile(atPath: source.appendingPathComponent("templates/a.json").path, contents: Data("{}".utf8), attributes: [.posixPermissions: 0o644])
        try fm.setAttributes([.posixPermissions: 0o555], ofItemAtPath: source.appendingPathComponent("templates").path)
        let target = dir.url.appendingPathComponent("target")
        try FileTree.copy(source, to: target)
        #expect(fm.contents(atPath: target.appendingPathComponent("kiosk.yaml").path) == Data("kiosk:\n".utf8))
        #expect(fm.contents(atPath: target.appendingPathComponent("templates/a.json").path) == Data("{}".utf8))
        func mode(_ path: String) -> Int { (try? fm.attributesOfItem(atPath: target.appendingPathComponent(path).path))?[.posixPermissions] as? Int ?? -1 }
        #expect(mode("kiosk.yaml") == 0o640 && mode("templates/a.json") == 0o644)
        #expect(mode("templates") == 0o755, "a read-only source folder stays writable for its copier")
        #expect(fm.fileExists(atPath: target.appendingPathComponent("templates/empty").path))
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: source.appendingPathComponent("templates").path)
    }

    @Test func nothingIsCopiedOverWhatExistsOrFromWhatDoesNot() throws {
        let dir = try TemporaryDirectory(prefix: "tree")
        defer { dir.remove() }
        let file = dir.url.appendingPathComponent("a")
        _ = FileManager.default.createFile(atPath: file.path, contents: Data("old".utf8))
        #expect(throws: FileTreeError.self) { try FileTree.copy(file, to: file) }
        #expect(FileManager.default.contents(atPath: file.path) == Data("old".utf8))
        #expect(throws: FileTreeError.self) { try FileTree.copy(dir.url.appendingPathComponent("missing"), to: dir.url.appendingPathComponent("b")) }
    }
}
