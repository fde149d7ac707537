import Foundation
import KioskCore

/// HTTP exchanges as a test saw them on the wire, held to an OpenAPI document by
/// `scripts/check-exchanges.py`: the status must be one the operation lists, a JSON answer must
/// match its schema (objects closed: no field the document does not name), and so must the body
/// of an answered request.
public final class ExchangeLog: Sendable {
    /// One request and its answer.
    public struct Exchange: Codable, Sendable {
        public var method: String
        /// The path and query, as sent.
        public var target: String
        public var status: Int
        public var contentType: String?
        public var body: String
        public var requestContentType: String?
        public var requestBody: String?
    }

    private let exchanges = Locked<[Exchange]>([])

    public init() {}

    /// Records one exchange.
    public func record(method: String, target: String, status: Int, contentType: String?, body: String,
                       requestContentType: String? = nil, requestBody: String? = nil) {
        let exchange = Exchange(method: method, target: target, status: status, contentType: contentType, body: body,
                                requestContentType: requestBody == nil ? nil : (requestContentType ?? "application/json"),
                                requestBody: requestBody)
        exchanges.withLock { $0.append(exchange) }
    }

    /// Writes the exchanges as JSON lines and runs the checker against `document` (a path in the
    /// repository, such as `openapi/registry.yaml`); with `everyOperation`, an operation no
    /// exchange reached is a problem too. Answers the checker's exit status and its report.
    public func check(against document: String, everyOperation: Bool = true) throws -> ProcessResult {
        let dir = try TemporaryDirectory(prefix: "exchanges")
        defer { dir.remove() }
        let file = dir.path + "/exchanges.jsonl"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var lines = Data()
        for exchange in exchanges.withLock({ $0 }) {
            lines.append(try encoder.encode(exchange))
            lines.append(0x0A)
        }
        try lines.write(to: URL(fileURLWithPath: file))
        var arguments = [BuiltProducts.repositoryPath("scripts/check-exchanges.py"), BuiltProducts.repositoryPath(document), file]
        if everyOperation { arguments.append("--every-operation") }
        return try ProcessRunner.run("/usr/bin/env", ["python3"] + arguments, timeout: 120)
    }
}
