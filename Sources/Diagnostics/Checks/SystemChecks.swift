import Foundation
import KioskConfig

/// Free space of a file system.
public struct DiskSpace: Sendable, Equatable {
    public var freeBytes: UInt64
    public var totalBytes: UInt64

    public init(freeBytes: UInt64, totalBytes: UInt64) {
        self.freeBytes = freeBytes
        self.totalBytes = totalBytes
    }

    /// statvfs of `path`, or of its nearest existing parent.
    public static func of(_ path: String) -> (path: String, space: DiskSpace)? {
        var url = URL(fileURLWithPath: path)
        while !FileManager.default.fileExists(atPath: url.path), url.pathComponents.count > 1 {
            url.deleteLastPathComponent()
        }
        var info = statvfs()
        guard statvfs(url.path, &info) == 0 else { return nil }
        let block = UInt64(info.f_frsize == 0 ? info.f_bsize : info.f_frsize)
        return (url.path, DiskSpace(freeBytes: UInt64(info.f_bavail) * block, totalBytes: UInt64(info.f_blocks) * block))
    }

    /// fail below 200 MiB; warn below 1 GiB or 10 %.
    public var status: CheckStatus {
        if freeBytes < 200 << 20 { return .fail }
        if freeBytes < 1 << 30 || (totalBytes > 0 && Double(freeBytes) / Double(totalBytes) < 0.10) { return .warn }
        return .ok
    }

    static func words(_ bytes: UInt64) -> String {
        let gib = Double(bytes) / Double(1 << 30)
        return gib >= 1 ? String(format: "%.1f GiB", gib) : "\(bytes >> 20) MiB"
    }
}

/// `disk`: free space where kioskd keeps its state and where CUPS spools.
public struct DiskCheck: DiagnosticCheck {
    public let id = "disk"
    public let area = DiagnosticArea.system

    /// Measures a path; tests replace it.
    public var measure: @Sendable (String) -> (path: String, space: DiskSpace)?

    public init(measure: @escaping @Sendable (String) -> (path: String, space: DiskSpace)? = { DiskSpace.of($0) }) {
        self.measure = measure
    }

    public func run(_ context: DiagnosticContext) async -> CheckResult {
        let places = [("state", context.environment.stateDirectory.path), ("spool", context.environment.cupsSpoolDirectory.path)]
        let measure = self.measure
        let measured = await Blocking.run { places.map { ($0.0, $0.1, measure($0.1)) } }
        var parts: [String] = []
        var worst = CheckStatus.ok
        var actions: [String] = []
        for (name, path, result) in measured {
            guard let result else {
                parts.append("\(name) \(path): cannot measure")
                worst = max(worst, .warn)
                continue
            }
            let space = result.space
            let percent = space.totalBytes > 0 ? Int((Double(space.freeBytes) * 100 / Double(space.totalBytes)).rounded()) : 0
            parts.append("\(name) \(result.path): \(DiskSpace.words(space.freeBytes)) free (\(percent) %)")
            if space.status > .ok {
                actions.append("free space on \(result.path): `du -xsh \(result.path)/* | sort -h`; old logs go with `journalctl --vacuum-size=200M`")
            }
            worst = max(worst, space.status)
        }
        let detail = parts.joined(separator: "; ")
        switch worst {
        case .ok: return .ok(id, detail)
        case .warn: return .warn(id, detail, action: actions.first ?? "check the paths exist")
        case .fail: return .fail(id, detail, action: actions.first ?? "free disk space")
        }
    }
}

/// `config`: the configuration directory loads and validates; the applied bundle's version,
/// its signature against the trusted root, and the last apply result.
public struct ConfigCheck: DiagnosticCheck {
    public let id = "config"
    public let area = DiagnosticArea.config

    public init() {}

    public func run(_ context: DiagnosticContext) async -> CheckResult {
        let directory = context.environment.configDirectory.path
        let configuration: KioskConfiguration
        switch context.configuration {
        case .failure(let error):
            return .fail(id, "\(directory)/\(error.description)",
                         action: "fix \(error.file)" + (error.line.map { " line \($0)" } ?? "") + (error.field.isEmpty ? "" : " (\(error.field))")
                             + ", or roll back: the last applied configuration is under <state>/config/generations")
        case .success(let loaded):
            configuration = loaded
        }
        var parts = ["\(directory) valid (kiosk \(configuration.settings.kiosk.id))"]
        let storeRoot = context.environment.stateDirectory.appendingPathComponent("config")
        guard FileManager.default.fileExists(atPath: storeRoot.path) else {
            parts.append("no configuration bundle applied (embedded or local configuration)")
            return .ok(id, parts.joined(separator: "; "))
        }
        let facts = ConfigStoreFacts.read(root: storeRoot)
        if let generation = facts.generation {
            let layers = ConfigGeneration.layerText(generation.layers)
            parts.append("generation \(generation.generation)" + (layers.isEmpty ? "" : " (\(layers))"))
        } else {
            parts.append("no bundle applied: the embedded default is in use")
        }
        var status = CheckStatus.ok
        var action = ""
        if let signature = facts.signatureProblem {
            parts.append("signature: \(signature)")
            status = .fail
            action = "re-publish the configuration from central operations; `kioskctl config rollback` if the kiosk misbehaves"
        } else if facts.generation != nil {
            parts.append(facts.hasRoot ? "signatures verify against the trusted root" : "no trusted root installed")
            if !facts.hasRoot { status = .warn; action = "install the trusted root from central operations" }
        }
        if let last = facts.lastEvent {
            var text = "last apply: \(last.result.rawValue)" + (last.version.map { " v\($0)" } ?? "") + " at \(last.time)"
            if let reason = last.reason { text += " (\(reason))" }
            parts.append(text)
            if last.result == .rolledBack || last.result == .rejected, status == .ok {
                status = .warn
                action = "tell central operations: the last bundle was \(last.result == .rejected ? "rejected" : "rolled back")" + (last.reason.map { ": \($0)" } ?? "")
            }
        }
        return CheckResult(id: id, status: status, detail: parts.joined(separator: "; "), action: action)
    }
}

/// `freshness`: whether the configuration feed still gives fresh signed statements (a frozen
/// feed hides newer bundles: a revoked key, a moved registry).
public struct FreshnessCheck: DiagnosticCheck {
    public let id = "freshness"
    public let area = DiagnosticArea.config

    public init() {}

    public func run(_ context: DiagnosticContext) async -> CheckResult {
        let storeRoot = context.environment.stateDirectory.appendingPathComponent("config")
        let window = (try? context.configuration.get())?.settings.registry.freezeWindow ?? FeedFreezeStatus.defaultWindow
        let root = (try? Data(contentsOf: storeRoot.appendingPathComponent(ConfigStore.rootFile)))
            .flatMap { try? SignedEnvelope.decode($0) }.flatMap { try? RootMetadata.trustOnFirstUse($0) }
        let since = ConfigStore.rootTrustedSince(storeRoot: storeRoot)
        let freshness = FeedFreshness.read(storeRoot: storeRoot)
        let status = FeedFreezeStatus.evaluate(root: root, rootTrustedSince: since, freshness: freshness, window: window, now: Date())
        let refusal = freshness?.lastRefusal.map { "; last statement refused: \($0)" } ?? ""
        let windowText = "window \(Durations.words(window))"
        switch status {
        case .unprotected:
            if root == nil {
                return .ok(id, "no trusted root installed yet, so no feed to check (kioskd installs keys/root.json when it starts)")
            }
            return .warn(id, "the trusted root names no timestamp key: a frozen or replayed feed would go unnoticed",
                         action: "central operations: rotate the root with a timestamp key (registryd config root --timestamp-key) and start registryd with --timestamp-key")
        case let .heard(age, frozen):
            let heard = freshness?.heard ?? "?"
            if frozen {
                return .fail(id, "frozen: the last fresh signed statement from the feed was \(Durations.words(age)) ago (\(heard); \(windowText))\(refusal)",
                             action: "check the network to the registry (kioskctl diag registry); if it answers, its statements are refused or replayed: tell central operations")
            }
            if freshness?.lastRefusal != nil {
                return .warn(id, "fresh: last signed statement \(Durations.words(age)) ago (\(windowText))\(refusal)",
                             action: "tell central operations: the registry's statements are being refused")
            }
            return .ok(id, "fresh: last signed statement from the feed \(Durations.words(age)) ago (\(windowText))")
        case let .neverHeard(waiting, frozen):
            let text = "no fresh signed statement from the feed since the root was trusted \(Durations.words(waiting)) ago (\(windowText))\(refusal)"
            if frozen {
                return .fail(id, "frozen: " + text, action: "check the network to the registry (kioskctl diag registry) and that registryd runs with --timestamp-key")
            }
            return .warn(id, text, action: "wait for the registry's next answer; if this stays, check that registryd runs with --timestamp-key")
        }
    }
}

/// What the configuration store holds, read without changing anything.
struct ConfigStoreFacts {
    var generation: ConfigGeneration?
    var hasRoot = false
    var signatureProblem: String?
    var lastEvent: ConfigHistoryEntry?

    static func read(root: URL) -> ConfigStoreFacts {
        var facts = ConfigStoreFacts()
        let fm = FileManager.default
        let current = root.appendingPathComponent("current")
        if let target = try? fm.destinationOfSymbolicLink(atPath: current.path) {
            let dir = root.appendingPathComponent(target)
            if let data = try? Data(contentsOf: dir.appendingPathComponent("generation.json")) {
                facts.generation = try? JSONDecoder().decode(ConfigGeneration.self, from: data)
            }
            if let rootData = try? Data(contentsOf: root.appendingPathComponent(ConfigStore.rootFile)) {
                do {
                    let trusted = try RootMetadata.trustOnFirstUse(try SignedEnvelope.decode(rootData))
                    facts.hasRoot = true
                    for key in facts.generation?.layers.keys.sorted() ?? [] {
                        let layer = dir.appendingPathComponent("layers/\(key).json")
                        do {
                            guard let data = try? Data(contentsOf: layer) else {
                                facts.signatureProblem = "layer \(key) has no envelope"
                                break
                            }
                            let envelope = try SignedEnvelope.decode(data)
                            _ = try envelope.verifiedPayload(type: SignedEnvelope.configType, role: "publisher", root: trusted)
                        } catch {
                            facts.signatureProblem = "layer \(key): \(error)"
                            break
                        }
                    }
                } catch {
                    facts.signatureProblem = "the trusted root is unreadable: \(error)"
                }
            }
        }
        if let text = try? String(contentsOf: root.appendingPathComponent("history.jsonl"), encoding: .utf8),
           let line = text.split(separator: "\n").last {
            facts.lastEvent = try? JSONDecoder().decode(ConfigHistoryEntry.self, from: Data(line.utf8))
        }
        return facts
    }
}

/// `outbox`: depth, the oldest item's age and dead letters, from the outbox provider.
public struct OutboxCheck: DiagnosticCheck {
    public let id = "outbox"
    public let area = DiagnosticArea.queue

    /// Items waiting longer than this warn; longer than `failAgeSeconds` fail.
    public static let warnAgeSeconds = 15.0 * 60
    public static let failAgeSeconds = 24.0 * 3600
    /// More waiting items than this warn.
    public static let warnDepth = 100

    public init() {}

    public func run(_ context: DiagnosticContext) async -> CheckResult {
        guard let provider = context.environment.outbox else {
            return .warn(id, context.daemon.isRunning ? "outbox figures need kioskd's technician API (not served)" : "outbox figures need kioskd",
                         action: context.daemon.isRunning ? "update kioskd" : DaemonCheck.startAction)
        }
        let figures: OutboxFigures
        do { figures = try await provider.outboxFigures() } catch {
            return .warn(id, "outbox figures unavailable: \(error)", action: context.daemon.isRunning ? "update kioskd" : DaemonCheck.startAction)
        }
        return Self.judge(figures)
    }

    /// The row for a set of figures.
    public static func judge(_ figures: OutboxFigures) -> CheckResult {
        let id = "outbox"
        var detail = "\(figures.depth) item(s) waiting"
        if let age = figures.oldestAgeSeconds, figures.depth > 0 { detail += ", oldest \(Durations.words(age))" }
        detail += "; \(figures.deadLetters) dead letter(s)"
        let age = figures.depth > 0 ? (figures.oldestAgeSeconds ?? 0) : 0
        if age > failAgeSeconds {
            return .fail(id, detail + "; the outbox has not drained for over a day",
                         action: "check the registry row; then `kioskctl queue` to inspect and retry")
        }
        if figures.deadLetters > 0 {
            return .warn(id, detail, action: "inspect the dead letters with `kioskctl queue` and retry or discard them")
        }
        if age > warnAgeSeconds || figures.depth > warnDepth {
            return .warn(id, detail + "; the queue is backed up", action: "check the registry row (network, clock, identity); the outbox drains by itself once the registry is reachable")
        }
        return .ok(id, detail)
    }
}

/// `heartbeat`: time since the registry last accepted the kiosk's heartbeat, from the provider.
public struct HeartbeatCheck: DiagnosticCheck {
    public let id = "heartbeat"
    public let area = DiagnosticArea.registry

    public init() {}

    public func run(_ context: DiagnosticContext) async -> CheckResult {
        guard let provider = context.environment.heartbeat else {
            return .warn(id, context.daemon.isRunning ? "heartbeat figures need kioskd's technician API (not served)" : "heartbeat figures need kioskd",
                         action: context.daemon.isRunning ? "update kioskd" : DaemonCheck.startAction)
        }
        let figures: HeartbeatFigures
        do { figures = try await provider.heartbeatFigures() } catch {
            return .warn(id, "heartbeat figures unavailable: \(error)", action: context.daemon.isRunning ? "update kioskd" : DaemonCheck.startAction)
        }
        return Self.judge(figures, now: context.environment.now())
    }

    /// The row for a set of figures: warn after three missed intervals, fail after ten.
    public static func judge(_ figures: HeartbeatFigures, now: Date) -> CheckResult {
        let id = "heartbeat"
        let error = figures.lastError.map { "; last attempt failed: \($0)" } ?? ""
        guard let last = figures.lastAcceptedAt else {
            return .warn(id, "no heartbeat accepted yet" + error, action: "check the registry and identity rows")
        }
        let age = now.timeIntervalSince(last)
        let detail = "last heartbeat accepted \(Durations.words(age)) ago (every \(Durations.words(figures.intervalSeconds)))" + error
        if age > figures.intervalSeconds * 10 {
            return .fail(id, detail, action: "central operations sees this kiosk as offline: check the registry and identity rows")
        }
        if age > figures.intervalSeconds * 3 {
            return .warn(id, detail, action: "check the registry and identity rows")
        }
        return .ok(id, detail)
    }
}
