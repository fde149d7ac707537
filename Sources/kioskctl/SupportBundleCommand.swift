import ArgumentParser
import Diagnostics
import Foundation

struct SupportBundleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "support-bundle",
        abstract: "Write a tar.gz for support: versions, configuration without secrets, logs, diag, outbox figures.",
        discussion: """
        Holds no personal data: nothing of kioskd's state is copied but log files (ID numbers \
        masked) and the configuration history; private keys (*.key) and secret values in the \
        configuration are left out. The outbox appears as figures only.

        Exit codes: 0 written, 2 it could not be written.

        Examples:
          kioskctl support-bundle -o /tmp/kiosk-support.tar.gz
        """)

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Where to write the bundle (.tar.gz).", valueName: "file"))
    var output: String

    @OptionGroup var location: KioskLocationOptions
    @OptionGroup var jsonOutput: JSONOption

    func validate() throws {
        guard output.hasSuffix(".tar.gz") || output.hasSuffix(".tgz") else {
            throw ValidationError("-o must name a .tar.gz file, e.g. -o /tmp/kiosk-support.tar.gz")
        }
        let parent = URL(fileURLWithPath: output).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("the folder \(parent) does not exist")
        }
    }

    func run() async throws {
        jsonOutput.apply()
        let environment = location.environment(verbose: true)
        let report = await DiagnosticRunner(environment: environment).run()
        var figures: OutboxFigures?
        var note: String?
        if let provider = environment.outbox {
            do { figures = try await provider.outboxFigures() } catch { note = "outbox figures unavailable: \(error)" }
        } else {
            note = "outbox figures need kioskd, which is not running"
        }
        let daemonVersion = report.result("daemon").flatMap(DaemonCheck.version(in:))
        let bundle = SupportBundle(environment: environment, report: report, daemonVersion: daemonVersion)
        let url = URL(fileURLWithPath: output)
        do {
            let files = try bundle.write(to: url, outbox: figures, outboxNote: note)
            CardOutput.report("support bundle written: \(url.path) (\(files.count) files; diag exit \(report.exitCode))",
                              fields: ["path": url.path, "files": files.count, "diagExitCode": Int(report.exitCode)])
        } catch {
            throw CardOutput.fail("support bundle not written: \(error)", code: 2)
        }
    }
}
