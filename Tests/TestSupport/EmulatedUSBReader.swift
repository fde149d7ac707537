import Foundation

/// The emulated USB ID-card reader test bed: umockdev serves the USB side
/// (`scripts/testbeds/emulated-reader.py`) and `yitiji-reader-sim` the card side. Programs run
/// with `environment` use the real libusb code path against it.
public final class EmulatedUSBReader: @unchecked Sendable {
    public let directory: TemporaryDirectory
    public let process: Process
    /// UMOCKDEV_DIR and LD_PRELOAD for the program under test.
    public let environment: [String: String]
    /// The simulator's control FIFO.
    public var controlPath: String { directory.path + "/sim" }
    /// The simulator's status file (control lines applied, commands received).
    public var statusPath: String { directory.path + "/sim-status" }
    private let sentLock = NSLock()
    private var controlsSent = 0

    /// Starts the test bed for `model` (default the four-endpoint 0400:c35a), with `card` placed.
    public init(model: String = "0400:c35a", card: String? = nil) throws {
        directory = try TemporaryDirectory(prefix: "usbreader")
        let sim = BuiltProducts.path("yitiji-reader-sim")
        var simulator = "\(sim) --control \(directory.path)/sim --status \(directory.path)/sim-status"
        if let card { simulator += " --card \(card)" }
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [BuiltProducts.repositoryPath("scripts/testbeds/emulated-reader.py"),
                             "--model", model, "--state-dir", directory.path, "--simulator", simulator,
                             "--simulator-control", directory.path + "/sim"]
        // YITIJI_TESTBED_LOG=DIR keeps each emulator's verbose log there, to look into a failure.
        var log = FileHandle(forWritingAtPath: "/dev/null")
        if let logDirectory = ProcessInfo.processInfo.environment["YITIJI_TESTBED_LOG"] {
            let path = logDirectory + "/emulated-reader-\(model.replacingOccurrences(of: ":", with: "-"))-\(UUID().uuidString.prefix(8)).log"
            FileManager.default.createFile(atPath: path, contents: nil)
            log = FileHandle(forWritingAtPath: path)
            process.arguments?.append("--verbose")
        }
        process.standardOutput = log
        process.standardError = log
        try process.run()
        let ready = directory.path + "/ready"
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: ready) || !FileManager.default.fileExists(atPath: directory.path + "/sim") {
            guard process.isRunning, Date() < deadline else {
                kill(process.processIdentifier, SIGKILL)
                throw ProcessRunnerError.launchFailed("emulated-reader.py", "the emulated reader did not become ready")
            }
            usleep(20_000)
        }
        environment = readEnvironmentFile(directory.path + "/env")
    }

    /// Sends a control line to the simulator (`place resident`, `remove`, `fault …`, `latency …`)
    /// and returns once the simulator has applied it.
    public func control(_ line: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: controlPath))
        handle.write(Data((line + "\n").utf8))
        try handle.close()
        let sent = sentLock.withLock { controlsSent += 1; return controlsSent }
        guard wait({ self.simulatorStatus()["controls"] ?? 0 >= sent }) else {
            throw ProcessRunnerError.launchFailed("reader simulator", "control line '\(line)' was not applied within 10 s")
        }
    }

    /// The simulator's counters: `controls`, and commands received by kind (`find`, `select`, `read`, `other`).
    public func simulatorStatus() -> [String: Int] {
        let text = (try? String(contentsOfFile: statusPath, encoding: .utf8)) ?? ""
        var counts: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let n = Int(parts[1]) { counts[String(parts[0])] = n }
        }
        return counts
    }

    /// Waits until the simulator has received more than `count` commands of `kind` (e.g. the
    /// host's read is pending); false after 10 s.
    public func waitForCommand(_ kind: String, moreThan count: Int) -> Bool {
        wait { self.simulatorStatus()[kind] ?? 0 > count }
    }

    /// Pulls the reader's cable; returns once the device is gone and the simulated reader has
    /// lost its power (answers it had not sent are dropped).
    public func unplug() {
        let cycles = simulatorStatus()["power-cycles"] ?? 0
        bedControl("unplug")
        _ = wait { self.plugState().hasPrefix("unplugged") && self.simulatorStatus()["power-cycles"] ?? 0 > cycles }
    }

    /// Plugs it back in; returns once the device is on the bus again.
    public func plug() {
        bedControl("plug")
        _ = wait { self.plugState().hasPrefix("plugged") }
    }

    /// Locks the reader's USB side up, as a wedged controller or firmware would: transfers never
    /// complete and their cancellations never come back. `unplug()` then `plug()` ends it.
    public func wedge() {
        bedControl("wedge")
        _ = wait { self.plugState().contains("wedged") }
    }

    /// `plugged BUS DEV` (with ` wedged` while locked up) or `unplugged`, as the test bed reports it.
    public func plugState() -> String {
        (try? String(contentsOfFile: directory.path + "/state", encoding: .utf8)) ?? ""
    }

    private func wait(_ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if condition() { return true }
            usleep(5_000)
        }
        return condition()
    }

    /// Writes a line to the test bed's own control FIFO (signals may be blocked in a test runner's children).
    private func bedControl(_ line: String) {
        guard let handle = FileHandle(forWritingAtPath: directory.path + "/control") else { return }
        handle.write(Data((line + "\n").utf8))
        try? handle.close()
    }

    /// Stops the test bed and removes its files.
    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(5)
            while process.isRunning, Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        directory.remove()
    }
}
