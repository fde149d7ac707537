import Foundation
import HTTPTypes
import OpenAPIRuntime

/// Signs every request of the generated registry client (`RegistryAPI.Client`) as a kiosk or
/// another principal: the kiosk headers over the method, the path and query as sent, the body and
/// the `Idempotency-Key`, exactly as `KioskCredentials.headers` signs the hand-written client's.
public struct KioskSigningMiddleware: ClientMiddleware {
    /// Who signs.
    public let credentials: KioskCredentials
    /// The largest body signed; a larger one is refused before it is sent.
    public let maxBodyBytes: Int

    /// Signs as `credentials`, bodies up to `maxBodyBytes`.
    public init(credentials: KioskCredentials, maxBodyBytes: Int = RegistryClient.maxRequestBytes) {
        self.credentials = credentials
        self.maxBodyBytes = maxBodyBytes
    }

    public func intercept(_ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
                          next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)) async throws -> (HTTPResponse, HTTPBody?) {
        var request = request
        let bytes: Data
        if let body { bytes = try await Data(collecting: body, upTo: maxBodyBytes) } else { bytes = Data() }
        var prefix = baseURL.path
        while prefix.hasSuffix("/") { prefix.removeLast() }
        let idempotencyKey = HTTPField.Name(KioskSignature.idempotencyKeyHeader).flatMap { request.headerFields[$0] }
        for (name, value) in credentials.headers(method: request.method.rawValue, pathAndQuery: prefix + (request.path ?? "/"),
                                                 body: bytes, idempotencyKey: idempotencyKey) {
            guard let field = HTTPField.Name(name) else { continue }
            request.headerFields[field] = value
        }
        return try await next(request, body == nil ? nil : HTTPBody(bytes), baseURL)
    }
}
