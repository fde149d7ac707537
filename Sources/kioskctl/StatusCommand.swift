import ArgumentParser
import Diagnostics
import Foundation
import KioskAPI
import KioskClient

/// `kioskctl status`: kioskd at a glance, as `systemctl status` shows a unit.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "kioskd at a glance: what it is doing, the reader, the printers, sessions, maintenance.",
        discussion: """
        Exit codes: 0 kioskd is running, 3 kioskd is not running (as systemctl status), 2 an answer
        that could not be read.

        Examples:
          kioskctl status
          kioskctl status --json
        """)

    @Flag(help: "JSON (kioskd's technician status) instead of text.") var json = false
    @OptionGroup var location: KioskLocationOptions

    func run() async throws {
        let environment = location.environment(verbose: false)
        let client = TechnicianClient(socketPath: environment.technicianSocket)
        let data: Data
        do { data = try await client.send(.GET, "/v1/status", timeoutSeconds: location.deadline) } catch {
            if error.meansNotRunning { throw CardOutput.fail("kioskd is not running (\(error)); start it: systemctl start kioskd", code: 3) }
            throw CardOutput.fail("\(error)", code: 2)
        }
        guard let status = try? JSONDecoder().decode(TechnicianStatus.self, from: data) else {
            throw CardOutput.fail("kioskd's status could not be read: it may be another version than kioskctl", code: 2)
        }
        if json {
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print(Self.text(status))
    }

    /// The overview, a few lines.
    static func text(_ s: TechnicianStatus) -> String {
        var lines = ["● kioskd \(s.kioskId) (site \(s.site)) · version \(s.version) · pid \(s.pid) · up \(Durations.words(Double(s.uptimeSeconds)))"]
        if let summary = s.summary { lines.append("  " + summary) }
        lines.append("  maintenance: " + (s.maintenance ? "on" + (s.maintenanceReason.map { " (\($0))" } ?? "") : "off"))
        lines.append("  reader:      " + (s.readerPresent ? "connected \(s.readerEndpoint ?? "")" + (s.samID.map { ", SAM \($0)" } ?? "") : "missing"))
        for printer in s.printers {
            lines.append("  printer \(printer.role): queue \(printer.queue), \(printer.device), paper \(printer.paper), toner \(printer.toner)"
                         + (printer.accepting ? "" : ", not accepting jobs"))
        }
        lines.append("  sessions:    \(s.sessionsStarted) started" + (s.sessionActive ? ", one active" : ""))
        if let version = s.configVersion { lines.append("  config:      " + version) }
        if let outbox = s.outbox {
            lines.append("  outbox:      \(outbox.depth) waiting" + (outbox.oldestAgeSeconds.map { ", oldest \(Durations.words($0))" } ?? "")
                         + ", \(outbox.deadLetters) dead letter\(outbox.deadLetters == 1 ? "" : "s")")
            lines.append("  heartbeat:   " + (s.lastHeartbeatAgeSeconds.map { "accepted \(Durations.words(Double($0))) ago" } ?? "none accepted yet"))
        }
        return lines.joined(separator: "\n")
    }
}

/// `kioskctl events`: follows kioskd's event stream.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Follow kioskd's events (reader, cards, sessions, prints, maintenance, configuration) until Ctrl-C.",
        discussion: """
        One line per event, with the time; never a citizen's name or number.
        Exit codes: 0 the stream ended, 3 kioskd is not running.

        Examples:
          kioskctl events
          kioskctl events --json | jq .
        """)

    @Flag(help: "One JSON object per line.") var json = false
    @OptionGroup var location: KioskLocationOptions

    func run() async throws {
        let environment = location.environment(verbose: false)
        if let problem = TechnicianClient(socketPath: environment.technicianSocket).probe(), problem.meansNotRunning {
            throw CardOutput.fail("kioskd is not running (\(problem)); start it: systemctl start kioskd", code: 3)
        }
        let client = CitizenSocketClient(socketPath: environment.technicianSocket)
        let formatter = ISO8601DateFormatter()
        for await event in client.events() {
            let time = formatter.string(from: Date())
            var line: String
            if json {
                let object = ["time": time, "event": Self.name(event), "detail": Self.detail(event)]
                guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { continue }
                line = String(decoding: data, as: UTF8.self)
            } else {
                line = "\(time)  \(Self.name(event))" + (Self.detail(event).isEmpty ? "" : "  \(Self.detail(event))")
            }
            line += "\n"
            // Unbuffered: a technician piping the stream sees each event as it happens.
            FileHandle.standardOutput.write(Data(line.utf8))
        }
        await client.shutdown()
    }

    static func name(_ event: KioskEvent) -> String {
        switch event {
        case .cardReading: return "card.reading"
        case .sessionStarted: return "session.started"
        case .cardUnreadable: return "card.unreadable"
        case .cardRemoved: return "card.removed"
        case .sessionWarning: return "session.warning"
        case .sessionEnded: return "session.ended"
        case .readerPresent(let present): return present ? "reader.connected" : "reader.missing"
        case .printProgress: return "print.progress"
        case .maintenance(let on, _): return on ? "maintenance.on" : "maintenance.off"
        case .configurationChanged: return "config.changed"
        }
    }

    /// What a technician may see: states and reasons, never who.
    static func detail(_ event: KioskEvent) -> String {
        switch event {
        case .cardUnreadable(let reason): return reason
        case .sessionWarning(let seconds): return "\(seconds) s left"
        case .sessionEnded(let reason): return reason.rawValue
        case .printProgress(let state): return state
        case .maintenance(_, let reason): return reason ?? ""
        default: return ""
        }
    }
}
