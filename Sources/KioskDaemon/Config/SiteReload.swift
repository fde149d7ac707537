import Foundation
import KioskConfig
import ServiceLifecycle
import UnixSignals

/// Reads the site's configuration again on SIGHUP (`systemctl reload kioskd`), without a restart.
struct SiteReloadService: Service {
    let reload: @Sendable () async -> Void

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() { await reload() }
    }
}

/// What a reload of the site's configuration did.
public enum SiteReloadOutcome: Sendable, Equatable {
    /// The new configuration is in use.
    case applied
    /// Read and valid, but a signed generation from the fleet is in use and stays so.
    case keptSignedGeneration(Int)
    /// Refused, saying why; the running configuration stays.
    case refused(String)
}

extension Kioskd {
    /// Lays the site's directory over the packaged defaults again, checks the result the way a
    /// start does and takes it into use. A configuration that does not load, or that changes the
    /// kiosk's identity, is refused and the running one stays; so does a signed generation.
    public func reloadSite() async -> SiteReloadOutcome {
        let outcome = await readSite()
        switch outcome {
        case .applied:
            logger.notice("site configuration reloaded")
            audit.record(actor: "kioskd", action: "config.reload", detail: "applied")
        case .keptSignedGeneration(let generation):
            logger.notice("site configuration read; the signed generation stays in use", metadata: ["generation": "\(generation)"])
            audit.record(actor: "kioskd", action: "config.reload", detail: "valid; signed generation \(generation) stays")
        case .refused(let why):
            logger.error("site configuration reload refused; the running configuration stays", metadata: ["reason": "\(why)"])
            audit.record(actor: "kioskd", action: "config.reload", detail: "refused: \(why.prefix(300))")
        }
        return outcome
    }

    private func readSite() async -> SiteReloadOutcome {
        let site = options.siteDirectory ?? options.configDirectory
        // Checked in a scratch merge first: the directory in use changes only for a good configuration.
        let scratch = options.runtimeDirectory.appendingPathComponent("site-reload")
        defer { try? FileManager.default.removeItem(at: scratch) }
        do {
            let candidate = try KioskConfiguration.load(from: try SiteLayer.resolve(site, workDirectory: scratch))
            let running = currentConfiguration.withLock { $0 }
            guard candidate.settings.kiosk.id == running.settings.kiosk.id else {
                return .refused("kiosk.id changes from \(running.settings.kiosk.id) to \(candidate.settings.kiosk.id): a new identity needs enrolment and a restart")
            }
            if let generation = await configStore.currentGeneration() { return .keptSignedGeneration(generation.generation) }
            let merged = try SiteLayer.resolve(site, workDirectory: options.runtimeDirectory)
            await apply(try KioskConfiguration.load(from: merged))
            return .applied
        } catch {
            return .refused("\(error)")
        }
    }
}
