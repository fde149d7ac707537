import Foundation
import KioskCore
import Logging
import Registry
import ServiceLifecycle

/// Registers the kiosk's document-signing public key at the registry, so that anyone holding a
/// printed document can check its code: at start, again every hour (a moved or restored registry
/// learns it too), and sooner after a failure.
struct DocumentKeyService: Service {
    let gateway: RegistryBackedGateway
    let publicKey: String
    let audit: AuditLog
    let logger: Logger
    var interval: Duration = .seconds(3600)

    func run() async throws {
        var backoff = Backoff(base: .seconds(5), cap: .seconds(300))
        var registeredOnce = false
        var lastProblem: String?
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let wait: Duration
            do {
                let key = try await gateway.client.registerDocumentKey(publicKey: publicKey)
                if !registeredOnce {
                    logger.notice("document key registered at the registry", metadata: ["keyId": "\(key.keyId)"])
                    audit.record(actor: "kioskd", action: "document-key.registered", detail: "key \(key.keyId)")
                    registeredOnce = true
                }
                lastProblem = nil
                backoff.reset()
                wait = interval
            } catch {
                let problem = "\(error)"
                if problem != lastProblem {
                    // A refusal will not go away by itself: say what to do.
                    if case .refused = error {
                        logger.error("the registry refused the document key: codes printed here cannot be checked against it",
                                     metadata: ["reason": "\(problem)"])
                    } else {
                        logger.warning("document key not registered yet; will retry", metadata: ["reason": "\(problem)"])
                    }
                    lastProblem = problem
                }
                if case .refused = error { wait = interval } else {
                    wait = backoff.next()
                }
            }
            guard await sleepUnlessStopping(wait) else { return }
        }
    }
}
