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

    /// Starts the test bed for `model` (default the four-endpoint 0400:c35a), with `card` placed.
    public init(model: String = "0400:c35a", card: String? = nil) throws {
        directory = try TemporaryDirectory(prefix: "usbreader")
        let sim = BuiltProducts.path("yitiji-reader-sim")
        var simulator = "\(sim) --control \(directory.path)/sim"
        if let card { simulator += " --card \(card)" }
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [BuiltProducts.repositoryPath("scripts/testbeds/emulated-reader.py"),
                             "--model", model, "--state-dir", directory.path, "--simulator", simulator]
        let log = FileHandle(forWritingAtPath: "/dev/null")
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

    /// Sends a control line to the simulator (`place resident`, `remove`, `fault …`, `latency …`).
    public func control(_ line: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: controlPath))
        handle.write(Data((line + "\n").utf8))
        try handle.close()
    }

    /// Pulls the reader's cable.
    public func unplug() { bedControl("unplug") }

    /// Plugs it back in.
    public func plug() { bedControl("plug") }

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
