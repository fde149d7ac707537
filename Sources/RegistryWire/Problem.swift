import Foundation

/// An RFC 9457 problem document with a stable `code`, as registryd answers every error and as
/// the registry client reports a refusal.
public struct Problem: Error, Codable, Sendable, Hashable, CustomStringConvertible {
    /// A URI naming the problem type, `https://yitiji.example/problems/<code>`.
    public var type: String
    /// A short summary for people.
    public var title: String
    /// The HTTP status code.
    public var statusCode: Int
    /// What exactly went wrong, for logs and staff.
    public var detail: String
    /// Stable machine-readable code, e.g. `enterprise.not-found`, `auth.bad-signature`.
    public var code: String
    /// Facts the client may show in its own words (RFC 9457 extension members), e.g. an
    /// appointment's `startsAt` and `endsAt` (ISO 8601) when a check-in came too early.
    public var facts: [String: String]?

    /// A problem with `statusCode`, stable `code`, `title` and `detail`.
    public init(statusCode: Int, code: String, title: String, detail: String) {
        type = "https://yitiji.example/problems/" + code
        self.title = title
        self.statusCode = statusCode
        self.detail = detail
        self.code = code
    }

    enum CodingKeys: String, CodingKey {
        case type, title, detail, code, facts
        case statusCode = "status"
    }

    public var description: String { "\(statusCode) \(code): \(detail)" }
}
