import Foundation

/// A Debian machine with systemd as its PID 1 (`scripts/testbeds/systemd-machine.sh`: a
/// systemd-nspawn container on a debootstrapped root, its changes in a tmpfs, loopback only).
public final class SystemdMachine: @unchecked Sendable {
    /// Where the prepared root is kept between runs (prepared again when its package list changes).
    public static let rootPath = "/var/tmp/yitiji-systemd-machine"
    static let script = BuiltProducts.repositoryPath("scripts/testbeds/systemd-machine.sh")

    /// Whether this machine can boot one: root, with systemd-nspawn and debootstrap installed.
    public static var isAvailable: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-nspawn")
            && FileManager.default.isExecutableFile(atPath: "/usr/sbin/debootstrap")
    }

    public let directory: TemporaryDirectory

    /// Prepares the root (once) and boots it; returns when systemd inside is up.
    public init() throws {
        let prepared = try ProcessRunner.run("/bin/bash", [Self.script, "prepare", Self.rootPath], timeout: 900)
        guard prepared.status == 0 else { throw ProcessRunnerError.launchFailed("systemd-machine prepare", prepared.stderr) }
        directory = try TemporaryDirectory(prefix: "machine")
        // The machine stays behind the script: waited for with runScript, which no descriptor of it holds up.
        let booted = try ProcessRunner.runScript("/bin/bash", [Self.script, "boot", Self.rootPath, directory.path], timeout: 120)
        guard booted.status == 0 else { throw ProcessRunnerError.launchFailed("systemd-machine boot", booted.stderr) }
    }

    /// Runs a command inside the machine.
    @discardableResult
    public func run(_ arguments: [String], timeout: TimeInterval = 60) throws -> ProcessResult {
        try ProcessRunner.run("/bin/bash", [Self.script, "run", directory.path] + arguments, timeout: timeout)
    }

    /// Runs a shell command line inside the machine.
    @discardableResult
    public func shell(_ line: String, timeout: TimeInterval = 60) throws -> ProcessResult {
        try run(["/bin/sh", "-c", line], timeout: timeout)
    }

    /// Copies files into the machine's /tmp/in.
    public func copy(_ files: [String]) throws {
        let copied = try ProcessRunner.run("/bin/bash", [Self.script, "copy", directory.path] + files, timeout: 120)
        guard copied.status == 0 else { throw ProcessRunnerError.launchFailed("systemd-machine copy", copied.stderr) }
    }

    /// Powers it off and removes the run folder.
    public func stop() {
        _ = try? ProcessRunner.run("/bin/bash", [Self.script, "stop", directory.path], timeout: 60)
        directory.remove()
    }
}
