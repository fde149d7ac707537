import Foundation

/// How a check came out. Ordered: `ok` < `warn` < `fail`.
public enum CheckStatus: String, Sendable, Codable, Comparable, CaseIterable {
    /// Works as it should.
    case ok
    /// Works, but needs attention soon (paper low, outbox growing, figures unavailable).
    case warn
    /// Broken: citizens are, or will be, affected.
    case fail

    private var rank: Int {
        switch self {
        case .ok: return 0
        case .warn: return 1
        case .fail: return 2
        }
    }

    public static func < (a: CheckStatus, b: CheckStatus) -> Bool { a.rank < b.rank }
}

/// The outcome of one check: one row of `kioskctl diag`.
public struct CheckResult: Sendable, Equatable, Codable {
    /// The stable id, e.g. `reader`, `printer.a4`, `registry`.
    public var id: String
    public var status: CheckStatus
    /// What was found, in one line.
    public var detail: String
    /// What the technician should do; empty when nothing.
    public var action: String
    /// Raw detail for `--verbose`: frames in hex, IPP attributes, HTTP answers.
    public var verbose: [String]

    public init(id: String, status: CheckStatus, detail: String, action: String = "", verbose: [String] = []) {
        self.id = id
        self.status = status
        self.detail = detail
        self.action = action
        self.verbose = verbose
    }

    /// A passing result.
    public static func ok(_ id: String, _ detail: String, verbose: [String] = []) -> CheckResult {
        CheckResult(id: id, status: .ok, detail: detail, action: "", verbose: verbose)
    }

    /// A warning with what to do.
    public static func warn(_ id: String, _ detail: String, action: String, verbose: [String] = []) -> CheckResult {
        CheckResult(id: id, status: .warn, detail: detail, action: action, verbose: verbose)
    }

    /// A failure with what to do.
    public static func fail(_ id: String, _ detail: String, action: String, verbose: [String] = []) -> CheckResult {
        CheckResult(id: id, status: .fail, detail: detail, action: action, verbose: verbose)
    }
}

/// The areas `kioskctl diag AREA` runs alone.
public enum DiagnosticArea: String, Sendable, CaseIterable, Codable {
    /// kioskd itself (always run first).
    case daemon
    case reader
    case printer
    /// The registry, the kiosk's identity and the heartbeat.
    case registry
    /// The outbox.
    case queue
    case config
    /// The keys that protect the state, the document key, demonstration keys.
    case keys
    /// Disk space.
    case system
    /// The person–card verifier.
    case verifier
}

/// One check. Implementations must return within the runner's deadline or be abandoned; blocking
/// work belongs on `Blocking.run` so that it never starves the concurrency pool.
public protocol DiagnosticCheck: Sendable {
    /// The stable id of the result.
    var id: String { get }
    /// The area it belongs to.
    var area: DiagnosticArea { get }
    /// Runs the check.
    func run(_ context: DiagnosticContext) async -> CheckResult
}

/// The results of a diagnostic run, in the order the checks were listed.
public struct DiagnosticReport: Sendable, Equatable {
    public var results: [CheckResult]

    public init(results: [CheckResult]) { self.results = results }

    /// The worst status; `ok` when there are no results.
    public var worst: CheckStatus { results.map(\.status).max() ?? .ok }

    /// 0 all ok, 1 warnings, 2 failures.
    public var exitCode: Int32 {
        switch worst {
        case .ok: return 0
        case .warn: return 1
        case .fail: return 2
        }
    }

    /// The result with `id`.
    public func result(_ id: String) -> CheckResult? { results.first { $0.id == id } }

    private struct JSONRow: Encodable {
        var id: String
        var status: CheckStatus
        var detail: String
        var action: String
        var verbose: [String]?
    }

    private struct JSONBody: Encodable { var checks: [JSONRow] }

    /// `{"checks": [{"id": …, "status": "ok"|"warn"|"fail", "detail": …, "action": …}]}`, with
    /// `verbose` lines added to each check when asked.
    public func json(verbose: Bool = false, pretty: Bool = false) -> String {
        let rows = results.map {
            JSONRow(id: $0.id, status: $0.status, detail: $0.detail, action: $0.action,
                    verbose: verbose ? $0.verbose : nil)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted] : [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(JSONBody(checks: rows)) else { return #"{"checks":[]}"# }
        return String(decoding: data, as: UTF8.self)
    }
}
