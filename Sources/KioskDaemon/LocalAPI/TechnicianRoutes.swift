import Foundation
import Hummingbird
import KioskAPI
import NIOCore

/// The technician's operations, served only on the technician socket.
public protocol TechnicianService: Sendable {
    func status() async -> TechnicianStatus
    /// Switches maintenance mode; switching it on ends a citizen session.
    func setMaintenance(_ request: MaintenanceRequest) async throws
    /// Recent audit entries, newest last.
    func audit(limit: Int) async -> [AuditLog.Entry]
    func events() -> AsyncStream<KioskEvent>
}

/// Technician socket routes: `GET /v1/status`, `POST /v1/maintenance`, `GET /v1/audit?limit=`,
/// `GET /v1/events` (newline-delimited JSON).
public enum TechnicianRoutes {
    /// Adds the technician routes to `router`.
    public static func add<Context: RequestContext>(to router: Router<Context>, service: any TechnicianService) {
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
            try await service.setMaintenance(body)
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
    }
}
