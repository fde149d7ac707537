import Foundation
import KioskCore

/// One line of the configuration history.
public struct ConfigHistoryEntry: Codable, Sendable, Equatable {
    /// What happened to a bundle.
    public enum Result: String, Codable, Sendable {
        /// Verified, applied, health-checked and kept.
        case committed
        /// Applied, failed its health check, and the previous configuration was restored.
        case rolledBack
        /// Refused before anything was touched.
        case rejected
        /// A technician returned to an earlier generation.
        case manualRollback
    }

    public var time: String
    public var result: Result
    /// The target and version of the bundle, when there was one.
    public var target: String?
    public var version: Int?
    /// The generation that is current after this event.
    public var generation: Int
    public var reason: String?
}

/// What the running kiosk uses: a generation of composed configuration.
public struct ConfigGeneration: Codable, Sendable, Equatable {
    public var generation: Int
    /// The version installed for each target, e.g. `["fleet": 3, "site:demo-hall": 1]`.
    public var layers: [String: Int]

    /// Layers as a technician reads them, by target: `fleet v3, site:demo-hall v1`.
    public static func layerText(_ layers: [String: Int]) -> String {
        layers.sorted { $0.key < $1.key }.map { "\($0.key) v\($0.value)" }.joined(separator: ", ")
    }
}

/// Keeps trusted metadata, accepted layers and composed configuration generations on disk, and
/// applies verified bundles atomically with a health check and automatic rollback.
///
/// Layout under `<state>/config/`: `trust/root.json` (trusted root envelope), `generations/N/`
/// (a complete configuration directory plus `generation.json` and the layer envelopes it was made
/// from), `current` (a symlink to the generation in use, swapped with one atomic rename), and
/// `history.jsonl`. `trust/versions.json` keeps the highest version ever trusted per target, apart
/// from the generations: rollbacks and a return to the embedded default never lower it, so a
/// bundle that reuses an old version number is refused. Every generation, link and trust file is
/// flushed to disk (files, then directories) before it is used.
public actor ConfigStore {
    public nonisolated let root: URL
    /// The embedded default every generation starts from.
    public nonisolated let baseDirectory: URL
    private let fileManager = FileManager.default

    public init(stateDirectory: URL, baseDirectory: URL) throws {
        root = stateDirectory.appendingPathComponent("config")
        self.baseDirectory = baseDirectory
        for dir in ["trust", "generations"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(dir), withIntermediateDirectories: true)
        }
    }

    // MARK: Trust

    /// The trusted root, or nil before one is installed.
    public func trustedRoot() throws(BundleError) -> RootMetadata? {
        let url = root.appendingPathComponent(Self.rootFile)
        guard let data = try? Data(contentsOf: url) else { return nil }
        return try RootMetadata.decodeUnverified(try SignedEnvelope.decode(data))
    }

    /// Installs root metadata: pinned on first use, otherwise only as a verified rotation.
    @discardableResult
    public func installRoot(_ data: Data, now: Date = Date()) throws(BundleError) -> RootMetadata {
        let envelope = try SignedEnvelope.decode(data)
        let next: RootMetadata
        if let current = try trustedRoot() {
            next = try current.rotate(to: envelope, now: now)
        } else {
            next = try RootMetadata.trustOnFirstUse(envelope)
        }
        do {
            try DurableFiles.writeAtomically(data, to: root.appendingPathComponent(Self.rootFile).path)
        } catch {
            throw .rootUpdate("could not store it: \(error.description)")
        }
        return next
    }

    // MARK: Generations

    /// The directory of the configuration in use, read without the actor (at start-up).
    public nonisolated static func currentDirectory(stateDirectory: URL, baseDirectory: URL) -> URL {
        let link = stateDirectory.appendingPathComponent("config/current")
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: link.path) else { return baseDirectory }
        let directory = stateDirectory.appendingPathComponent("config").appendingPathComponent(target)
        return FileManager.default.fileExists(atPath: directory.appendingPathComponent("kiosk.yaml").path) ? directory : baseDirectory
    }

    /// The directory of the configuration in use: the current generation, else the embedded default.
    public func currentDirectory() -> URL {
        guard let generation = currentGeneration() else { return baseDirectory }
        return generationURL(generation.generation)
    }

    /// The generation in use, or nil while the embedded default is in use.
    public func currentGeneration() -> ConfigGeneration? {
        let link = root.appendingPathComponent("current")
        guard let target = try? fileManager.destinationOfSymbolicLink(atPath: link.path),
              let data = try? Data(contentsOf: root.appendingPathComponent(target).appendingPathComponent("generation.json")) else {
            return nil
        }
        return try? JSONDecoder().decode(ConfigGeneration.self, from: data)
    }

    /// The version a new bundle must exceed, per target: the highest version ever trusted
    /// (`trust/versions.json`), or the current generation's where that is higher.
    public func installedVersions() -> [BundleTarget: Int] {
        var versions: [BundleTarget: Int] = [:]
        for (key, version) in highestTrusted().merging(currentGeneration()?.layers ?? [:], uniquingKeysWith: max) {
            if let target = BundleTarget(key) { versions[target] = version }
        }
        return versions
    }

    /// The highest version ever trusted per target, as kept in `trust/versions.json`.
    public func highestTrusted() -> [String: Int] {
        guard let data = try? Data(contentsOf: root.appendingPathComponent("trust/versions.json")),
              let versions = try? JSONDecoder().decode([String: Int].self, from: data) else { return [:] }
        return versions
    }

    private func raiseHighestTrusted(_ layers: [String: Int]) throws {
        let merged = highestTrusted().merging(layers, uniquingKeysWith: max)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try DurableFiles.writeAtomically(try encoder.encode(merged), to: root.appendingPathComponent("trust/versions.json").path)
    }

    // MARK: Freshness

    /// Where what the feed last said is kept, relative to the store's root.
    public nonisolated static let freshnessFile = "trust/freshness.json"

    /// What the feed last said, or nil before its first statement.
    public func feedFreshness() -> FeedFreshness? {
        FeedFreshness.read(storeRoot: root)
    }

    /// Records an accepted statement issued at `issued`, heard at `heard`.
    public func recordFreshStatement(issued: Date, heard: Date) throws {
        try writeFreshness(FeedFreshness(issued: ConfigDates.format(issued), heard: ConfigDates.format(heard)))
    }

    /// Records why a statement was refused; what was last accepted stays.
    public func recordRefusedStatement(_ reason: String) throws {
        var freshness = feedFreshness() ?? FeedFreshness()
        guard freshness.lastRefusal != reason else { return }
        freshness.lastRefusal = reason
        try writeFreshness(freshness)
    }

    /// Where the trusted root is kept, relative to the store's root.
    public nonisolated static let rootFile = "trust/root.json"

    /// When the trusted root under `storeRoot` was installed (its file's time), or nil without one;
    /// read without the store (by diag too).
    public nonisolated static func rootTrustedSince(storeRoot: URL) -> Date? {
        try? FileManager.default.attributesOfItem(atPath: storeRoot.appendingPathComponent(rootFile).path)[.modificationDate] as? Date
    }

    private func writeFreshness(_ freshness: FeedFreshness) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try DurableFiles.writeAtomically(try encoder.encode(freshness), to: root.appendingPathComponent(Self.freshnessFile).path)
    }

    /// Whether this exact target and version was applied before and rolled back.
    public func wasRolledBack(target: BundleTarget, version: Int) -> Bool {
        history().contains { $0.result == .rolledBack && $0.target == target.description && $0.version == version }
    }

    /// Composes a new generation from the current layers plus `bundle`, and validates it.
    /// Nothing in use changes.
    public func stage(_ bundle: VerifiedBundle) throws(BundleError) -> (generation: ConfigGeneration, configuration: KioskConfiguration) {
        let number = (generationNumbers().max() ?? 0) + 1
        let staging = root.appendingPathComponent("generations/\(number).staging")
        try? fileManager.removeItem(at: staging)
        do {
            try FileTree.copy(baseDirectory, to: staging)
            // Layers of the current generation, then the new bundle, in fleet → site → kiosk order.
            var layers: [BundleTarget: SignedEnvelope] = [:]
            if let current = currentGeneration() {
                for key in current.layers.keys {
                    if let target = BundleTarget(key),
                       let data = try? Data(contentsOf: generationURL(current.generation).appendingPathComponent("layers/\(key).json")),
                       let envelope = try? SignedEnvelope.decode(data) {
                        layers[target] = envelope
                    }
                }
            }
            layers[bundle.manifest.target] = bundle.envelope
            try fileManager.createDirectory(at: staging.appendingPathComponent("layers"), withIntermediateDirectories: true)
            var versions: [String: Int] = [:]
            for target in layers.keys.sorted(by: { $0.scope < $1.scope }) {
                guard let envelope = layers[target] else { continue }
                let manifest: BundleManifest
                let files: [String: Data]
                if target == bundle.manifest.target {
                    manifest = bundle.manifest
                    files = bundle.files
                } else {
                    guard let body = Data(base64Encoded: envelope.payload),
                          let decoded = try? JSONDecoder().decode(BundleManifest.self, from: body) else { continue }
                    manifest = decoded
                    files = try decoded.checkedFiles()
                }
                for (path, contents) in files {
                    let url = staging.appendingPathComponent(path)
                    try fileManager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                    try contents.write(to: url)
                }
                try JSONEncoder().encode(envelope).write(to: staging.appendingPathComponent("layers/\(target.description).json"))
                versions[target.description] = manifest.version
            }
            let generation = ConfigGeneration(generation: number, layers: versions)
            let configuration = try KioskConfiguration.load(from: staging)
            try JSONEncoder().encode(generation).write(to: staging.appendingPathComponent("generation.json"))
            try DurableFiles.syncTree(staging.path)
            try fileManager.moveItem(at: staging, to: generationURL(number))
            try DurableFiles.sync(root.appendingPathComponent("generations").path)
            var loaded = configuration
            loaded.directory = generationURL(number)
            return (generation, loaded)
        } catch let error as ConfigurationError {
            try? fileManager.removeItem(at: staging)
            throw .invalidConfiguration(error)
        } catch let error as BundleError {
            try? fileManager.removeItem(at: staging)
            throw error
        } catch let error as FileTreeError {
            try? fileManager.removeItem(at: staging)
            throw .malformed("could not stage the bundle: \(error)")
        } catch {
            try? fileManager.removeItem(at: staging)
            throw .malformed("could not stage the bundle: \(error.localizedDescription)")
        }
    }

    /// Makes `generation` current with one atomic rename, runs `healthCheck` against it, and keeps
    /// it when the check returns nil, or restores the previous configuration when it returns a reason.
    /// - Returns: the history entry written.
    public func activate(
        _ generation: ConfigGeneration, target: BundleTarget, version: Int,
        healthCheck: @Sendable (KioskConfiguration) async -> String?
    ) async -> ConfigHistoryEntry {
        let previous = currentGeneration()
        do {
            // Trusted from now on, whatever becomes of it: its version can never be reused.
            try raiseHighestTrusted(generation.layers)
            try point(to: generation.generation)
            let configuration = try KioskConfiguration.load(from: generationURL(generation.generation))
            if let failure = await healthCheck(configuration) {
                try restore(previous)
                return record(.rolledBack, target: target, version: version, reason: "health check failed: \(failure)")
            }
            return record(.committed, target: target, version: version, reason: nil)
        } catch {
            try? restore(previous)
            return record(.rolledBack, target: target, version: version, reason: "\(error)")
        }
    }

    /// Records a bundle refused before anything was touched.
    @discardableResult
    public func recordRejection(target: BundleTarget?, version: Int?, reason: String) -> ConfigHistoryEntry {
        record(.rejected, target: target, version: version, reason: reason)
    }

    /// Returns to the generation before the current one (or the embedded default).
    @discardableResult
    public func rollback(reason: String) throws(BundleError) -> ConfigHistoryEntry {
        guard let current = currentGeneration() else {
            throw .nothingToRollBack
        }
        let earlier = generationNumbers().filter { $0 < current.generation }.max()
        do {
            try restore(earlier.flatMap(generation(number:)))
        } catch {
            throw .malformed("could not switch generations: \(error.localizedDescription)")
        }
        return record(.manualRollback, target: nil, version: nil, reason: reason)
    }

    /// Every recorded event, oldest first.
    public func history() -> [ConfigHistoryEntry] {
        guard let text = try? String(contentsOf: root.appendingPathComponent("history.jsonl"), encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(ConfigHistoryEntry.self, from: Data($0.utf8)) }
    }

    // MARK: Internals

    private func generationURL(_ number: Int) -> URL {
        root.appendingPathComponent("generations/\(number)")
    }

    private func generationNumbers() -> [Int] {
        ((try? fileManager.contentsOfDirectory(atPath: root.appendingPathComponent("generations").path)) ?? [])
            .compactMap(Int.init)
    }

    private func generation(number: Int) -> ConfigGeneration? {
        guard let data = try? Data(contentsOf: generationURL(number).appendingPathComponent("generation.json")) else { return nil }
        return try? JSONDecoder().decode(ConfigGeneration.self, from: data)
    }

    private func restore(_ generation: ConfigGeneration?) throws {
        if let generation {
            try point(to: generation.generation)
        } else {
            try? fileManager.removeItem(at: root.appendingPathComponent("current"))
            try DurableFiles.sync(root.path)
        }
    }

    /// Swaps `current` to generation `number` with a single rename(2).
    private func point(to number: Int) throws {
        let temporary = root.appendingPathComponent("current.new")
        try? fileManager.removeItem(at: temporary)
        try fileManager.createSymbolicLink(atPath: temporary.path, withDestinationPath: "generations/\(number)")
        guard rename(temporary.path, root.appendingPathComponent("current").path) == 0 else {
            throw BundleError.malformed("could not switch to generation \(number): errno \(errno)")
        }
        try DurableFiles.sync(root.path)
    }

    private func record(_ result: ConfigHistoryEntry.Result, target: BundleTarget?, version: Int?, reason: String?) -> ConfigHistoryEntry {
        let entry = ConfigHistoryEntry(time: ConfigDates.format(Date()), result: result, target: target?.description,
                                       version: version, generation: currentGeneration()?.generation ?? 0, reason: reason)
        if let line = try? JSONEncoder().encode(entry) {
            let url = root.appendingPathComponent("history.jsonl")
            if let handle = try? FileHandle(forWritingTo: url) {
                handle.seekToEndOfFile()
                handle.write(line + Data("\n".utf8))
                try? handle.synchronize()
                try? handle.close()
            } else {
                try? (line + Data("\n".utf8)).write(to: url)
            }
        }
        return entry
    }
}
