import Crypto
import Foundation
import KioskCore
import KioskConfig
import Logging
import Registry
import ServiceLifecycle

/// A configuration bundle that central operations published for this kiosk (the registry's wire type).
public typealias BundleAnnouncement = ConfigAnnouncement

/// One answer of the feed: the bundles meant for this kiosk now, and the registry's signed
/// statement that they are current (nil when the answer carries none).
public struct FeedAnswer: Sendable, Equatable {
    public var bundles: [BundleAnnouncement]
    public var statement: Data?

    public init(bundles: [BundleAnnouncement], statement: Data? = nil) {
        self.bundles = bundles
        self.statement = statement
    }
}

/// Where bundles come from: the registry's configuration stream in production.
public protocol ConfigFeed: Sendable {
    /// Every answer of the feed: at once when the bundles meant for this kiosk change, and again
    /// at least every poll interval with a fresh statement (a stream kept open, with polling as a
    /// fallback). Ends when cancelled.
    func announcements() -> AsyncStream<FeedAnswer>
    /// The signed envelope of one bundle.
    func download(_ announcement: BundleAnnouncement) async throws -> Data
    /// Tells central operations what became of a bundle.
    func report(_ entry: ConfigHistoryEntry) async
}

/// Applies configuration bundles: verify, validate, stage, wait until no citizen is being served,
/// swap atomically, health-check, then keep or roll back by itself. Nothing running changes until
/// a bundle has passed every check.
public actor ConfigAgent {
    /// Largest bundle accepted.
    public static let maxBundleBytes = 4 << 20

    let store: ConfigStore
    let kioskId: String
    let site: String
    let sessions: SessionManager
    var healthCheck: @Sendable (KioskConfiguration) async -> String?
    var apply: @Sendable (KioskConfiguration) async -> Void
    let audit: AuditLog?
    let logger: Logger
    let now: @Sendable () -> Date
    /// Digests of announced bundles already refused: not downloaded again.
    private var refused: Set<String> = []

    public init(store: ConfigStore, kioskId: String, site: String, sessions: SessionManager, audit: AuditLog?, logger: Logger,
                now: @escaping @Sendable () -> Date = Date.init,
                healthCheck: @escaping @Sendable (KioskConfiguration) async -> String? = { _ in nil },
                apply: @escaping @Sendable (KioskConfiguration) async -> Void = { _ in }) {
        self.store = store
        self.kioskId = kioskId
        self.site = site
        self.sessions = sessions
        self.healthCheck = healthCheck
        self.apply = apply
        self.audit = audit
        self.logger = logger
        self.now = now
    }

    /// Sets what checks a newly swapped configuration, and what takes it into use.
    public func setHandlers(healthCheck: @escaping @Sendable (KioskConfiguration) async -> String?,
                            apply: @escaping @Sendable (KioskConfiguration) async -> Void) {
        self.healthCheck = healthCheck
        self.apply = apply
    }

    /// Checks the freshness statement of one feed answer against the trusted root's timestamp
    /// role and records it; a refused or missing one is logged and audited once per reason.
    /// Returns the reason it was refused, or nil when it was accepted (or the root names no
    /// timestamp key, so there is nothing to check).
    @discardableResult
    public func observe(_ answer: FeedAnswer) async -> String? {
        guard let root = try? await store.trustedRoot(), root.roles[FeedStatement.role] != nil else { return nil }
        let reason: String
        if let data = answer.statement {
            let entries = answer.bundles.map { FeedStatement.entry(target: $0.target, version: $0.version, sha256: $0.sha256) }
            let newest = await store.feedFreshness()?.issued.flatMap(ConfigDates.parse)
            do {
                let (_, issued) = try FeedStatement.verify(data, root: root, kioskId: kioskId, announced: entries, now: now(),
                                                           newestIssued: newest)
                try await store.recordFreshStatement(issued: issued, heard: now())
                return nil
            } catch {
                reason = "\(error)"
            }
        } else {
            reason = "the feed's answer carries no signed statement: the registry has no timestamp key, or something on the way removed it"
        }
        if await store.feedFreshness()?.lastRefusal != reason {
            logger.warning("configuration feed statement refused", metadata: ["reason": "\(reason)"])
            audit?.record(actor: "central", action: "config.statement-refused", detail: reason)
            try? await store.recordRefusedStatement(reason)
        }
        return reason
    }

    /// Whether the feed is fresh: the window is the kiosk's `registry.freezeWindowSeconds`.
    public func freezeStatus(window: TimeInterval) async -> FeedFreezeStatus {
        FeedFreezeStatus.evaluate(root: try? await store.trustedRoot(), rootTrustedSince: ConfigStore.rootTrustedSince(storeRoot: store.root),
                                  freshness: await store.feedFreshness(), window: window, now: now())
    }

    /// Whether `announcement` names something not yet installed (nor tried and rolled back).
    func isNew(_ announcement: BundleAnnouncement) async -> Bool {
        guard let target = BundleTarget(announcement.target) else { return true }
        if let installed = await store.installedVersions()[target], installed >= announcement.version { return false }
        if await store.wasRolledBack(target: target, version: announcement.version) { return false }
        return !refused.contains(announcement.sha256.lowercased())
    }

    /// Downloads and applies one announced bundle. Returns the history entry, or nil when there
    /// was nothing new.
    @discardableResult
    public func consider(_ announcement: BundleAnnouncement, from feed: any ConfigFeed) async -> ConfigHistoryEntry? {
        guard await isNew(announcement) else { return nil }
        let entry = await download(announcement, from: feed)
        if let entry, entry.result != .committed { refused.insert(announcement.sha256.lowercased()) }
        return entry
    }

    private func download(_ announcement: BundleAnnouncement, from feed: any ConfigFeed) async -> ConfigHistoryEntry? {
        let target = BundleTarget(announcement.target)
        guard announcement.size > 0, announcement.size <= Self.maxBundleBytes else {
            return await reject(target, announcement.version, "announced size \(announcement.size) bytes is outside 1…\(Self.maxBundleBytes)", feed)
        }
        // The registry spreads a fleet's downloads: this kiosk's turn comes after its own delay.
        let delay = announcement.downloadDelay(kioskId: kioskId)
        if delay > .zero {
            logger.info("bundle download waits its turn in the fleet's spread",
                        metadata: ["target": "\(announcement.target)", "delay": "\(delay)"])
            try? await Task.sleep(for: delay)
            if Task.isCancelled { return nil }
        }
        let data: Data
        do { data = try await feed.download(announcement) } catch {
            logger.warning("bundle download failed; will retry", metadata: ["target": "\(announcement.target)", "error": "\(error)"])
            return nil
        }
        let digest = SHA256.hash(data: data).hexString
        guard data.count == announcement.size, digest == announcement.sha256.lowercased() else {
            return await reject(target, announcement.version,
                                "download is \(data.count) of \(announcement.size) bytes or its SHA-256 differs: truncated or altered", feed)
        }
        return await consider(envelope: data, feed: feed)
    }

    /// Verifies and applies one signed bundle envelope.
    @discardableResult
    public func consider(envelope data: Data, feed: (any ConfigFeed)?) async -> ConfigHistoryEntry {
        let bundle: VerifiedBundle
        let staged: (generation: ConfigGeneration, configuration: KioskConfiguration)
        do {
            guard let root = try await store.trustedRoot() else {
                throw BundleError.noTrustedRoot
            }
            bundle = try BundleVerifier(root: root, kioskId: kioskId, site: site)
                .verify(data, installedVersions: await store.installedVersions(), now: now())
            if let newRoot = bundle.files[Self.rootFile] {
                // A root rotation travels in a fleet bundle and must be signed by the trusted
                // root's threshold and its own; checked now, trusted once the bundle commits.
                guard bundle.manifest.target.scope == .fleet else {
                    throw BundleError.rootUpdate("a new root comes only in a fleet bundle, not in \(bundle.manifest.target)")
                }
                _ = try root.rotate(to: try SignedEnvelope.decode(newRoot), now: now())
            }
            staged = try await store.stage(bundle)
        } catch {
            return await reject(nil, nil, "\(error)", feed, envelope: data)
        }
        let target = bundle.manifest.target, version = bundle.manifest.version
        logger.notice("configuration staged; waiting until no citizen is being served",
                      metadata: ["target": "\(target)", "version": "\(version)", "generation": "\(staged.generation.generation)"])
        let entry = await sessions.holdingNewSessions {
            await store.activate(staged.generation, target: target, version: version, healthCheck: self.healthCheck)
        }
        if entry.result == .committed, let newRoot = bundle.files[Self.rootFile] {
            do {
                let rotated = try await store.installRoot(newRoot, now: now())
                logger.notice("fleet root rotated", metadata: ["version": "\(rotated.version)"])
                audit?.record(actor: "central", action: "config.root-rotated", detail: "root version \(rotated.version)")
            } catch {
                logger.error("fleet root not rotated", metadata: ["reason": "\(error)"])
            }
        }
        if entry.result == .committed {
            let directory = await store.currentDirectory()
            if let configuration = try? KioskConfiguration.load(from: directory) { await apply(configuration) }
            logger.notice("configuration applied", metadata: ["target": "\(target)", "version": "\(version)"])
        } else {
            logger.error("configuration rolled back", metadata: ["target": "\(target)", "version": "\(version)", "reason": "\(entry.reason ?? "")"])
        }
        audit?.record(actor: "central", action: "config.\(entry.result.rawValue)",
                      detail: "\(target) v\(version)\(entry.reason.map { ": \($0)" } ?? "")")
        await feed?.report(entry)
        return entry
    }

    private func reject(_ target: BundleTarget?, _ version: Int?, _ reason: String, _ feed: (any ConfigFeed)?,
                        envelope: Data? = nil) async -> ConfigHistoryEntry {
        var target = target, version = version
        if target == nil, let envelope, let manifest = Self.unverifiedManifest(envelope) {
            target = manifest.target
            version = manifest.version
        }
        let entry = await store.recordRejection(target: target, version: version, reason: reason)
        logger.error("configuration bundle rejected", metadata: ["target": "\(target?.description ?? "?")", "reason": "\(reason)"])
        audit?.record(actor: "central", action: "config.rejected", detail: "\(target?.description ?? "?") v\(version ?? 0): \(reason)")
        await feed?.report(entry)
        return entry
    }

    /// The file of a fleet bundle that carries a new root.
    static let rootFile = "keys/root.json"

    /// What a bundle says it is, before any check: only to name it in the history.
    static func unverifiedManifest(_ data: Data) -> BundleManifest? {
        guard let envelope = try? SignedEnvelope.decode(data), let body = Data(base64Encoded: envelope.payload) else { return nil }
        return try? JSONDecoder().decode(BundleManifest.self, from: body)
    }
}

/// Follows the feed and hands each new bundle to the agent, fleet layer first.
public struct ConfigAgentService: Service {
    let agent: ConfigAgent
    let feed: any ConfigFeed

    public init(agent: ConfigAgent, feed: any ConfigFeed) {
        self.agent = agent
        self.feed = feed
    }

    public func run() async throws {
        for await answer in feed.announcements().cancelOnGracefulShutdown() {
            await agent.observe(answer)
            let ordered = answer.bundles.sorted {
                (BundleTarget($0.target)?.scope.rank ?? 9, $0.version) < (BundleTarget($1.target)?.scope.rank ?? 9, $1.version)
            }
            for announcement in ordered { await agent.consider(announcement, from: feed) }
        }
    }
}
