import Crypto
import Foundation
import KioskCore
import Metrics
import Registry

/// What one registryd process knows of the published bundles, shared by every request: the
/// bundles as of a revision (read once per revision, however many kiosks ask), the envelopes
/// (never changed once published), and one watcher that reads the revision for all held long
/// polls at once and wakes them when it changes. Another replica's publish is seen within
/// `interval`, as it reaches the shared database.
public actor ConfigCatalogue {
    let store: any ConfigBundleStore
    /// How often the watcher reads the revision while polls are held.
    let interval: Duration
    private var snapshot: (revision: Int64, bundles: [PublishedBundle])?
    private var loading: (revision: Int64, task: Task<[PublishedBundle], any Error>)?
    private var envelopes: [Int64: Data] = [:]
    private var envelopeBytes = 0
    /// Most envelope bytes kept (a bundle is a few kilobytes; its files up to a few megabytes).
    let envelopeBudget: Int
    private var waiters: [Int: Waiter] = [:]
    private var nextWaiter = 0
    private var watcher: Task<Void, Never>?
    /// The newest revision this process has seen.
    private var known: Int64 = -1
    /// `yitiji_registry_config_polls_held`: the kiosks this process holds a poll for now (the
    /// fleet connected to this replica).
    private let heldGauge = Gauge(label: "yitiji_registry_config_polls_held")
    /// Held polls the last change woke, and when: the herd a publish sets off.
    private var lastWake: (count: Int, at: ContinuousClock.Instant)?

    /// A held poll: woken with the new revision, or nil at its deadline.
    struct Waiter {
        let after: Int64
        let deadline: ContinuousClock.Instant
        /// True once no one waits any more (a parked poll's connection closed or was answered).
        let isGone: @Sendable () -> Bool
        let wake: @Sendable (Int64?) -> Void
    }

    /// A catalogue over `store`.
    public init(store: any ConfigBundleStore, interval: Duration = .milliseconds(250), envelopeBudget: Int = 64 << 20) {
        self.store = store
        self.interval = interval
        self.envelopeBudget = envelopeBudget
    }

    /// Long polls held now.
    public var held: Int { waiters.count }

    /// How many kiosks may download at once now: the polls held, or the ones the last change
    /// woke (for a minute after it), whichever is more.
    public var herd: Int {
        let recent = lastWake.flatMap { ContinuousClock.now - $0.at < .seconds(60) ? $0.count : nil } ?? 0
        return max(waiters.count, recent)
    }

    /// The published bundles as of `revision`: read from the store once per revision.
    func bundles(at revision: Int64) async throws -> [PublishedBundle] {
        if let snapshot, snapshot.revision == revision { return snapshot.bundles }
        known = max(known, revision)
        if let loading, loading.revision == revision { return try await loading.task.value }
        let store = self.store
        let task = Task { try await store.publishedBundles(targets: nil) }
        loading = (revision, task)
        defer { if loading?.revision == revision { loading = nil } }
        let bundles = try await task.value
        if (snapshot?.revision ?? -1) <= revision { snapshot = (revision, bundles) }
        return bundles
    }

    /// What `kioskId` (at `site`) is told now.
    public func announcements(kioskId: String, site: String?) async throws -> (revision: Int64, answer: ConfigAnnouncements) {
        let revision = try await store.configRevision()
        return (revision, ConfigAnnouncements.newest(of: try await bundles(at: revision), kioskId: kioskId, site: site))
    }

    /// The signed envelope of bundle `id`, kept once read.
    public func envelope(id: Int64) async throws -> Data? {
        if let kept = envelopes[id] { return kept }
        guard let envelope = try await store.bundleEnvelope(id: id) else { return nil }
        if envelopes[id] == nil, envelope.count <= envelopeBudget {
            while envelopeBytes + envelope.count > envelopeBudget, let first = envelopes.first {
                envelopes.removeValue(forKey: first.key)
                envelopeBytes -= first.value.count
            }
            envelopes[id] = envelope
            envelopeBytes += envelope.count
        }
        return envelope
    }

    /// Waits until the revision differs from `after` (answers the new one) or `deadline` passes
    /// (answers nil); a cancelled request stops waiting at once.
    public func waitForChange(after: Int64, until deadline: ContinuousClock.Instant) async -> Int64? {
        guard let id = claim(after: after) else { return known }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled {
                    continuation.resume(returning: nil)
                    return
                }
                enqueue(id, Waiter(after: after, deadline: deadline, isGone: { false }, wake: { continuation.resume(returning: $0) }))
            }
        } onCancel: {
            Task { await self.release(id) }
        }
    }

    /// Parks a poll with no task waiting: `wake` is called once, with the new revision when it
    /// differs from `after`, or with nil at `deadline`; never once `isGone` says true (the
    /// watcher forgets such a poll at its next look).
    func park(after: Int64, until deadline: ContinuousClock.Instant, isGone: @escaping @Sendable () -> Bool,
              wake: @escaping @Sendable (Int64?) -> Void) {
        guard let id = claim(after: after) else { return wake(known) }
        enqueue(id, Waiter(after: after, deadline: deadline, isGone: isGone, wake: wake))
    }

    /// A waiter's id, or nil when a revision newer than `after` is known already (answer it at once).
    private func claim(after: Int64) -> Int? {
        if known > after { return nil }
        known = max(known, after)
        defer { nextWaiter += 1 }
        return nextWaiter
    }

    private func enqueue(_ id: Int, _ waiter: Waiter) {
        waiters[id] = waiter
        heldGauge.record(waiters.count)
        if watcher == nil { watcher = Task { await self.watch() } }
    }

    private func release(_ id: Int) {
        waiters.removeValue(forKey: id)?.wake(nil)
        heldGauge.record(waiters.count)
    }

    /// Reads the revision every `interval` while anyone waits; wakes the waiters it concerns.
    private func watch() async {
        while !waiters.isEmpty {
            try? await Task.sleep(for: interval)
            if let revision = try? await store.configRevision() { known = max(known, revision) }
            let now = ContinuousClock.now
            var woken = 0
            // Chosen first and removed after: removing while iterating would copy the whole table.
            var done: [(id: Int, wake: (@Sendable (Int64?) -> Void)?, revision: Int64?)] = []
            for (id, waiter) in waiters {
                let gone = waiter.isGone(), changed = known != waiter.after
                guard gone || changed || waiter.deadline <= now else { continue }
                done.append((id, gone ? nil : waiter.wake, changed ? known : nil))
                if changed && !gone { woken += 1 }
            }
            for (id, wake, revision) in done {
                waiters.removeValue(forKey: id)
                wake?(revision)
            }
            if woken > 0 { lastWake = (woken, now) }
            heldGauge.record(waiters.count)
        }
        watcher = nil
    }
}

/// How a publish's downloads are spread: kiosks told together download over `herd ÷ perSecond`
/// seconds (whole seconds, at most `maximumSeconds`), each at its own point
/// (`ConfigAnnouncement.downloadDelay`). Fewer kiosks than `perSecond` download at once.
public struct ConfigSpread: Sendable, Equatable {
    /// Downloads per second to aim at; 0: no spread.
    public var perSecond: Int
    /// The longest spread given, whatever the herd.
    public static let maximumSeconds = 30

    public init(perSecond: Int) { self.perSecond = perSecond }

    /// The spread for `herd` kiosks told at once.
    public func seconds(herd: Int) -> Int {
        guard perSecond > 0, herd > 0 else { return 0 }
        return min(Self.maximumSeconds, herd / perSecond)
    }

    /// `answer` with the spread on its fleet and site bundles (a kiosk's own bundle is one
    /// download: it comes at once).
    public func apply(_ seconds: Int, to answer: ConfigAnnouncements) -> ConfigAnnouncements {
        guard seconds > 0 else { return answer }
        var answer = answer
        answer.bundles = answer.bundles.map { bundle in
            var bundle = bundle
            if !bundle.target.hasPrefix("kiosk:") { bundle.spreadSeconds = seconds }
            return bundle
        }
        return answer
    }
}

extension ConfigAnnouncements {
    /// The newest version per target among `bundles` that `kioskId` (at `site`) is staged for.
    public static func newest(of bundles: [PublishedBundle], kioskId: String, site: String?) -> ConfigAnnouncements {
        var targets: Set<String> = ["fleet", "kiosk:\(kioskId)"]
        if let site { targets.insert("site:\(site)") }
        var newest: [String: PublishedBundle] = [:]
        for bundle in bundles where targets.contains(bundle.target)
            && ConfigStaging.includes(kioskId: kioskId, target: bundle.target, version: bundle.version, percent: bundle.stagePercent) {
            if (newest[bundle.target]?.version ?? -1) < bundle.version { newest[bundle.target] = bundle }
        }
        let list = newest.values.sorted { ($0.target, $0.version) < ($1.target, $1.version) }
            .map { ConfigAnnouncement(target: $0.target, version: $0.version, id: String($0.id), sha256: $0.sha256, size: $0.size) }
        let etag = SHA256.hash(data: Data(list.map { "\($0.target)=\($0.version)/\($0.sha256)" }.joined(separator: ",").utf8))
            .prefix(8).hexString
        return ConfigAnnouncements(etag: etag, bundles: list)
    }
}
