import Foundation
import Hummingbird
import KioskAPI
import NIOCore

/// The technician's operations, served only on the technician socket.
public protocol TechnicianOperations: Sendable {
    func status() async -> TechnicianStatus
    /// Switches maintenance mode for the account `by`; switching it on ends a citizen session.
    func setMaintenance(_ request: MaintenanceRequest, by account: String) async throws
    /// Recent audit entries, newest last.
    func audit(limit: Int) async -> [AuditLog.Entry]
    func events() -> AsyncStream<KioskEvent>
    /// The configuration in use, its layers and history.
    func configuration() async -> ConfigurationView
    /// What the current generation changed against the one before it (or the embedded default).
    func configurationDiff() async -> [ConfigFileDiff]
    /// Returns to the previous generation, for the account `by`.
    func rollbackConfiguration(reason: String, by account: String) async throws -> ConfigurationView
    /// Verifies and applies a signed bundle handed over locally (e.g. from a USB stick).
    func applyBundle(_ envelope: Data, by account: String) async -> ConfigurationView.Event
    /// The reader as kioskd sees it (kioskd owns the device; diagnostics must not open it).
    func readerFigures() async -> ReaderFigures
    /// The person–card verifier, probed now.
    func verifierFigures() async -> VerifierFigures
    /// Outbox figures; nil when no outbox is configured.
    func outboxFigures() async -> OutboxFigures?
    /// The last heartbeat; nil when no registry is configured.
    func heartbeatFigures() async -> HeartbeatFigures?
}

/// Technician socket routes: `GET /v1/status`, `POST /v1/maintenance`, `GET /v1/audit?limit=`,
/// `GET /v1/events` (newline-delimited JSON), `GET /v1/config`, `GET /v1/config/diff`,
/// `POST /v1/config/rollback`, `POST /v1/config/bundles` (a signed bundle as the body).
public enum TechnicianRoutes {
    /// Adds the technician routes to `router`. Operations that change something are audited
    /// under the account the kernel reports for the connection.
    public static func add<Context: PeerAwareRequestContext>(to router: Router<Context>, service: any TechnicianOperations) {
        let v1 = router.group("v1")
        v1.get("status") { _, _ in try CitizenRoutes.encoded(await service.status()) }
        v1.post("maintenance") { request, context in
            let body = try await CitizenRoutes.decode(MaintenanceRequest.self, request, context)
            if body.on, (body.reason ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
                throw LocalAPIError(status: .badRequest, messageKey: "error.generic",
                                    detail: "a reason is needed to switch maintenance mode on, e.g. --reason '更换打印纸'")
            }
            if let reason = body.reason, reason.count > 200 {
                throw LocalAPIError(status: .badRequest, messageKey: "error.generic", detail: "reason must hold at most 200 characters")
            }
            try await service.setMaintenance(body, by: await context.auditName())
            return try CitizenRoutes.encoded(await service.status())
        }
        v1.get("audit") { request, _ in
            let limit = request.uri.queryParameters.get("limit", as: Int.self) ?? 100
            guard (1...10_000).contains(limit) else {
                throw LocalAPIError(status: .badRequest, messageKey: "error.generic", detail: "limit must be 1 to 10000")
            }
            return try CitizenRoutes.encoded(await service.audit(limit: limit))
        }
        v1.get("events") { _, _ in CitizenRoutes.eventStream(service.events()) }
        v1.get("diagnostics/reader") { _, _ in try CitizenRoutes.encoded(await service.readerFigures()) }
        v1.get("diagnostics/verifier") { _, _ in try CitizenRoutes.encoded(await service.verifierFigures()) }
        v1.get("diagnostics/outbox") { _, _ in
            guard let figures = await service.outboxFigures() else {
                throw LocalAPIError(status: .notFound, messageKey: "error.generic", detail: "no outbox: no registry is configured")
            }
            return try CitizenRoutes.encoded(figures)
        }
        v1.get("diagnostics/heartbeat") { _, _ in
            guard let figures = await service.heartbeatFigures() else {
                throw LocalAPIError(status: .notFound, messageKey: "error.generic", detail: "no heartbeat: no registry is configured")
            }
            return try CitizenRoutes.iso8601Encoded(figures)
        }
        v1.get("config") { _, _ in try CitizenRoutes.encoded(await service.configuration()) }
        v1.get("config/diff") { _, _ in try CitizenRoutes.encoded(await service.configurationDiff()) }
        v1.post("config/rollback") { request, context in
            let body = try await CitizenRoutes.decode(RollbackRequest.self, request, context)
            guard !body.reason.trimmingCharacters(in: .whitespaces).isEmpty, body.reason.count <= 200 else {
                throw LocalAPIError(status: .badRequest, messageKey: "error.generic", detail: "a reason of 1 to 200 characters is needed")
            }
            do { return try CitizenRoutes.encoded(try await service.rollbackConfiguration(reason: body.reason, by: await context.auditName())) } catch {
                throw LocalAPIError(status: .conflict, messageKey: "error.generic", detail: "\(error)")
            }
        }
        v1.post("config/bundles") { request, context in
            var request = request
            let buffer: ByteBuffer
            do { buffer = try await request.collectBody(upTo: 4 << 20) } catch {
                throw LocalAPIError(status: .contentTooLarge, messageKey: "error.generic", detail: "a bundle may hold at most 4 MiB")
            }
            let event = await service.applyBundle(Data(buffer.readableBytesView), by: await context.auditName())
            let response = try CitizenRoutes.encoded(event)
            return event.result == "committed" ? response
                : Response(status: .unprocessableContent, headers: response.headers, body: response.body)
        }
    }
}
