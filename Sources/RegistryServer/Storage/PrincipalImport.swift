import Foundation
import KioskCore
import Registry

/// A roll-out's key list, registered at once: one line per kiosk, `ID PUBLIC-KEY [SITE]`
/// (whitespace between, the key base64 of the raw 32-byte Ed25519 public key); blank lines and
/// lines starting with `#` are skipped.
public enum PrincipalImport {
    /// Largest list read (a 50,000-kiosk list is about 4 MiB).
    public static let maxBytes = 64 << 20

    /// Why a list cannot be imported: nothing of it was registered.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// Line `line` (from 1) is not `ID PUBLIC-KEY [SITE]`, or names an ID already listed.
        case line(Int, String)
        /// The list is empty, too large or not text.
        case list(String)
        /// These IDs are registered with other keys and `replace` was not given.
        case rekeys([String])

        public var description: String {
            switch self {
            case .line(let n, let why): return "line \(n): \(why); nothing was registered"
            case .list(let why): return "\(why); nothing was registered"
            case .rekeys(let ids):
                let shown = ids.prefix(5).joined(separator: ", ") + (ids.count > 5 ? " and \(ids.count - 5) more" : "")
                return "\(ids.count) kiosk(s) are registered with other keys (\(shown)); replacing locks out the holders of the old keys: "
                    + "add --replace if that is meant; nothing was registered"
            }
        }
    }

    /// The entries of `data`, each checked; `role` and `note` apply to all.
    public static func parse(_ data: Data, role: PrincipalRole = .kiosk, note: String = "") throws(Failure) -> [NewPrincipal] {
        guard data.count <= maxBytes else { throw .list("the list is over \(maxBytes >> 20) MiB") }
        guard let text = String(data: data, encoding: .utf8) else { throw .list("the list is not UTF-8 text") }
        var entries: [NewPrincipal] = []
        var seen = Set<String>()
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard (2...3).contains(fields.count) else {
                throw .line(index + 1, "expected ID PUBLIC-KEY [SITE], found \(fields.count) field(s)")
            }
            guard let key = Data(base64Encoded: fields[1]) else { throw .line(index + 1, "the public key is not base64") }
            let entry = NewPrincipal(id: fields[0], publicKey: key, note: note, role: role, site: fields.count == 3 ? fields[2] : nil)
            if let problem = entry.problem {
                if case .kiosk(let why) = problem { throw .line(index + 1, why) }
                throw .line(index + 1, problem.description)
            }
            guard seen.insert(entry.id).inserted else { throw .line(index + 1, "\(entry.id) is listed twice") }
            entries.append(entry)
        }
        guard !entries.isEmpty else { throw .list("the list names no kiosk") }
        return entries
    }

    /// What registering `entries` changes beside the `registered` keys (by ID).
    public struct Plan: Sendable, Equatable {
        public var new = 0
        public var rekeyed = 0
        public var updated = 0
        public var unchanged = 0
    }

    /// The plan and the entries to write (a site or note not given keeps the registered one;
    /// unchanged entries are left out), or `.rekeys` when an ID would get another key without `replace`.
    public static func plan(_ entries: [NewPrincipal], registered: [String: KioskEntry],
                            replace: Bool) throws(Failure) -> (plan: Plan, writes: [NewPrincipal]) {
        var plan = Plan()
        var rekeys: [String] = []
        var writes: [NewPrincipal] = []
        for var entry in entries {
            guard let old = registered[entry.id] else {
                plan.new += 1
                writes.append(entry)
                continue
            }
            if entry.site == nil { entry.site = old.site }
            if entry.note.isEmpty { entry.note = old.note }
            if old.publicKey != entry.publicKey.base64EncodedString() {
                rekeys.append(entry.id)
                plan.rekeyed += 1
            } else if old.role != entry.role || entry.site != old.site || entry.note != old.note {
                plan.updated += 1
            } else {
                plan.unchanged += 1
                continue
            }
            writes.append(entry)
        }
        if !rekeys.isEmpty, !replace { throw .rekeys(rekeys) }
        return (plan, writes)
    }
}
