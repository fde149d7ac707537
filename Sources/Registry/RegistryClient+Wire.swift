import Foundation
import HTTPTypes
import NIOHTTP1
import OpenAPIRuntime
import RegistryAPI

/// The generated client's transport: every request it builds goes through the registry client's
/// own policy (signing, the call's deadline, bounded retries, the circuit breaker, the size limit,
/// the pinned CA). An answer other than 2xx has already become a `RegistryClientError` here, so
/// the generated code only ever decodes successes.
struct RegistryWireTransport: ClientTransport {
    let client: RegistryClient

    func send(_ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String) async throws -> (HTTPResponse, HTTPBody?) {
        var bytes: Data?
        if let body { bytes = try await Data(collecting: body, upTo: RegistryClient.maxRequestBytes) }
        var headers: [(String, String)] = []
        if let name = HTTPField.Name(KioskSignature.idempotencyKeyHeader), let key = request.headerFields[name] {
            headers.append((KioskSignature.idempotencyKeyHeader, key))
        }
        let answer = try await client.exchange(method: HTTPMethod(rawValue: request.method.rawValue), path: request.path ?? "/",
                                               body: bytes, headers: headers)
        var response = HTTPResponse(status: .init(code: answer.status))
        if let type = answer.contentType { response.headerFields[.contentType] = type }
        return (response, HTTPBody(answer.body))
    }
}

extension RegistryClient {
    /// The largest request the registry takes: a batch of submissions.
    public static let maxRequestBytes = 8 << 20

    /// The client generated from `openapi/registry.yaml`, sending through this client's policy.
    /// Made per call: it holds this client, which must not hold it back.
    var api: Client {
        Client(serverURL: Self.wireServerURL, configuration: Self.wireConfiguration, transport: RegistryWireTransport(client: self))
    }

    /// The generated client's settings: dates as `RegistryJSON` writes them, through
    /// `RegistryDateTranscoder` (the runtime's default makes an ICU date formatter per client and
    /// parses every date under one lock).
    public static let wireConfiguration = Configuration(dateTranscoder: RegistryDateTranscoder())

    /// The generated client's server URL; the transport sends to the endpoint's base URL instead.
    static let wireServerURL = URL(fileURLWithPath: "/")

    /// Runs one operation of the generated client: the registry's refusals and transport failures
    /// come out as they were classified; an answer the document does not describe is malformed.
    func operation<T>(_ body: (Client) async throws -> T) async throws(RegistryClientError) -> T {
        do {
            return try await body(api)
        } catch let error as ClientError {
            if let classified = error.underlyingError as? RegistryClientError { throw classified }
            breaker.failed()
            throw .malformedAnswer("\(error.operationID): the answer is not what openapi/registry.yaml describes (\(error.underlyingError))")
        } catch let error as RegistryClientError {
            throw error
        } catch {
            breaker.failed()
            throw .malformedAnswer("the answer is not one openapi/registry.yaml lists (\(error))")
        }
    }
}

/// ISO 8601 dates in whole seconds and UTC (`2026-12-05T15:04:05Z`), as `RegistryJSON` encodes
/// them, with Foundation's format style: no formatter object, no lock, no ICU.
public struct RegistryDateTranscoder: DateTranscoder {
    public init() {}
    public func encode(_ date: Date) throws -> String { Date.ISO8601FormatStyle().format(date) }
    public func decode(_ text: String) throws -> Date { try Date.ISO8601FormatStyle().parse(text) }
}
