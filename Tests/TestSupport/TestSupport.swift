import Foundation

/// Where the repository and the built executables are, seen from a running test.
public enum BuiltProducts {
    /// The repository root (the folder holding Package.swift).
    public static let repositoryRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }()

    /// The folder holding the built products of this test run (e.g. `.build/debug`).
    public static let directory: URL = {
        let argument0 = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = argument0.deletingLastPathComponent()
        // On Linux the test runner is `<dir>/YitijiPackageTests.xctest`; elsewhere it may be a bundle.
        while dir.pathComponents.count > 1,
              !FileManager.default.fileExists(atPath: dir.appendingPathComponent("kioskctl").path) {
            let parent = dir.deletingLastPathComponent()
            if parent == dir { break }
            dir = parent
        }
        return dir
    }()

    /// Absolute path of a built executable, e.g. `path("kioskctl")`.
    public static func path(_ product: String) -> String {
        directory.appendingPathComponent(product).path
    }

    /// Absolute path of a file in the repository, e.g. `repositoryPath("scripts/setup.sh")`.
    public static func repositoryPath(_ relative: String) -> String {
        repositoryRoot.appendingPathComponent(relative).path
    }
}

/// The outcome of a finished child process.
public struct ProcessResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
    /// True when the process was killed because it outlived its timeout.
    public let timedOut: Bool
}

/// Errors from running a child process.
public enum ProcessRunnerError: Error, CustomStringConvertible {
    case launchFailed(String, String)
    public var description: String {
        switch self {
        case let .launchFailed(path, why): return "could not start \(path): \(why)"
        }
    }
}

/// Runs a child process to completion with a deadline; output goes through files, so any size is fine.
public enum ProcessRunner {
    /// Runs `executable` with `arguments`, feeding `stdin`, killing it after `timeout` seconds.
    public static func run(
        _ executable: String,
        _ arguments: [String] = [],
        environment: [String: String]? = nil,
        stdin: Data? = nil,
        timeout: TimeInterval = 60
    ) throws -> ProcessResult {
        let dir = try TemporaryDirectory(prefix: "proc")
        defer { dir.remove() }
        let outURL = dir.url.appendingPathComponent("stdout")
        let errURL = dir.url.appendingPathComponent("stderr")
        let inURL = dir.url.appendingPathComponent("stdin")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: inURL.path, contents: stdin ?? Data())

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let outHandle = try FileHandle(forWritingTo: outURL)
        let errHandle = try FileHandle(forWritingTo: errURL)
        let inHandle = try FileHandle(forReadingFrom: inURL)
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = inHandle
        do { try process.run() } catch {
            throw ProcessRunnerError.launchFailed(executable, "\(error)")
        }
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        while process.isRunning {
            if Date() > deadline {
                timedOut = true
                kill(process.processIdentifier, SIGKILL)
                break
            }
            usleep(10_000)
        }
        process.waitUntilExit()
        try? outHandle.close(); try? errHandle.close(); try? inHandle.close()
        let out = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        return ProcessResult(status: process.terminationStatus, stdout: out, stderr: err, timedOut: timedOut)
    }
}

/// A fresh directory under the system's temporary folder, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let url: URL
    public var path: String { url.path }

    public init(prefix: String = "yitiji") throws {
        let base = URL(fileURLWithPath: NSTemporaryDirectory())
        url = base.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    public func remove() {
        try? FileManager.default.removeItem(at: url)
    }
}

/// A TCP port that was free a moment ago on loopback.
public func freeLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return Int.random(in: 20000...40000) }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) }
    }
    guard bound == 0 else { return Int.random(in: 20000...40000) }
    _ = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    return Int(UInt16(bigEndian: addr.sin_port))
}

extension ProcessRunner {
    /// Runs a program that leaves daemons behind (test-bed scripts): spawned with posix_spawn, an
    /// empty signal mask and default signal handlers, waited for with waitpid, so neither blocked
    /// signals nor descriptors the daemons inherit can hold the caller up.
    public static func runScript(_ executable: String, _ arguments: [String], timeout: TimeInterval = 120) throws -> ProcessResult {
        let dir = try TemporaryDirectory(prefix: "script")
        defer { dir.remove() }
        let out = dir.path + "/out", err = dir.path + "/err"
        let pid = try spawnWithCleanSignals(executable, arguments, environment: ProcessInfo.processInfo.environment,
                                            stdout: out, stderr: err, append: false)
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        var timedOut = false
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                timedOut = true
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                break
            }
            usleep(10_000)
        }
        let code: Int32 = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return ProcessResult(status: code, stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                             stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "", timedOut: timedOut)
    }
}

/// The variables a test bed's `env` file exports (`export NAME=value` lines, optionally quoted).
public func readEnvironmentFile(_ path: String) -> [String: String] {
    var env: [String: String] = [:]
    let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    for line in text.split(separator: "\n") {
        let body = line.hasPrefix("export ") ? line.dropFirst(7) : line[...]
        guard let eq = body.firstIndex(of: "=") else { continue }
        var value = String(body[body.index(after: eq)...])
        if value.hasPrefix("'"), value.hasSuffix("'"), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
        env[String(body[..<eq])] = value
    }
    return env
}

/// A small deterministic generator (SplitMix64) for fuzzing in tests: a failing input is the
/// same on every run.
public struct SplitMix: RandomNumberGenerator {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
