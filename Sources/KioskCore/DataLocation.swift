import Foundation

/// Where the programs find their data files, decided in one place: an installed program reads
/// `/usr/share/yitiji`; a development build (its executable under `<source tree>/.build/`) reads
/// the source tree; `YITIJI_DATA_DIR` overrides both with a folder laid out as installed.
public enum DataLocation {
    /// A data file or folder the programs need.
    public enum Item: Sendable, CaseIterable {
        /// The embedded default configuration (a folder with `kiosk.yaml`).
        case defaultConfiguration
        /// The reader model database (`models.json`).
        case readerModels
        /// The document templates of the default configuration.
        case templates
        /// The demonstration document key: in the source tree only, never installed.
        case demoDocumentKey

        /// The path below an installed data root, or nil when it is never installed.
        var installed: String? {
            switch self {
            case .defaultConfiguration: return "kiosk-config"
            case .readerModels: return "readers/models.json"
            case .templates: return "kiosk-config/templates"
            case .demoDocumentKey: return nil
            }
        }

        /// The path below the source tree.
        var inTree: String {
            switch self {
            case .defaultConfiguration: return "kiosk-config"
            case .readerModels: return "drivers/readers/models.json"
            case .templates: return "kiosk-config/templates"
            case .demoDocumentKey: return "scripts/testbeds/demo-document-signing.key"
            }
        }
    }

    /// The installed data root.
    public static let installedRoot = URL(fileURLWithPath: "/usr/share/yitiji")

    /// The source tree an executable was built in: the folder holding the `.build` (or
    /// `.build-…`) folder it lies under; nil for an installed program.
    public static func sourceTree(executable: URL) -> URL? {
        let parts = executable.resolvingSymlinksInPath().standardizedFileURL.pathComponents
        guard let index = parts.lastIndex(where: { $0 == ".build" || $0.hasPrefix(".build-") || $0.hasPrefix(".build_") }), index > 0 else {
            return nil
        }
        return URL(fileURLWithPath: NSString.path(withComponents: Array(parts[..<index])))
    }

    /// Where `item` is for this program, whether or not it exists there.
    public static func url(_ item: Item, environment: [String: String] = ProcessInfo.processInfo.environment,
                           executable: URL = URL(fileURLWithPath: CommandLine.arguments.first ?? "/")) -> URL? {
        if let root = environment["YITIJI_DATA_DIR"], !root.isEmpty {
            return item.installed.map { URL(fileURLWithPath: root).appendingPathComponent($0) }
        }
        if let tree = sourceTree(executable: executable) { return tree.appendingPathComponent(item.inTree) }
        return item.installed.map { installedRoot.appendingPathComponent($0) }
    }
}
