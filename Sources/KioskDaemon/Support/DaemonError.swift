import Foundation

/// Why kioskd could not start or keep running.
public enum DaemonError: Error, Sendable, CustomStringConvertible, Equatable {
    /// A state or runtime path cannot be created or written.
    case stateNotWritable(String)
    /// The configuration did not load; the text names the file, line and field.
    case configuration(String)
    /// A key file is missing or unreadable.
    case key(String)
    /// A demonstration key would be trusted outside `--demo`; the text names each file.
    case demoKeys([String])

    public var description: String {
        switch self {
        case .stateNotWritable(let path):
            return "cannot write \(path): check that the directory exists and belongs to the kioskd user"
        case .configuration(let text): return "configuration: \(text)"
        case .key(let text): return "key: \(text)"
        case .demoKeys(let findings):
            return findings.joined(separator: "; ")
                + ". Install the fleet's own keys (README: the keys of a real kiosk), or start with --demo on a demonstration machine"
        }
    }
}
