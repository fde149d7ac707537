import Foundation
import KioskCore

/// Every print request by its id, so that a retried request is the same job and a print whose
/// outcome is unknown is kept for staff instead of being printed again. Holds no personal data
/// (kind, queue, job id, outcome, times), persisted as a JSON file written atomically.
public actor PrintLedger {
    public enum State: String, Codable, Sendable {
        /// Recorded before submission; a ledger that finds this after a restart does not know
        /// whether CUPS got the job, so it becomes uncertain.
        case submitting
        case submitted
        case completed
        case failed
        case uncertain
        /// Staff confirmed what happened to an uncertain print.
        case resolved
    }

    public struct Entry: Codable, Sendable, Equatable {
        public var requestID: String
        public var kind: String
        public var queue: String
        public var jobID: Int?
        public var state: State
        public var detail: String
        public var citizenMessage: String?
        public var updatedAt: Date
    }

    private var entries: [String: Entry] = [:]
    private let path: String?

    /// Opens the ledger at `path` (nil: in memory only). Requests found still submitting or
    /// submitted are from a run that stopped mid-print: they become uncertain.
    public init(path: String?) {
        self.path = path
        var loaded: [String: Entry] = [:]
        if let path, let data = FileManager.default.contents(atPath: path) {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            if let list = try? decoder.decode([Entry].self, from: data) {
                for var e in list {
                    if e.state == .submitting || e.state == .submitted {
                        e.state = .uncertain
                        e.detail = "the kiosk stopped while this print was in progress" + (e.jobID.map { " (job \($0))" } ?? "")
                    }
                    loaded[e.requestID] = e
                }
            }
        }
        entries = loaded
    }

    public func entry(_ requestID: String) -> Entry? { entries[requestID] }

    /// Prints staff must look at.
    public func uncertain() -> [Entry] {
        entries.values.filter { $0.state == .uncertain }.sorted { $0.updatedAt < $1.updatedAt }
    }

    func update(_ entry: Entry) {
        entries[entry.requestID] = entry
        save()
    }

    /// Records `entry` unless its request is known: one step, so two concurrent prints of one
    /// request cannot both find it new. Returns the entry already there, or nil when recorded.
    func claim(_ entry: Entry) -> Entry? {
        if let existing = entries[entry.requestID] { return existing }
        update(entry)
        return nil
    }

    /// Staff say what happened to an uncertain print.
    public func resolve(_ requestID: String, printed: Bool) -> Bool {
        guard var e = entries[requestID], e.state == .uncertain else { return false }
        e.state = .resolved
        e.detail += printed ? "; staff confirmed it printed" : "; staff confirmed it did not print"
        e.updatedAt = Date()
        update(e)
        return true
    }

    private func save() {
        guard let path else { return }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        // Keep a bounded history: finished entries older than 7 days go.
        let cutoff = Date().addingTimeInterval(-7 * 86_400)
        let kept = entries.values.filter { $0.updatedAt > cutoff || $0.state == .uncertain }.sorted { $0.updatedAt < $1.updatedAt }
        guard let data = try? encoder.encode(kept) else { return }
        let tmp = path + ".tmp"
        if FileManager.default.createFile(atPath: tmp, contents: data) {
            if let h = FileHandle(forWritingAtPath: tmp) { fsync(h.fileDescriptor); try? h.close() }
            rename(tmp, path)
        }
    }
}

/// Prints with the ledger: one job per request id, outcomes recorded, uncertain prints kept, and
/// each job purged from cupsd's spool once its outcome is recorded.
public struct LedgerPrinter: Sendable {
    public let ledger: PrintLedger
    public let runner: PrintJobRunner

    public init(ledger: PrintLedger, runner: PrintJobRunner) {
        self.ledger = ledger
        self.runner = runner
    }

    static func outcome(of e: PrintLedger.Entry) -> PrintOutcome? {
        switch e.state {
        case .completed: return .completed(jobID: e.jobID ?? 0)
        case .failed: return .failed(jobID: e.jobID, citizenMessage: e.citizenMessage ?? "打印失败，请联系工作人员", detail: e.detail)
        case .uncertain, .resolved: return .uncertain(jobID: e.jobID ?? 0, detail: e.detail)
        case .submitting, .submitted: return nil
        }
    }

    /// Prints `pdf` for `requestID`. A request already finished returns its recorded outcome
    /// without a new job; one already submitted is followed, not submitted again.
    public func print(requestID: String, kind: String, queue: String, pdf: Data, title: String,
                      options: PrintOptions, timeoutSeconds: Double) async -> PrintOutcome {
        var entry = PrintLedger.Entry(requestID: requestID, kind: kind, queue: queue, jobID: nil, state: .submitting,
                                      detail: "", citizenMessage: nil, updatedAt: Date())
        if var existing = await ledger.claim(entry) {
            // The same request in flight here (submitting or followed by the caller that made its
            // job): wait for that caller's outcome rather than make or follow a second job. Entries
            // left in flight by a stopped kiosk became uncertain when the ledger was opened.
            let deadline = Date().addingTimeInterval(timeoutSeconds + 5)
            while LedgerPrinter.outcome(of: existing) == nil, Date() < deadline {
                try? await Task.sleep(for: .milliseconds(50))
                existing = await ledger.entry(requestID) ?? existing
            }
            if let outcome = LedgerPrinter.outcome(of: existing) { return outcome }
            return .uncertain(jobID: existing.jobID ?? 0, detail: "the same request is still being printed (job \(existing.jobID ?? 0))")
        }
        let jobID: Int
        let runner = self.runner
        switch await runBlocking({ runner.submit(queue: queue, pdf: pdf, title: title, options: options) }) {
        case .success(let id): jobID = id
        case .failure(let refused):
            await record(entry, refused.outcome)
            return refused.outcome
        }
        entry.jobID = jobID
        entry.state = .submitted
        entry.updatedAt = Date()
        await ledger.update(entry)
        let outcome = await runBlocking { runner.follow(queue: queue, jobID: jobID, timeoutSeconds: timeoutSeconds) }
        await record(entry, outcome)
        return outcome
    }

    private func record(_ base: PrintLedger.Entry, _ outcome: PrintOutcome) async {
        var e = base
        e.updatedAt = Date()
        switch outcome {
        case .completed(let id):
            e.state = .completed
            e.jobID = id
            e.detail = "completed"
        case let .failed(id, citizen, detail):
            e.state = .failed
            e.jobID = id ?? e.jobID
            e.citizenMessage = citizen
            e.detail = detail
        case let .uncertain(id, detail):
            e.state = .uncertain
            e.jobID = id
            e.detail = detail
        }
        await ledger.update(e)
        // The outcome is known and kept here: the document leaves cupsd's spool (and its history),
        // whatever cupsd's PreserveJobFiles says. The ledger holds no personal data.
        if let jobID = e.jobID, jobID > 0 {
            let client = runner.client, queue = e.queue
            _ = await runBlocking { client.purge(queue: queue, jobID: jobID) }
        }
    }
}
