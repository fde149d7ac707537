import Foundation
import KioskConfig
import Printing

/// `printer.<role>`: the role's CUPS queue exists and accepts jobs; its state and reasons in
/// paper and toner words; the last job's outcome and jobs waiting, from CUPS's job history.
public struct PrinterCheck: DiagnosticCheck {
    public let role: String
    public var id: String { "printer.\(role)" }
    public let area = DiagnosticArea.printer

    public init(role: String) { self.role = role }

    /// A waiting job older than this means the queue is backed up.
    static let backedUpSeconds = 300.0

    /// The attributes `--verbose` shows.
    static let verboseAttributes = [
        "printer-state", "printer-state-reasons", "printer-state-message", "printer-is-accepting-jobs",
        "printer-make-and-model", "device-uri", "queued-job-count", "marker-names", "marker-levels",
        "media-ready", "printer-up-time",
    ]

    public func run(_ context: DiagnosticContext) async -> CheckResult {
        let queue = context.settings?.printers[role]?.queue ?? role
        let server = context.environment.cupsServer
        let verbose = context.environment.verbose
        let now = context.environment.now()
        let id = self.id
        let role = self.role
        return await Blocking.run {
            PrinterCheck.check(id: id, role: role, queue: queue, server: server, verbose: verbose, now: now)
        }
    }

    static func stateName(_ state: Int) -> String {
        switch state {
        case 3: return "idle"
        case 4: return "printing"
        case 5: return "stopped"
        default: return "state \(state)"
        }
    }

    static func jobStateName(_ state: Int) -> String {
        [3: "pending", 4: "held", 5: "processing", 6: "stopped", 7: "canceled", 8: "aborted", 9: "completed"][state] ?? "state \(state)"
    }

    static func check(id: String, role: String, queue: String, server: String?, verbose: Bool, now: Date) -> CheckResult {
        let client: CupsClient
        do { client = try CupsClient(server: server) } catch {
            return .fail(id, "\(role) printer: \(error)", action: "start CUPS: systemctl start cups; then `lpstat -t`")
        }
        let status: PrinterStatus
        do { status = try client.status(queue: queue) } catch {
            if case .noSuchQueue = error {
                return .fail(id, "\(role) printer: CUPS has no queue \(queue)",
                             action: "add it (`lpadmin -p \(queue) -E -v URI -m everywhere`) or set printers.\(role).queue in kiosk.yaml to an existing queue (`lpstat -p`)")
            }
            return .fail(id, "\(role) printer: \(error)", action: "check cupsd: systemctl status cups; `lpstat -t`")
        }
        var raw: [String] = []
        if verbose { raw = (try? client.printerAttributes(queue: queue, names: verboseAttributes)) ?? [] }

        var parts = ["queue \(queue) \(stateName(status.state))", status.accepting ? "accepting jobs" : "not accepting jobs"]
        if !status.reasons.isEmpty { parts.append("reasons: \(status.reasons.joined(separator: ", "))") }
        parts.append("paper \(paperWords(status.paper))")
        parts.append("toner \(tonerWords(status.toner))")
        if status.doorOpen { parts.append("door open") }
        if !status.message.isEmpty { parts.append("message: \(status.message)") }

        var warnings: [(String, String)] = []
        // A failed job must end where it failed: retried or held, it would come out later,
        // behind the citizen's back, perhaps into the next citizen's hands.
        if let policy = client.errorPolicy(queue: queue), policy != "abort-job" {
            parts.append("error policy \(policy)")
            warnings.append(("a failed job would not end where it failed (printer-error-policy \(policy))",
                             "lpadmin -p \(queue) -o printer-error-policy=abort-job"))
        }
        var jobs: [JobSummary] = []
        do { jobs = try client.jobs(queue: queue) } catch {
            raw.append("job history: \(error)")
        }
        let finished = jobs.filter(\.isFinal)
        if let last = finished.last {
            var text = "last job \(last.id) \(jobStateName(last.state))"
            if last.state != 9, !last.message.isEmpty { text += " (\(last.message))" }
            parts.append(text)
            if last.state != 9 {
                warnings.append(("the last job did not print", "print a test page: kioskctl printer test-page \(queue)"))
            }
        } else {
            parts.append("no finished job in CUPS's history")
        }
        let waiting = jobs.filter { !$0.isFinal }
        if !waiting.isEmpty {
            let oldest = waiting.compactMap(\.createdAt).min().map { now.timeIntervalSince1970 - Double($0) } ?? 0
            parts.append("\(waiting.count) job(s) waiting, oldest \(Durations.words(oldest))")
            if oldest > backedUpSeconds {
                warnings.append(("jobs are backed up", "find why the printer does not print (`lpstat -o \(queue)`); cancel stale jobs with `cancel -a \(queue)`"))
            }
        }
        for job in jobs.suffix(10) {
            raw.append("job \(job.id): \(jobStateName(job.state)) \(job.reasons.joined(separator: ","))\(job.message.isEmpty ? "" : " — \(job.message)")")
        }

        let detail = "\(role) printer: " + parts.joined(separator: "; ")
        if !status.isReady {
            return .fail(id, detail, action: status.technicianAction, verbose: raw)
        }
        if status.paper == .low {
            return .warn(id, detail, action: "load paper into \(queue) soon", verbose: raw)
        }
        if status.toner == .low {
            return .warn(id, detail, action: "have a toner cartridge for \(queue) ready", verbose: raw)
        }
        if let first = warnings.first {
            return .warn(id, detail, action: first.1, verbose: raw)
        }
        return .ok(id, detail, verbose: raw)
    }

    static func paperWords(_ paper: PrinterStatus.Paper) -> String {
        switch paper {
        case .ok: return "ok"
        case .low: return "low"
        case .out: return "out (no paper)"
        case .jammed: return "jammed"
        }
    }

    static func tonerWords(_ toner: PrinterStatus.Toner) -> String {
        switch toner {
        case .ok: return "ok"
        case .low: return "low"
        case .out: return "out"
        }
    }
}

/// Durations in a technician's words.
public enum Durations {
    /// `45 s`, `12 min`, `3 h 5 min`, `24 h`, `2 d 4 h`, `7 d` (a second unit only when not zero).
    public static func words(_ seconds: Double) -> String {
        let s = max(0, Int(seconds.rounded()))
        if s < 120 { return "\(s) s" }
        if s < 7200 { return "\(s / 60) min" }
        if s < 172_800 { return "\(s / 3600) h" + (s % 3600 / 60 > 0 ? " \(s % 3600 / 60) min" : "") }
        return "\(s / 86_400) d" + (s % 86_400 / 3600 > 0 ? " \(s % 86_400 / 3600) h" : "")
    }
}
