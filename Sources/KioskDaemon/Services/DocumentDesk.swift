import Foundation
import KioskConfig
import KioskCore
import Logging
import Printing

/// Renders the kiosk's documents and prints them on the configured printer roles, with a ledger
/// so that a retried request never prints twice.
public final class DocumentDesk: Sendable {
    /// What came of a print, for the citizen and for the records.
    public struct Printed: Sendable {
        public var outcome: PrintOutcome
        public var document: RenderedDocument
        public var queue: String
    }

    let renderer: DocumentRenderer
    let ledgerPrinter: LedgerPrinter?
    let printers: Locked<[String: KioskSettings.PrinterSettings]>
    let logger: Logger

    /// - Parameters:
    ///   - ledgerPrinter: nil when no CUPS server can be reached; prints then fail with a clear reason.
    public init(renderer: DocumentRenderer, ledgerPrinter: LedgerPrinter?, printers: [String: KioskSettings.PrinterSettings],
                logger: Logger) {
        self.renderer = renderer
        self.ledgerPrinter = ledgerPrinter
        self.printers = Locked(printers)
        self.logger = logger
    }

    /// The desk kioskd runs: documents signed with `signingKey`, the configuration's templates,
    /// the CUPS server of `options`, the print ledger in the state directory.
    static func make(settings: KioskSettings, options: DaemonOptions, signingKey: DocumentSigningKey, templates: URL,
                     logger: Logger) throws -> DocumentDesk {
        let renderer: DocumentRenderer
        do {
            renderer = try DocumentRenderer(signingKey: signingKey, provider: settings.kiosk.provider, templatesDirectory: templates.path)
        } catch { throw DaemonError.configuration("documents: \(error)") }
        let ledgerPrinter = (try? CupsClient(server: options.cupsServer)).map {
            LedgerPrinter(ledger: PrintLedger(path: options.stateDirectory.appendingPathComponent("print-ledger.json").path),
                          runner: PrintJobRunner(client: $0))
        }
        return DocumentDesk(renderer: renderer, ledgerPrinter: ledgerPrinter, printers: settings.printers, logger: logger)
    }

    /// Takes the printer roles of a new configuration.
    public func update(printers: [String: KioskSettings.PrinterSettings]) { self.printers.withLock { $0 = printers } }

    /// The configured printer roles.
    public var roles: [String: KioskSettings.PrinterSettings] { printers.withLock { $0 } }

    /// Renders `kind` from its data.
    public func render<T: Encodable>(_ kind: DocumentKind, _ data: T) throws -> RenderedDocument {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let json = try encoder.encode(data)
        do { return try renderer.render(kind: kind, json: json) } catch { throw DocumentDeskError.render("\(error)") }
    }

    /// Prints a rendered document on `role`, once per `requestID`.
    public func print(_ document: RenderedDocument, role: String, requestID: String) async -> Printed {
        guard let settings = printers.withLock({ $0[role] }) else {
            return Printed(outcome: .failed(jobID: nil, citizenMessage: "打印机暂时无法使用，请联系工作人员",
                                            detail: "no printer role '\(role)' in the configuration"),
                           document: document, queue: "")
        }
        guard let ledgerPrinter else {
            return Printed(outcome: .failed(jobID: nil, citizenMessage: "打印机暂时无法使用，请联系工作人员",
                                            detail: "no CUPS server reachable"),
                           document: document, queue: settings.queue)
        }
        let options = PrintOptions(media: settings.media.isEmpty ? nil : settings.media, sides: settings.sides,
                                   copies: settings.copies, quality: settings.quality)
        let outcome = await ledgerPrinter.print(requestID: requestID, kind: document.kind.rawValue, queue: settings.queue,
                                               pdf: document.pdf, title: document.kind.rawValue, options: options,
                                               timeoutSeconds: settings.jobTimeoutSeconds)
        return Printed(outcome: outcome, document: document, queue: settings.queue)
    }

    /// The document's text, page by page, for the preview screen: each field on its own line.
    /// `labels` are interface texts; a field `uscc` is labelled by `field.uscc` when present.
    public static func previewPages(_ document: RenderedDocument, title: String, labels: [String: String] = [:],
                                    linesPerPage: Int = 14) -> [String] {
        var lines: [String] = [title, ""]
        for pair in document.fields.fields {
            let key = pair.first ?? "", value = pair.count > 1 ? pair[1] : ""
            let label = labels["field." + key] ?? key
            lines.append(key.isEmpty ? value : "\(label)：\(key == "enrolments" ? Self.enrolments(value) : value)")
        }
        var pages: [String] = []
        var index = 0
        while index < lines.count {
            pages.append(lines[index..<min(lines.count, index + linesPerPage)].joined(separator: "\n"))
            index += linesPerPage
        }
        return pages.isEmpty ? [title] : pages
    }
}

extension DocumentDesk {
    /// `pension:2015-07-01:96,medical:…` as 养老保险 2015-07-01 起 96 个月；…
    static func enrolments(_ value: String) -> String {
        value.split(separator: ",").map { item -> String in
            let parts = item.split(separator: ":").map(String.init)
            guard parts.count == 3, let type = InsuranceType(rawValue: parts[0]) else { return String(item) }
            return "\(type.chineseName) \(parts[1]) 起 \(parts[2]) 个月"
        }.joined(separator: "；")
    }
}

/// Why a document could not be made.
public enum DocumentDeskError: Error, Sendable, CustomStringConvertible {
    /// The template and data did not make a document (a missing glyph, a field too long); says why.
    case render(String)
    public var description: String {
        switch self { case .render(let d): return "document could not be rendered: \(d)" }
    }
}
