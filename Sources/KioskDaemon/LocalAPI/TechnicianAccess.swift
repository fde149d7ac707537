#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Hummingbird

/// Who may use the technician socket, decided per request from the peer's credentials as the
/// kernel reports them (`SO_PEERCRED`), not from the socket's file mode alone: root, kioskd's own
/// account, and members of the technician group. A socket made readable by mistake still
/// answers 403 to anyone else.
public struct TechnicianAccessMiddleware<Context: PeerAwareRequestContext>: RouterMiddleware {
    /// The technician group's id, if one is configured.
    let group: gid_t?
    let ownUID: uid_t

    /// Allows members of `groupName` (when given and known) besides root and kioskd's account.
    public init(groupName: String?) {
        group = groupName.flatMap { name in getgrnam(name).map { $0.pointee.gr_gid } }
        ownUID = geteuid()
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let peer = await context.peer() else {
            throw LocalAPIError(status: .forbidden, messageKey: "error.generic",
                                detail: "the connecting account could not be told; technician operations need a local account")
        }
        guard Self.allows(peer, group: group, ownUID: ownUID) else {
            throw LocalAPIError(status: .forbidden, messageKey: "error.generic",
                                detail: "\(peer) is not a technician: join the technician group (usermod -aG GROUP NAME) and log in again")
        }
        return try await next(request, context)
    }

    /// The rule, on its own.
    static func allows(_ peer: PeerCredentials, group: gid_t?, ownUID: uid_t) -> Bool {
        if peer.uid == 0 || peer.uid == ownUID { return true }
        guard let group else { return false }
        return peer.gid == group || processGroups(pid: peer.pid).contains(group)
    }

    /// The supplementary groups of a running process (`Groups:` in /proc/PID/status).
    static func processGroups(pid: Int32) -> [gid_t] {
        guard pid > 0, let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return [] }
        for line in text.split(separator: "\n") where line.hasPrefix("Groups:") {
            return line.dropFirst("Groups:".count).split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { gid_t($0) }
        }
        return []
    }
}

/// Groups the technician socket must never be shared with: the citizen interface's, and the
/// device groups other accounts on a kiosk belong to.
public enum TechnicianGroupRule {
    static let deviceGroups: Set<String> = ["plugdev", "lp", "lpadmin", "dialout", "users", "video", "input", "tty"]

    /// Why `technician` cannot be the technician group, or nil.
    public static func problem(technician: String?, citizen: String?) -> String? {
        guard let technician else { return nil }
        if technician == citizen {
            return "--technician-group \(technician) is also the citizen group: the citizen interface would reach technician operations"
        }
        if deviceGroups.contains(technician) {
            return "--technician-group \(technician) is a group other accounts on the kiosk belong to; use a group of its own (e.g. yitiji-tech)"
        }
        return nil
    }
}
