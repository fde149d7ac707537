import Foundation
import KioskCore

/// The real `kioskd` binary on sockets in a temporary directory, with a copy of the embedded
/// configuration (edited by `adjust`) and the demo document-signing key.
public final class KioskdTestBed: @unchecked Sendable {
    public let directory: TemporaryDirectory
    public let process: DaemonProcess
    public var configDirectory: String { directory.path + "/config" }
    public var stateDirectory: String { directory.path + "/state" }
    public var runtimeDirectory: String { directory.path + "/run" }
    public var citizenSocket: String { runtimeDirectory + "/citizen.sock" }
    public var technicianSocket: String { runtimeDirectory + "/technician.sock" }
    private let reportedHang = Locked(false)
    /// What `kioskd --enrol` printed, when the test bed enrolled a real (non-demo) kiosk.
    public private(set) var enrolment: String?

    /// - Parameters:
    ///   - environment: added to this process's (the emulated reader's, the CUPS test bed's).
    ///   - adjust: edits `kiosk.yaml`'s text before start (e.g. the registry URL).
    ///   - arguments: more kioskd options.
    ///   - stateFiles: files written into the state directory first (e.g. the kiosk's key).
    ///   - demo: start with `--demo` (the embedded configuration holds the demonstration keys).
    public init(environment: [String: String] = [:], adjust: (String) -> String = { $0 }, arguments: [String] = [],
                stateFiles: [String: Data] = [:], configFiles: [String: Data] = [:], directory: TemporaryDirectory? = nil,
                demo: Bool = true) throws {
        self.directory = try directory ?? TemporaryDirectory(prefix: "kioskd")
        let fm = FileManager.default
        let config = self.directory.path + "/config"
        if !fm.fileExists(atPath: config) {
            try fm.copyItem(atPath: BuiltProducts.repositoryPath("kiosk-config"), toPath: config)
            let kiosk = try String(contentsOfFile: config + "/kiosk.yaml", encoding: .utf8)
            try adjust(kiosk).write(toFile: config + "/kiosk.yaml", atomically: true, encoding: .utf8)
            if !demo {
                // A real kiosk: none of the demonstration keys.
                for name in ["keys/root.json", "keys/demo-documents.pub"] { try? fm.removeItem(atPath: config + "/" + name) }
            }
            for (name, data) in configFiles { try data.write(to: URL(fileURLWithPath: config + "/" + name)) }
        }
        let state = self.directory.path + "/state"
        try fm.createDirectory(atPath: state, withIntermediateDirectories: true)
        for (name, data) in stateFiles {
            guard fm.createFile(atPath: state + "/" + name, contents: data, attributes: [.posixPermissions: 0o600]) else {
                throw ProcessRunnerError.launchFailed("kioskd", "cannot write \(name) into the state directory")
            }
        }
        if !fm.fileExists(atPath: state + "/document-signing.key") {
            if demo {
                try fm.copyItem(atPath: BuiltProducts.repositoryPath("scripts/testbeds/demo-document-signing.key"),
                                toPath: state + "/document-signing.key")
            } else {
                // The documented path of a real kiosk: kioskd --enrol makes its own keys.
                let enrol = try ProcessRunner.run(BuiltProducts.path("kioskd"), ["--enrol", "--config", config, "--state", state], timeout: 60)
                guard enrol.status == 0 else { throw ProcessRunnerError.launchFailed("kioskd --enrol", enrol.stderr) }
                enrolment = enrol.stdout
            }
        }
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process = try DaemonProcess(BuiltProducts.path("kioskd"),
                                    ["--config", config, "--state", state, "--runtime", self.directory.path + "/run",
                                     "--log-level", "debug"] + (demo ? ["--demo"] : []) + arguments,
                                    environment: env, logPath: self.directory.path + "/kioskd.log")
        let technician = self.directory.path + "/run/technician.sock", citizen = self.directory.path + "/run/citizen.sock"
        guard eventually(20, { fm.fileExists(atPath: technician) && fm.fileExists(atPath: citizen) || !process.isRunning }),
              process.isRunning else {
            throw ProcessRunnerError.launchFailed("kioskd", process.log)
        }
    }

    /// Starts kioskd again on the same directories (after `stop` or a SIGKILL).
    ///   - configFiles: files written into the configuration copy (e.g. `keys/root.json`).
    public func restart(environment: [String: String] = [:], arguments: [String] = [], demo: Bool = true) throws -> KioskdTestBed {
        try KioskdTestBed(environment: environment, arguments: arguments, directory: directory, demo: demo)
    }

    /// `curl` on a socket: (HTTP status, body); status 0 when nothing answered.
    public func curl(_ socket: String, _ method: String, _ path: String, body: String? = nil) -> (Int, String) {
        var arguments = ["-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "20", "--unix-socket", socket, "-X", method]
        if let body { arguments += ["-H", "Content-Type: application/json", "--data-binary", body] }
        arguments.append("http://kioskd" + path)
        let result = try? ProcessRunner.run("/usr/bin/curl", arguments, timeout: 30)
        let parts = (result?.stdout ?? "").split(separator: "\n", omittingEmptySubsequences: false)
        let answer = (Int(parts.last ?? "") ?? 0, parts.dropLast().joined(separator: "\n"))
        if answer.0 == 0, result?.status == 28, process.isRunning, !reportedHang.withLock({ seen in let was = seen; seen = true; return was }) {
            // Running, yet silent for the whole timeout: say where it stands, once.
            FileHandle.standardError.write(Data(process.hangReport(reason: "did not answer \(method) \(path) within 20 s").utf8))
        }
        return answer
    }

    /// Stops kioskd with SIGTERM (graceful) and returns its wait status.
    @discardableResult
    public func stop() -> Int32 { process.stop() }

    /// Removes its files.
    public func remove() { directory.remove() }
}
