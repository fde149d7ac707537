import Foundation
import KioskCore

/// The keys and roles of signers, read from the store and remembered for `lifetime`.
///
/// A signed request needs its signer's key before anything else; reading the store for every
/// request costs more than the rest of the check bar the signature itself. What is remembered
/// stays bounded in time: a kiosk removed, re-keyed or given another role (by `registryd kiosk`,
/// in any process or replica) is treated as such within `lifetime`. A signer not yet remembered
/// is always read, so a kiosk added a moment ago is accepted at once, and nothing is remembered
/// for an unknown ID. A zero lifetime reads the store on every request.
final class PrincipalDirectory: Sendable {
    private struct Entry {
        let principal: Principal
        let readAt: UInt64
    }

    private let store: any RegistryStore
    private let lifetimeNanoseconds: UInt64
    private let capacity: Int
    private let entries = Locked([String: Entry]())

    init(store: any RegistryStore, lifetime: TimeInterval, capacity: Int = 200_000) {
        self.store = store
        lifetimeNanoseconds = UInt64(max(0, lifetime) * 1e9)
        self.capacity = max(1, capacity)
    }

    /// The principal of `id`, and whether it came from memory (a caller whose signature check
    /// fails on a remembered key asks `fresh` before refusing: the key may have just changed).
    func principal(id: String) async throws -> (principal: Principal, remembered: Bool)? {
        if lifetimeNanoseconds > 0, let entry = entries.withLock({ $0[id] }),
           Self.now() &- entry.readAt < lifetimeNanoseconds {
            return (entry.principal, true)
        }
        return try await fresh(id: id).map { ($0, false) }
    }

    /// The principal of `id` as the store has it now; remembered when there is one, forgotten when not.
    func fresh(id: String) async throws -> Principal? {
        let principal = try await store.principal(id: id)
        guard lifetimeNanoseconds > 0 else { return principal }
        let now = Self.now()
        entries.withLock { entries in
            guard let principal else {
                entries[id] = nil
                return
            }
            if entries.count >= capacity, entries[id] == nil {
                // Drop what has expired; if nothing has, any one entry (the first in hash order).
                let lifetime = lifetimeNanoseconds
                entries = entries.filter { now &- $0.value.readAt < lifetime }
                if entries.count >= capacity, !entries.isEmpty { entries.remove(at: entries.startIndex) }
            }
            entries[id] = Entry(principal: principal, readAt: now)
        }
        return principal
    }

    private static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
}
