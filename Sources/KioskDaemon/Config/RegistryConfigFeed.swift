import AsyncHTTPClient
import Foundation
import KioskCore
import KioskConfig
import Logging
import Registry

/// Configuration bundles from the registry: a long poll kept open (the registry answers as soon as
/// something is published for this kiosk, its site or the fleet, and at the latest after `wait`
/// seconds with a fresh statement), polling again after errors.
public struct RegistryConfigFeed: ConfigFeed {
    let client: RegistryClient
    let site: String
    let logger: Logger
    /// How long one poll waits at the registry.
    let wait: Int

    /// A feed through a client of its own (a long deadline, its own circuit breaker) that follows
    /// `base` when the registry moves.
    public init(base: RegistryClient, site: String, logger: Logger, wait: Int = 25,
                httpClient: HTTPClient = RegistryClient.sharedHTTPClient) {
        var configuration = base.configuration
        configuration.deadline = .seconds(Int64(wait + 10))
        configuration.attemptTimeout = .seconds(Int64(wait + 10))
        configuration.maxAttempts = 1
        client = RegistryClient(configuration: configuration, httpClient: httpClient, endpoint: base.endpoint)
        self.site = site
        self.logger = logger
        self.wait = wait
    }

    public func announcements() -> AsyncStream<FeedAnswer> {
        let (client, site, wait, logger) = (self.client, self.site, self.wait, self.logger)
        return AsyncStream { continuation in
            let task = Task {
                var etag: String?
                var backoff = Backoff(base: .seconds(1), cap: .seconds(30))
                while !Task.isCancelled {
                    do {
                        let answer = try await client.configAnnouncements(site: site, etag: etag, wait: etag == nil ? 0 : wait)
                        backoff.reset()
                        etag = answer.etag
                        // Every answer goes on, unchanged bundles too: it carries a fresh statement,
                        // and a bundle whose download failed is tried again.
                        continuation.yield(FeedAnswer(bundles: answer.bundles, statement: answer.statement.flatMap { Data(base64Encoded: $0) }))
                    } catch {
                        if Task.isCancelled { break }
                        etag = nil  // the next poll answers at once: with a fresh statement, and whatever was missed

                        logger.debug("configuration feed: \(error)")
                        try? await Task.sleep(for: backoff.next())
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    public func download(_ announcement: BundleAnnouncement) async throws -> Data {
        try await client.configBundle(id: announcement.id)
    }

    public func report(_ entry: ConfigHistoryEntry) async {
        let report = ConfigReport(target: entry.target, version: entry.version, result: entry.result.rawValue, reason: entry.reason,
                                  generation: entry.generation, at: Date())
        do { try await client.reportConfig(report) } catch {
            logger.warning("configuration report not delivered", metadata: ["error": "\(error)"])
        }
    }
}
