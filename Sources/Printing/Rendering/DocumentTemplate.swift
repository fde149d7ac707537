import Foundation
import KioskCore

/// A document layout from `kiosk-config/templates/KIND.json`: page, fonts, sizes, fixed texts and
/// field labels, so a province changes a layout without a new build.
public struct DocumentTemplate: Codable, Sendable, Equatable {
    public struct Page: Codable, Sendable, Equatable {
        public var widthMM: Double
        /// nil: as long as the content (receipt rolls).
        public var heightMM: Double?
        public var marginMM: Double
    }

    /// A position on the page, millimetres from the top-left.
    public struct Place: Codable, Sendable, Equatable {
        public var xMM: Double
        public var yMM: Double
        public var sizeMM: Double
    }

    public var page: Page
    /// Named fonts: title, subtitle, label, body, small, table …
    public var fonts: [String: FontSpec]
    /// Fixed texts: title, subtitle, copyLine, pageNumber ("第 {n} 页 共 {m} 页") …
    public var texts: [String: String]
    /// Field labels by field key.
    public var labels: [String: String]
    /// Named positions (qr, seal …).
    public var places: [String: Place]?
    /// Width of the label column, millimetres.
    public var labelWidthMM: Double?

    func font(_ name: String) throws(RenderError) -> FontSpec {
        guard let font = fonts[name] else { throw .template("font '\(name)' is not defined") }
        return font
    }

    func text(_ name: String) throws(RenderError) -> String {
        guard let text = texts[name] else { throw .template("text '\(name)' is not defined") }
        return text
    }

    func label(_ key: String) -> String { labels[key] ?? key }

    /// Loads `directory/KIND.json`.
    public static func load(kind: DocumentKind, directory: String) throws(RenderError) -> DocumentTemplate {
        let path = directory + "/" + kind.rawValue + ".json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .template("\(path) not found")
        }
        do { return try JSONDecoder().decode(DocumentTemplate.self, from: data) } catch {
            throw .template("\(path): \(error)")
        }
    }

    /// The templates' folder: `$YITIJI_TEMPLATES`, the site's `/etc/yitiji/templates`, else the
    /// program's data (`DataLocation`).
    public static var defaultDirectory: String {
        if let env = ProcessInfo.processInfo.environment["YITIJI_TEMPLATES"] { return env }
        if FileManager.default.fileExists(atPath: "/etc/yitiji/templates") { return "/etc/yitiji/templates" }
        return (DataLocation.url(.templates) ?? DataLocation.installedRoot.appendingPathComponent("kiosk-config/templates")).path
    }
}

/// The documents a kiosk prints.
public enum DocumentKind: String, Sendable, Codable, CaseIterable {
    case businessLicence = "business-licence"
    case archiveExtract = "archive-extract"
    case socialInsuranceCertificate = "social-insurance-certificate"
    case receipt
    /// A hall queue ticket (取号凭条) on the receipt printer.
    case queueTicket = "queue-ticket"
    /// A service guide (办事指南) on the receipt printer.
    case serviceGuide = "service-guide"
}

let pointsPerMM = 72.0 / 25.4
