import Foundation
import KioskCore

/// `daemon`: is kioskd running and answering on its technician socket, and which version.
public struct DaemonCheck: DiagnosticCheck {
    public let id = "daemon"
    public let area = DiagnosticArea.daemon

    public init() {}

    static let startAction = "systemctl start kioskd; journalctl -u kioskd"
    static let versionPrefix = "kioskd version "

    public func run(_ context: DiagnosticContext) async -> CheckResult {
        let client = TechnicianClient(socketPath: context.environment.technicianSocket)
        if let problem = client.probe() {
            switch problem {
            case .missing(let path):
                return .fail(id, "kioskd is not running (no technician socket at \(path)); the checks below ran directly",
                             action: Self.startAction)
            case .refused(let path):
                return .fail(id, "kioskd is not running (nothing answers on \(path), a stale socket); the checks below ran directly",
                             action: Self.startAction)
            default:
                return .fail(id, problem.description, action: "run kioskctl as root or as a member of the yitiji group")
            }
        }
        do {
            let status = try await client.status(timeoutSeconds: min(3, context.environment.checkDeadlineSeconds))
            let version = status.version ?? "unknown"
            var detail = "kioskd running, version \(version)"
            if status.maintenance == true {
                detail += "; maintenance mode on" + (status.maintenanceReason.map { " (\($0))" } ?? "")
            }
            let verbose = [Self.versionPrefix + version]
            if let reported = status.version, reported != Yitiji.version {
                return .warn(id, detail + "; kioskctl is \(Yitiji.version)",
                             action: "install the same version of kioskd and kioskctl", verbose: verbose)
            }
            if status.maintenance == true {
                return .warn(id, detail, action: "kioskctl maintenance off --reason TEXT when the work is done", verbose: verbose)
            }
            return .ok(id, detail, verbose: verbose)
        } catch {
            return .warn(id, "kioskd is there but its status is not readable: \(error)",
                         action: "restart kioskd: systemctl restart kioskd; journalctl -u kioskd")
        }
    }

    /// The kioskd version a daemon result carries, if any.
    public static func version(in result: CheckResult) -> String? {
        result.verbose.first { $0.hasPrefix(versionPrefix) }.map { String($0.dropFirst(versionPrefix.count)) }
    }
}
