import Foundation
import Hummingbird
import KioskAPI
import Registry

/// The outbox on the technician socket: `GET /v1/queue` (figures per stream),
/// `GET /v1/queue/items?dead=true&stream=&limit=`, `GET /v1/queue/items/{id}`,
/// `POST /v1/queue/items/{id}/retry` and `POST /v1/queue/items/{id}/purge` (`{"who","why"}`, audited).
public enum QueueRoutes {
    static func problem(_ error: OutboxError) -> LocalAPIError {
        switch error {
        case .notFound: return LocalAPIError(status: .notFound, messageKey: "error.generic", detail: error.description)
        case .invalidArgument: return LocalAPIError(status: .badRequest, messageKey: "error.generic", detail: error.description)
        default: return LocalAPIError(status: .internalServerError, messageKey: "error.generic", detail: error.description)
        }
    }

    static func id(_ context: some RequestContext) throws -> Int64 {
        guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else {
            throw LocalAPIError(status: .badRequest, messageKey: "error.generic", detail: "the item id must be a positive number")
        }
        return id
    }

    /// Adds the queue routes for `outbox` (answering 404 with a reason when there is none).
    /// Retries and purges are recorded under the account the kernel reports for the connection;
    /// the `who` a client sends is kept beside it.
    public static func add<Context: PeerAwareRequestContext>(to router: Router<Context>, outbox: Outbox?, audit: AuditLog?) {
        let queue = router.group("v1/queue")
        @Sendable func require() throws -> Outbox {
            guard let outbox else {
                throw LocalAPIError(status: .notFound, messageKey: "error.generic", detail: "no outbox: no registry is configured")
            }
            return outbox
        }
        queue.get { _, _ in
            do { return try CitizenRoutes.iso8601Encoded(try await require().status()) } catch let e as OutboxError { throw problem(e) }
        }
        queue.get("items") { request, _ in
            let parameters = request.uri.queryParameters
            guard let dead = parameters.get("dead").map({ ["true": true, "false": false][$0] }) ?? false else {
                throw LocalAPIError(status: .badRequest, messageKey: "error.generic", detail: "dead must be true or false")
            }
            guard let limit = parameters.get("limit").map({ Int($0) }) ?? 100, (1...1000).contains(limit) else {
                throw LocalAPIError(status: .badRequest, messageKey: "error.generic", detail: "limit must be 1 to 1000")
            }
            var stream: SubmissionKind?
            if let name = parameters.get("stream") {
                guard let kind = SubmissionKind(rawValue: name) else {
                    throw LocalAPIError(status: .badRequest, messageKey: "error.generic",
                                        detail: "stream must be one of \(SubmissionKind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                stream = kind
            }
            do { return try CitizenRoutes.iso8601Encoded(try await require().list(stream: stream, deadLetters: dead, limit: limit)) }
            catch let e as OutboxError { throw problem(e) }
        }
        queue.get("items/:id") { _, context in
            let id = try id(context)
            do {
                let (summary, payload) = try await require().show(id: id)
                return try CitizenRoutes.iso8601Encoded(QueueItemDetail(item: summary, payload: payload))
            } catch let e as OutboxError { throw problem(e) }
        }
        for action in ["retry", "purge"] {
            queue.post("items/:id/\(action)") { request, context in
                let id = try id(context)
                let body = try await CitizenRoutes.decode(QueueOperationRequest.self, request, context)
                guard !body.who.trimmingCharacters(in: .whitespaces).isEmpty, !body.why.trimmingCharacters(in: .whitespaces).isEmpty,
                      body.who.count <= 64, body.why.count <= 200 else {
                    throw LocalAPIError(status: .badRequest, messageKey: "error.generic",
                                        detail: "who (1–64 characters) and why (1–200) are both required")
                }
                let account = await context.auditName()
                let who = body.who == account || account.hasPrefix(body.who + " (") ? account : "\(account) as '\(body.who)'"
                do {
                    let outbox = try require()
                    if action == "retry" { try await outbox.retry(id: id, who: who, why: body.why) } else {
                        try await outbox.purge(id: id, who: who, why: body.why)
                    }
                } catch let e as OutboxError { throw problem(e) }
                audit?.record(actor: "technician", action: "queue.\(action)", by: account, detail: "item \(id): \(body.why)")
                return Response(status: .noContent)
            }
        }
    }
}
