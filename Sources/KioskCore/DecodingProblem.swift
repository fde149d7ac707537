/// Where a JSON decoding error is and what is wrong there, in the words tools print:
/// `enterprises[3].uscc` / `is missing`.
public struct DecodingProblem: Sendable, Equatable {
    /// The field path, or `root` when the error is about the whole input.
    public let location: String
    public let reason: String

    public init(_ error: any Error, root: String) {
        guard let error = error as? DecodingError else {
            location = root
            reason = "\(error)"
            return
        }
        var path: [any CodingKey] = []
        var extra: String?
        switch error {
        case let .keyNotFound(key, ctx):
            path = ctx.codingPath
            extra = key.stringValue
            reason = "is missing"
        case let .typeMismatch(_, ctx):
            path = ctx.codingPath
            reason = ctx.debugDescription
        case let .valueNotFound(_, ctx):
            path = ctx.codingPath
            reason = "is null but must have a value"
        case let .dataCorrupted(ctx):
            path = ctx.codingPath
            reason = ctx.codingPath.isEmpty ? "not valid JSON" : ctx.debugDescription
        @unknown default:
            reason = "\(error)"
        }
        var text = ""
        for key in path {
            if let i = key.intValue { text += "[\(i)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
        }
        if let extra { text += (text.isEmpty ? "" : ".") + extra }
        location = text.isEmpty ? root : text
    }
}
