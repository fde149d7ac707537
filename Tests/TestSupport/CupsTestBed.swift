import Foundation

/// A private cupsd with virtual `a4` and `receipt` printers (`scripts/testbeds/cups.sh`).
public final class CupsTestBed: @unchecked Sendable {
    public let directory: TemporaryDirectory
    /// CUPS_SERVER and friends for programs under test.
    public let environment: [String: String]
    private let script = BuiltProducts.repositoryPath("scripts/testbeds/cups.sh")
    private static let startLock = NSLock()

    /// Runs the script; see `ProcessRunner.runScript` for why not `Process`.
    private func run(_ arguments: [String]) throws -> ProcessResult {
        try CupsTestBed.run(script: script, arguments)
    }

    private static func run(script: String, _ arguments: [String]) throws -> ProcessResult {
        try ProcessRunner.runScript("/bin/bash", [script] + arguments, timeout: 120)
    }

    /// - Parameter preserveJobFiles: cupsd's PreserveJobFiles (the kiosk's No by default; CUPS's
    ///   own default keeps documents for 86400 s).
    public init(preserveJobFiles: String? = nil) throws {
        directory = try TemporaryDirectory(prefix: "cups")
        chmod(directory.path, 0o755)
        // cups.sh picks free ports and then binds them: two beds starting at once in this process
        // could pick the same port, and one bed's queue would reach the other bed's printer.
        CupsTestBed.startLock.lock()
        defer { CupsTestBed.startLock.unlock() }
        let script = BuiltProducts.repositoryPath("scripts/testbeds/cups.sh"), path = directory.path
        func start() throws -> ProcessResult {
            if let preserveJobFiles {
                return try ProcessRunner.runScript("/usr/bin/env", ["CUPS_TESTBED_PRESERVE_JOB_FILES=\(preserveJobFiles)", "/bin/bash", script, "start", path],
                                                   timeout: 120)
            }
            return try CupsTestBed.run(script: script, ["start", path])
        }
        var r = try start()
        if r.status != 0, (r.stderr + r.stdout).contains("Segmentation fault") {
            // Debian's cupsd 2.4 has been seen to crash while adding the queues; that is cupsd's
            // fault, not the code under test: once, the bed is taken down and started afresh.
            print("cups test bed: cupsd crashed while starting; starting again: \(r.stderr.suffix(400))")
            _ = try? CupsTestBed.run(script: script, ["stop", path])
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
                try? FileManager.default.removeItem(atPath: path + "/" + entry)
            }
            r = try start()
        }
        guard r.status == 0 else {
            throw ProcessRunnerError.launchFailed("cups.sh start", r.stderr + r.stdout)
        }
        environment = readEnvironmentFile(directory.path + "/env")
    }

    /// Applies a fault switch: media-empty, media-ok, fail-next-job, stop-printer, reject, ok, kill-printer, restart-printer.
    public func fault(_ queue: String, _ fault: String) throws {
        let r = try run(["fault", directory.path, queue, fault])
        guard r.status == 0 else {
            throw ProcessRunnerError.launchFailed("cups.sh fault \(queue) \(fault)", r.stderr + r.stdout)
        }
    }

    /// The files in cupsd's own spool (`d*` documents, `c*` job control files).
    public func cupsSpool() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path + "/cups/spool")) ?? [])
            .filter { $0.hasPrefix("d") || $0.hasPrefix("c") }.sorted()
    }

    /// The PDFs the virtual printer received for `queue`.
    public func printed(_ queue: String) -> [String] {
        let dir = directory.path + "/spool/" + queue
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
            .filter { $0.hasSuffix(".pdf") }.sorted().map { dir + "/" + $0 }
    }

    public func stop() {
        _ = try? run(["stop", directory.path])
        directory.remove()
    }
}

/// Text of a PDF, through pdftotext.
public func pdfText(_ path: String) -> String {
    (try? ProcessRunner.run("/usr/bin/pdftotext", ["-layout", path, "-"], timeout: 60).stdout) ?? ""
}

/// Page count of a PDF, through pdfinfo.
public func pdfPages(_ path: String) -> Int {
    let info = (try? ProcessRunner.run("/usr/bin/pdfinfo", [path], timeout: 60).stdout) ?? ""
    for line in info.split(separator: "\n") where line.hasPrefix("Pages:") {
        return Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces)) ?? 0
    }
    return 0
}
