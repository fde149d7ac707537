/// A printer's state in one vocabulary, from IPP printer-state and printer-state-reasons.
public struct PrinterStatus: Sendable, Equatable, Codable {
    public enum Device: String, Sendable, Codable, CaseIterable { case online, offline, busy, stopped }
    public enum Paper: String, Sendable, Codable, CaseIterable { case ok, low, out, jammed }
    public enum Toner: String, Sendable, Codable, CaseIterable { case ok, low, out }

    public var queue: String
    public var device: Device
    public var paper: Paper
    public var toner: Toner
    public var doorOpen: Bool
    /// Whether the queue accepts new jobs.
    public var accepting: Bool
    /// IPP printer-state: 3 idle, 4 processing, 5 stopped.
    public var state: Int
    /// printer-state-reasons as CUPS reports them.
    public var reasons: [String]
    public var message: String

    public init(queue: String, state: Int, reasons: [String], accepting: Bool, message: String, reachable: Bool = true) {
        self.queue = queue
        self.state = state
        self.reasons = reasons
        self.accepting = accepting
        self.message = message
        func has(_ prefix: String) -> Bool { reasons.contains { $0.hasPrefix(prefix) } }
        if !reachable || has("offline") || has("connecting-to-device") || has("shutdown") || message.contains("may not exist") || message.contains("unavailable") {
            device = .offline
        } else if state == 5 || has("paused") {
            device = .stopped
        } else if state == 4 {
            device = .busy
        } else {
            device = .online
        }
        if has("media-jam") { paper = .jammed }
        else if has("media-empty") || has("media-needed") { paper = .out }
        else if has("media-low") { paper = .low }
        else { paper = .ok }
        if has("toner-empty") || has("marker-supply-empty") { toner = .out }
        else if has("toner-low") || has("marker-supply-low") { toner = .low }
        else { toner = .ok }
        doorOpen = has("door-open") || has("cover-open") || has("interlock-open")
    }

    /// True when a citizen's print can be expected to come out.
    public var isReady: Bool {
        accepting && (device == .online || device == .busy) && paper != .out && paper != .jammed && toner != .out && !doorOpen
    }

    /// What a citizen is told when this state stops a print.
    public var citizenMessage: String {
        if paper == .out { return "打印机缺纸，请联系工作人员" }
        if paper == .jammed { return "打印机卡纸，请联系工作人员" }
        if toner == .out { return "打印机墨粉不足，请联系工作人员" }
        if doorOpen { return "打印机盖板未关闭，请联系工作人员" }
        return "打印机暂时无法使用，请联系工作人员"
    }

    /// What a citizen is told when a print failed with the printer in `status` (nil: unknown).
    public static func failureMessage(_ status: PrinterStatus?, unknown: String = "打印机暂时无法使用，请联系工作人员") -> String {
        guard let status else { return unknown }
        return status.isReady ? "打印失败，请联系工作人员" : status.citizenMessage
    }

    /// What a technician should do.
    public var technicianAction: String {
        if paper == .out { return "load paper into \(queue)" }
        if paper == .jammed { return "clear the paper jam in \(queue)" }
        if toner == .out { return "replace the toner of \(queue)" }
        if doorOpen { return "close the printer's door or cover" }
        if device == .offline { return "check the printer's power and cable; `lpstat -p \(queue)`" }
        if device == .stopped { return "resume the queue: `cupsenable \(queue)` once the cause is fixed" }
        if !accepting { return "the queue refuses jobs: `cupsaccept \(queue)`" }
        return "none"
    }
}

/// How a print ended.
public enum PrintOutcome: Sendable, Equatable {
    /// CUPS reports the job completed.
    case completed(jobID: Int)
    /// The job ended without printing (canceled, aborted, refused), with reasons.
    case failed(jobID: Int?, citizenMessage: String, detail: String)
    /// The job did not reach a final state in time: it may or may not have printed.
    /// Shown to staff; never retried silently.
    case uncertain(jobID: Int, detail: String)

    public var succeeded: Bool { if case .completed = self { return true } else { return false } }
}
