import Foundation
import Logging
import Registry
import ServiceLifecycle

/// While writes wait in the outbox for a registry that did not answer, asks the registry's
/// `GET /v1/health` every few seconds (a cheap request, outside the circuit breaker); when it
/// answers, the waiting items are sent at once instead of sitting out their backoff.
struct RegistryWatchService: Service {
    let gateway: RegistryBackedGateway
    let logger: Logger
    var interval: Duration = .seconds(3)

    func run() async throws {
        let probe = RegistryClient(configuration: gateway.client.configuration, endpoint: gateway.client.endpoint)
        var wasDown = false
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            guard await sleepUnlessStopping(interval) else { return }
            // Nothing queued (known from memory): nothing to read, nobody waiting on the registry.
            guard gateway.outbox.depth() > 0, let status = try? await gateway.outbox.status(), status.depth > 0,
                  status.streams.contains(where: { $0.lastError != nil }) || gateway.client.breaker.isOpen else {
                wasDown = false
                continue
            }
            do {
                _ = try await probe.health()
                gateway.client.breaker.reset()
                let due = (try? gateway.outbox.makeDueNow()) ?? 0
                if wasDown || due > 0 { logger.notice("registry answers again; sending the outbox", metadata: ["waiting": "\(status.depth)"]) }
                wasDown = false
            } catch {
                wasDown = true
            }
        }
    }
}
