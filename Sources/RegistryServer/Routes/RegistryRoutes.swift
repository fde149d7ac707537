import Foundation
import Hummingbird
import KioskCore
import NIOCore

/// An RFC 9457 problem document with a stable `code`.
public struct Problem: Error, Codable, Sendable, HTTPResponseError {
    public var type: String
    public var title: String
    public var statusCode: Int
    public var detail: String
    /// Stable machine-readable code, e.g. `enterprise.not-found`.
    public var code: String

    public init(status: HTTPResponse.Status, code: String, title: String, detail: String) {
        type = "https://yitiji.example/problems/" + code
        self.title = title
        statusCode = Int(status.code)
        self.detail = detail
        self.code = code
    }

    /// The HTTP status.
    public var status: HTTPResponse.Status { HTTPResponse.Status(code: statusCode) }

    enum CodingKeys: String, CodingKey {
        case type, title, detail, code
        case statusCode = "status"
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = (try? JSONEncoder().encode(self)) ?? Data()
        return Response(status: status, headers: [.contentType: "application/problem+json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// registryd's HTTP API under /v1 (see `openapi/registry.yaml`).
public enum RegistryRoutes {
    static func json<T: Encodable>(_ value: T) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Response(status: .ok, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    static func uscc(_ context: some RequestContext) throws -> String {
        let text = context.parameters.get("uscc") ?? ""
        do { return try CreditCode(text).value } catch {
            throw Problem(status: .badRequest, code: "uscc.invalid", title: "Invalid credit code", detail: error.description)
        }
    }

    /// Adds the routes to `router`.
    public static func add<Context: RequestContext>(to router: Router<Context>, store: any RegistryStore) {
        let v1 = router.group("v1")
        v1.get("enterprises/:uscc") { _, context in
            let code = try uscc(context)
            guard let record = try await store.enterprise(uscc: code) else {
                throw Problem(status: .notFound, code: "enterprise.not-found", title: "No such enterprise",
                              detail: "no enterprise is registered under \(code)")
            }
            return try json(record.enterprise)
        }
        v1.get("enterprises/:uscc/archive") { _, context in
            let code = try uscc(context)
            guard let record = try await store.enterprise(uscc: code) else {
                throw Problem(status: .notFound, code: "enterprise.not-found", title: "No such enterprise",
                              detail: "no enterprise is registered under \(code)")
            }
            return try json(record)
        }
        v1.get("enterprises") { request, _ in
            let name = request.uri.queryParameters.get("name") ?? ""
            guard (1...50).contains(name.count) else {
                throw Problem(status: .badRequest, code: "query.invalid", title: "Invalid search",
                              detail: "name must hold 1 to 50 characters")
            }
            let limitText = request.uri.queryParameters.get("limit") ?? "20"
            guard let limit = Int(limitText), (1...100).contains(limit) else {
                throw Problem(status: .badRequest, code: "query.invalid", title: "Invalid search", detail: "limit must be 1 to 100")
            }
            return try json(["enterprises": try await store.searchEnterprises(name: name, limit: limit)])
        }
        v1.get("persons/:idNumber/social-insurance") { _, context in
            let number: IDNumber
            do { number = try IDNumber(context.parameters.get("idNumber") ?? "") } catch {
                throw Problem(status: .badRequest, code: "id-number.invalid", title: "Invalid ID number", detail: "\(error)")
            }
            guard let person = try await store.person(idNumber: number.value) else {
                throw Problem(status: .notFound, code: "person.not-found", title: "No social-insurance record",
                              detail: "no record for \(number.masked)")
            }
            return try json(person)
        }
    }
}
