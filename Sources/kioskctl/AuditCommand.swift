import ArgumentParser
import Foundation
import KioskAPI

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Who did what and when: kioskd's audit log, newest last.",
        discussion: """
        Sessions, prints, submissions, technician operations (with the account the kernel reported \
        for the connection) and configuration changes. Card holders appear only as keyed hashes.
        Exit codes: 0 shown, 2 kioskd is not running or its answer could not be read, 64 invalid arguments.
        Examples:
          kioskctl audit
          kioskctl audit --limit 500 --json
          kioskctl audit --actor technician
        """)

    @OptionGroup var daemon: DaemonSocketOptions
    @Option(help: "How many of the newest entries to look at (1–10000); --actor filters among them.") var limit: Int = 50
    @Option(help: "Only this actor: citizen, technician, central or kioskd.") var actor: String?
    @Flag(help: "JSON instead of text.") var json = false

    func validate() throws {
        guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be 1 to 10000") }
        if let actor, !["citizen", "technician", "central", "kioskd"].contains(actor) {
            throw ValidationError("--actor must be citizen, technician, central or kioskd")
        }
    }

    func run() async throws {
        let entries = try await daemon.get("/v1/audit?limit=\(limit)", as: [AuditEntry].self).filter { actor == nil || $0.actor == actor }
        if json { return printJSON(entries) }
        if entries.isEmpty { print("no entries") }
        for e in entries {
            var line = "\(e.time)  \(e.actor.padding(toLength: 10, withPad: " ", startingAt: 0))  \(e.action)"
            if let by = e.by { line += "  by \(by)" }
            if let subject = e.subject { line += "  card holder \(subject)" }
            if !e.detail.isEmpty { line += "  \(e.detail)" }
            print(line)
        }
    }
}
