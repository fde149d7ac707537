/// A configuration file that could not be used, with where and why.
///
/// `description` reads like a compiler diagnostic, e.g.
/// `kiosk.yaml:12: printers.a4.queue: must not be empty`.
public struct ConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file, relative to the configuration directory.
    public var file: String
    /// The 1-based line the problem is on, when known.
    public var line: Int?
    /// The dotted path of the field, e.g. `printers.a4.queue`; empty for the whole file.
    public var field: String
    /// What is wrong and, where useful, what is expected.
    public var message: String

    public init(file: String, line: Int? = nil, field: String = "", message: String) {
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if !field.isEmpty { text += "\(field): " }
        return text + message
    }
}
