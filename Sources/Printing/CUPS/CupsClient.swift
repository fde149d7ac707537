import CCups
import Foundation
import KioskCore

/// Why a CUPS operation failed.
public enum PrintingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// cupsd does not answer at the address.
    case serverUnreachable(String)
    /// cupsd has no printer queue of that name.
    case noSuchQueue(String)
    /// cupsd refused the operation (which operation, and the IPP status message).
    case refused(String, String)
    /// Any other IPP failure, with its message.
    case ipp(String)

    public var description: String {
        switch self {
        case .serverUnreachable(let server): return "cannot reach the CUPS server \(server): is cupsd running? (CUPS_SERVER)"
        case .noSuchQueue(let queue): return "no CUPS queue named \(queue): `kioskctl printer list` shows the queues"
        case let .refused(queue, why): return "\(queue) refused the job: \(why)"
        case .ipp(let why): return "CUPS: \(why)"
        }
    }
}

/// Job options for a printer role.
public struct PrintOptions: Sendable, Equatable {
    public var media: String?
    public var sides: String?
    public var copies: Int
    /// draft | normal | high
    public var quality: String?

    public init(media: String? = nil, sides: String? = nil, copies: Int = 1, quality: String? = nil) {
        self.media = media
        self.sides = sides
        self.copies = copies
        self.quality = quality
    }
}

/// A job's state as IPP reports it.
public struct JobState: Sendable, Equatable {
    /// 3 pending, 4 held, 5 processing, 6 stopped, 7 canceled, 8 aborted, 9 completed.
    public var state: Int
    public var reasons: [String]
    public var message: String
    public var isFinal: Bool { state >= 7 }
}

/// A connection to CUPS (the server `CUPS_SERVER` names, else the default), with the 2.4
/// destination API for submission and IPP for job and printer state. Blocking; one thread at a time.
// Unchecked: the connection is a raw CUPS pointer; every call on it holds `lock`.
public final class CupsClient: @unchecked Sendable {
    private let http: OpaquePointer
    public let server: String
    /// Serialises calls on the connection.
    private let lock = Locked(())

    public init(server: String? = nil) throws(PrintingError) {
        let host = server ?? String(cString: cupsServer())
        self.server = host
        guard let http = httpConnect2(host, ippPort(), nil, AF_UNSPEC, HTTP_ENCRYPTION_IF_REQUESTED, 1, 5000, nil) else {
            throw .serverUnreachable(host)
        }
        self.http = http
    }

    deinit { httpClose(http) }

    private static var lastError: String { String(cString: cupsLastErrorString()) }

    /// The queues CUPS knows.
    public func queues() -> [String] {
        lock.withLock { _ in
            var dests: UnsafeMutablePointer<cups_dest_t>?
            let count = cupsGetDests2(http, &dests)
            guard count > 0, let dests else { return [] }
            defer { cupsFreeDests(count, dests) }
            return (0..<Int(count)).map { String(cString: dests[$0].name) }.sorted()
        }
    }

    private func request(_ op: ipp_op_t, queue: String, jobID: Int? = nil, attributes: [String]) -> OpaquePointer? {
        guard let req = ippNewRequest(op) else { return nil }
        let uri = "ipp://localhost/printers/\(queue)"
        ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", nil, uri)
        if let jobID { ippAddInteger(req, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "job-id", Int32(jobID)) }
        ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_NAME, "requesting-user-name", nil, cupsUser())
        if !attributes.isEmpty {
            var cStrings = attributes.map { strdup($0) }
            defer { cStrings.forEach { free($0) } }
            cStrings.withUnsafeMutableBufferPointer { buf in
                buf.baseAddress?.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buf.count) { ptr in
                    _ = ippAddStrings(req, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes", Int32(attributes.count), nil, ptr)
                }
            }
        }
        return cupsDoRequest(http, req, "/")
    }

    private static func strings(_ response: OpaquePointer, _ name: String) -> [String] {
        guard let attr = ippFindAttribute(response, name, IPP_TAG_ZERO) else { return [] }
        return (0..<ippGetCount(attr)).compactMap { i in ippGetString(attr, i, nil).map { String(cString: $0) } }
    }

    private static func integer(_ response: OpaquePointer, _ name: String) -> Int? {
        guard let attr = ippFindAttribute(response, name, IPP_TAG_ZERO) else { return nil }
        return Int(ippGetInteger(attr, 0))
    }

    /// The printer's state in the kiosk's vocabulary.
    public func status(queue: String) throws(PrintingError) -> PrinterStatus {
        let response = lock.withLock { _ in
            request(IPP_OP_GET_PRINTER_ATTRIBUTES, queue: queue, attributes: [
                "printer-state", "printer-state-reasons", "printer-is-accepting-jobs", "printer-state-message",
            ])
        }
        guard let response else {
            if cupsLastError() == IPP_STATUS_ERROR_NOT_FOUND { throw .noSuchQueue(queue) }
            throw .serverUnreachable(server + ": " + CupsClient.lastError)
        }
        defer { ippDelete(response) }
        guard cupsLastError().rawValue < 0x0400 else {
            if cupsLastError() == IPP_STATUS_ERROR_NOT_FOUND { throw .noSuchQueue(queue) }
            throw .ipp(CupsClient.lastError)
        }
        let accepting = ippFindAttribute(response, "printer-is-accepting-jobs", IPP_TAG_BOOLEAN).map { ippGetBoolean($0, 0) != 0 } ?? false
        return PrinterStatus(queue: queue, state: CupsClient.integer(response, "printer-state") ?? 3,
                             reasons: CupsClient.strings(response, "printer-state-reasons").filter { $0 != "none" },
                             accepting: accepting,
                             message: CupsClient.strings(response, "printer-state-message").first ?? "")
    }

    /// A job's state.
    public func jobState(queue: String, jobID: Int) throws(PrintingError) -> JobState {
        let response = lock.withLock { _ in
            request(IPP_OP_GET_JOB_ATTRIBUTES, queue: queue, jobID: jobID,
                    attributes: ["job-state", "job-state-reasons", "job-printer-state-message", "job-state-message"])
        }
        guard let response else { throw .ipp(CupsClient.lastError) }
        defer { ippDelete(response) }
        let message = (CupsClient.strings(response, "job-printer-state-message") + CupsClient.strings(response, "job-state-message"))
            .first { !$0.isEmpty } ?? ""
        return JobState(state: CupsClient.integer(response, "job-state") ?? 0,
                        reasons: CupsClient.strings(response, "job-state-reasons"), message: message)
    }

    /// Cancels a job (best effort).
    public func cancel(queue: String, jobID: Int) {
        lock.withLock { _ in if let r = request(IPP_OP_CANCEL_JOB, queue: queue, jobID: jobID, attributes: []) { ippDelete(r) } }
    }

    /// Removes a finished (or any) job with its document files and history from cupsd's spool
    /// (Cancel-Job with CUPS's `purge-job`), so no printed document outlives its outcome there.
    /// True when cupsd accepted it.
    @discardableResult
    public func purge(queue: String, jobID: Int) -> Bool {
        lock.withLock { _ in
            guard let req = ippNewRequest(IPP_OP_CANCEL_JOB) else { return false }
            ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", nil, "ipp://localhost/printers/\(queue)")
            ippAddInteger(req, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "job-id", Int32(jobID))
            ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_NAME, "requesting-user-name", nil, cupsUser())
            ippAddBoolean(req, IPP_TAG_OPERATION, "purge-job", 1)
            guard let response = cupsDoRequest(http, req, "/") else { return false }
            defer { ippDelete(response) }
            return ippGetStatusCode(response).rawValue < 0x0400
        }
    }

    /// The `document-name` sent for a job titled `title`: ASCII letters, digits, `.`, `_` and `-`
    /// only. Debian's cupsd 2.4.2-3+deb12u10 crashes (SIGSEGV while building the filters'
    /// options) on a document name with a space, so the title itself goes in `job-name` only.
    public static func documentName(_ title: String) -> String {
        let safe = String(title.unicodeScalars.map { scalar -> Character in
            scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || "._-".unicodeScalars.contains(scalar))
                ? Character(scalar) : "-"
        })
        let trimmed = safe.trimmingCharacters(in: CharacterSet(charactersIn: "-"))
        return trimmed.isEmpty ? "document.pdf" : String(trimmed.prefix(64))
    }

    /// Submits a PDF; returns the job id.
    public func submit(queue: String, pdf: Data, title: String, options: PrintOptions) throws(PrintingError) -> Int {
        try lock.withLock { _ throws(PrintingError) -> Int in
            guard let dest = cupsGetNamedDest(http, queue, nil) else { throw .noSuchQueue(queue) }
            defer { cupsFreeDests(1, dest) }
            guard let info = cupsCopyDestInfo(http, dest) else { throw .ipp("no information on \(queue): \(CupsClient.lastError)") }
            defer { cupsFreeDestInfo(info) }
            var numOptions: Int32 = 0
            var opts: UnsafeMutablePointer<cups_option_t>?
            if let media = options.media { numOptions = cupsAddOption("media", media, numOptions, &opts) }
            if let sides = options.sides { numOptions = cupsAddOption("sides", sides, numOptions, &opts) }
            if options.copies > 1 { numOptions = cupsAddOption("copies", String(options.copies), numOptions, &opts) }
            if let quality = options.quality {
                let value = quality == "draft" ? "3" : quality == "high" ? "5" : "4"
                numOptions = cupsAddOption("print-quality", value, numOptions, &opts)
            }
            defer { cupsFreeOptions(numOptions, opts) }
            var jobID: Int32 = 0
            let created = cupsCreateDestJob(http, dest, info, &jobID, title, numOptions, opts)
            guard created.rawValue < 0x0400, jobID > 0 else { throw .refused(queue, CupsClient.lastError) }
            let started = cupsStartDestDocument(http, dest, info, jobID, Self.documentName(title), CUPS_FORMAT_PDF, 0, nil, 1)
            guard started == HTTP_STATUS_CONTINUE else {
                throw .refused(queue, "document not accepted: \(CupsClient.lastError)")
            }
            let written = pdf.withUnsafeBytes { raw -> http_status_t in
                guard let base = raw.baseAddress?.assumingMemoryBound(to: CChar.self) else { return HTTP_STATUS_ERROR }
                return cupsWriteRequestData(http, base, raw.count)
            }
            guard written == HTTP_STATUS_CONTINUE else { throw .refused(queue, "sending the document failed: \(CupsClient.lastError)") }
            let finished = cupsFinishDestDocument(http, dest, info)
            guard finished.rawValue < 0x0400 else { throw PrintingError.refused(queue, CupsClient.lastError) }
            return Int(jobID)
        }
    }
}

/// Prints and follows the job to its final state under the kiosk's own deadline.
public struct PrintJobRunner: Sendable {
    public let client: CupsClient
    public var pollIntervalMilliseconds = 200
    /// Told each step of a job as it happens (submitted, pending, processing…), for a person waiting.
    public var onProgress: (@Sendable (String) -> Void)?

    public init(client: CupsClient) { self.client = client }

    static let stateNames = [3: "pending", 4: "held", 5: "processing", 6: "stopped", 7: "canceled", 8: "aborted", 9: "completed"]

    /// Reasons from printer-state-reasons and a job message, for a technician.
    static func detail(_ job: JobState?, _ printer: PrinterStatus?) -> String {
        var parts: [String] = []
        if let job {
            parts.append("job \(stateNames[job.state] ?? String(job.state))")
            if !job.reasons.isEmpty { parts.append("job reasons: \(job.reasons.joined(separator: ","))") }
            if !job.message.isEmpty { parts.append("message: \(job.message)") }
        }
        if let printer {
            parts.append("printer \(printer.device.rawValue)")
            if !printer.reasons.isEmpty { parts.append("printer reasons: \(printer.reasons.joined(separator: ","))") }
            if !printer.message.isEmpty && printer.message != job?.message { parts.append("printer message: \(printer.message)") }
        }
        return parts.joined(separator: "; ")
    }

    /// Submits `pdf` and waits at most `timeoutSeconds` for CUPS to say completed.
    /// Success only on completed; canceled, aborted, stopped, held or timed-out jobs are not.
    public func print(queue: String, pdf: Data, title: String, options: PrintOptions, timeoutSeconds: Double) -> PrintOutcome {
        switch submit(queue: queue, pdf: pdf, title: title, options: options) {
        case .success(let jobID):
            onProgress?("job \(queue)-\(jobID) submitted")
            return follow(queue: queue, jobID: jobID, timeoutSeconds: timeoutSeconds)
        case .failure(let refused): return refused.outcome
        }
    }

    /// A submission CUPS refused, as the outcome a citizen and a technician are told.
    public struct Refused: Error {
        public let outcome: PrintOutcome
    }

    /// Submits `pdf`; a refusal comes back as the failed outcome, worded from the printer's state.
    public func submit(queue: String, pdf: Data, title: String, options: PrintOptions) -> Result<Int, Refused> {
        let before = try? client.status(queue: queue)
        do { return .success(try client.submit(queue: queue, pdf: pdf, title: title, options: options)) } catch {
            return .failure(Refused(outcome: .failed(jobID: nil, citizenMessage: PrinterStatus.failureMessage(before),
                                                     detail: error.description)))
        }
    }

    /// A state in which no job can come out.
    static func cannotPrint(_ printer: PrinterStatus) -> Bool {
        printer.paper == .out || printer.paper == .jammed || printer.toner == .out || printer.doorOpen || printer.device == .stopped
    }

    /// Follows an existing job.
    public func follow(queue: String, jobID: Int, timeoutSeconds: Double) -> PrintOutcome {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        let blockedCheckAfter = Date().addingTimeInterval(min(3, timeoutSeconds / 4))
        var last: JobState?
        while true {
            if let job = try? client.jobState(queue: queue, jobID: jobID) {
                if job.state != last?.state { onProgress?("job \(queue)-\(jobID) \(Self.stateNames[job.state] ?? String(job.state))") }
                last = job
                switch job.state {
                case 9: return .completed(jobID: jobID)
                case 7, 8:
                    let printer = try? client.status(queue: queue)
                    return .failed(jobID: jobID, citizenMessage: PrinterStatus.failureMessage(printer, unknown: "打印失败，请联系工作人员"),
                                   detail: PrintJobRunner.detail(job, printer))
                default: break
                }
            }
            if Date() >= deadline { break }
            // A printer that cannot print (out of paper, jammed, door open, stopped) will not finish
            // this job in time: say so now rather than at the deadline.
            if Date() >= blockedCheckAfter, let printer = try? client.status(queue: queue), Self.cannotPrint(printer) {
                client.cancel(queue: queue, jobID: jobID)
                return .failed(jobID: jobID, citizenMessage: printer.citizenMessage,
                               detail: "canceled: the printer cannot print; " + PrintJobRunner.detail(last, printer))
            }
            Thread.sleep(forTimeInterval: Double(pollIntervalMilliseconds) / 1000)
        }
        let printer = try? client.status(queue: queue)
        // A held or stopped job, or a stopped printer, will not print: cancel it and say why.
        // So will a job waiting on a printer that is out of paper or jammed.
        if last?.state == 4 || last?.state == 6 || last?.state == 3 || printer?.device == .stopped
            || printer?.paper == .out || printer?.paper == .jammed {
            client.cancel(queue: queue, jobID: jobID)
            return .failed(jobID: jobID, citizenMessage: printer?.citizenMessage ?? "打印机暂时无法使用，请联系工作人员",
                           detail: "not printed within \(Int(timeoutSeconds)) s and canceled; " + PrintJobRunner.detail(last, printer))
        }
        // Processing with no end: the paper may or may not have come out.
        client.cancel(queue: queue, jobID: jobID)
        return .uncertain(jobID: jobID, detail: "no final state within \(Int(timeoutSeconds)) s (canceled); " + PrintJobRunner.detail(last, printer))
    }
}

/// A job in a queue's CUPS history: no title or user, so it holds no personal data.
public struct JobSummary: Sendable, Equatable {
    public var id: Int
    /// 3 pending, 4 held, 5 processing, 6 stopped, 7 canceled, 8 aborted, 9 completed.
    public var state: Int
    public var reasons: [String]
    public var message: String
    /// When the job was created and completed (seconds since 1970), when CUPS says.
    public var createdAt: Int?
    public var completedAt: Int?
    /// State 7 and above.
    public var isFinal: Bool { state >= 7 }
}

extension CupsClient {
    /// The queue's jobs, finished and not (CUPS keeps history when PreserveJobHistory is on),
    /// lowest job id first.
    public func jobs(queue: String) throws(PrintingError) -> [JobSummary] {
        let response: OpaquePointer? = lock.withLock { _ in
            guard let req = ippNewRequest(IPP_OP_GET_JOBS) else { return nil }
            ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", nil, "ipp://localhost/printers/\(queue)")
            ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_NAME, "requesting-user-name", nil, cupsUser())
            ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "which-jobs", nil, "all")
            ippAddBoolean(req, IPP_TAG_OPERATION, "my-jobs", 0)
            let names = ["job-id", "job-state", "job-state-reasons", "job-printer-state-message", "time-at-creation", "time-at-completed"]
            var cStrings = names.map { strdup($0) }
            defer { cStrings.forEach { free($0) } }
            cStrings.withUnsafeMutableBufferPointer { buf in
                buf.baseAddress?.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buf.count) { ptr in
                    _ = ippAddStrings(req, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes", Int32(names.count), nil, ptr)
                }
            }
            return cupsDoRequest(http, req, "/")
        }
        guard let response else { throw .serverUnreachable(server + ": " + CupsClient.lastError) }
        defer { ippDelete(response) }
        guard cupsLastError().rawValue < 0x0400 else {
            if cupsLastError() == IPP_STATUS_ERROR_NOT_FOUND { throw .noSuchQueue(queue) }
            throw .ipp(CupsClient.lastError)
        }
        var jobs: [JobSummary] = []
        var current: JobSummary?
        var attr = ippFirstAttribute(response)
        while let a = attr {
            if ippGetGroupTag(a) == IPP_TAG_JOB, let cName = ippGetName(a) {
                let name = String(cString: cName)
                var job = current ?? JobSummary(id: 0, state: 0, reasons: [], message: "", createdAt: nil, completedAt: nil)
                switch name {
                case "job-id": job.id = Int(ippGetInteger(a, 0))
                case "job-state": job.state = Int(ippGetInteger(a, 0))
                case "job-state-reasons":
                    job.reasons = (0..<ippGetCount(a)).compactMap { ippGetString(a, $0, nil).map { String(cString: $0) } }
                case "job-printer-state-message": job.message = ippGetString(a, 0, nil).map { String(cString: $0) } ?? ""
                case "time-at-creation": if ippGetValueTag(a) == IPP_TAG_INTEGER { job.createdAt = Int(ippGetInteger(a, 0)) }
                case "time-at-completed": if ippGetValueTag(a) == IPP_TAG_INTEGER { job.completedAt = Int(ippGetInteger(a, 0)) }
                default: break
                }
                current = job
            } else if let job = current {
                // A separator (or another group) ends a job.
                jobs.append(job)
                current = nil
            }
            attr = ippNextAttribute(response)
        }
        if let current { jobs.append(current) }
        return jobs.filter { $0.id > 0 }.sorted { $0.id < $1.id }
    }

    /// The printer's IPP attributes as `name = value` lines (for diagnostics).
    /// The queue's `printer-error-policy` (`abort-job`, `retry-job`, `retry-current-job`, `stop-printer`), if CUPS says.
    public func errorPolicy(queue: String) -> String? {
        let prefix = "printer-error-policy = "
        return (try? printerAttributes(queue: queue, names: ["printer-error-policy"]))?
            .first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }

    public func printerAttributes(queue: String, names: [String]) throws(PrintingError) -> [String] {
        let response: OpaquePointer? = lock.withLock { _ in
            request(IPP_OP_GET_PRINTER_ATTRIBUTES, queue: queue, attributes: names)
        }
        guard let response else {
            if cupsLastError() == IPP_STATUS_ERROR_NOT_FOUND { throw .noSuchQueue(queue) }
            throw .serverUnreachable(server + ": " + CupsClient.lastError)
        }
        defer { ippDelete(response) }
        var lines: [String] = []
        var attr = ippFirstAttribute(response)
        var buffer = [CChar](repeating: 0, count: 4096)
        while let a = attr {
            if ippGetGroupTag(a) == IPP_TAG_PRINTER, let cName = ippGetName(a) {
                let count = buffer.count
                let value = buffer.withUnsafeMutableBufferPointer { buf -> String in
                    guard let base = buf.baseAddress else { return "" }
                    _ = ippAttributeString(a, base, count)
                    return String(cString: base)
                }
                lines.append("\(String(cString: cName)) = \(value)")
            }
            attr = ippNextAttribute(response)
        }
        return lines
    }
}
