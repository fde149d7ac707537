import ArgumentParser
import Foundation
import KioskConfig
import KioskCore
import Printing

/// Options shared by the commands that render documents.
struct DocumentOptions: ParsableArguments {
    @Option(help: "The configuration folder (default: /etc/yitiji, else the embedded kiosk-config).")
    var config: String?

    @Option(help: "The Ed25519 signing key (base64); default $YITIJI_DOCUMENT_KEY, /var/lib/yitiji/keys/document-signing.key, else the demo key.")
    var signingKey: String?

    var configDirectory: URL {
        config.map { URL(fileURLWithPath: $0) } ?? KioskConfiguration.defaultDirectory()
    }

    func renderer() throws -> DocumentRenderer {
        let dir = configDirectory
        let provider = (try? KioskConfiguration.load(from: dir))?.settings.kiosk.provider ?? "政务服务中心"
        return try DocumentRenderer(signingKey: try key(), provider: provider,
                                    templatesDirectory: dir.appendingPathComponent("templates").path)
    }

    /// Parses `--kind`, reads `--input` and renders it; bad input exits 2 naming what is wrong.
    func render(kind name: String, input: String) throws -> RenderedDocument {
        guard let kind = DocumentKind(rawValue: name) else {
            throw CardOutput.fail("--kind must be one of \(DocumentKind.allCases.map(\.rawValue).joined(separator: ", ")), not '\(name)'", code: 2)
        }
        guard let json = FileManager.default.contents(atPath: input) else { throw CardOutput.fail("cannot read \(input)", code: 2) }
        let renderer = try renderer()
        do { return try renderer.render(kind: kind, json: json) } catch {
            throw CardOutput.fail("\(input): \(error.description)", code: 2)
        }
    }

    func key() throws -> DocumentSigningKey {
        var candidates: [String] = []
        if let signingKey { candidates.append(signingKey) } else {
            if let env = ProcessInfo.processInfo.environment["YITIJI_DOCUMENT_KEY"] { candidates.append(env) }
            candidates.append("/var/lib/yitiji/keys/document-signing.key")
        }
        for path in candidates where FileManager.default.fileExists(atPath: path) || signingKey != nil {
            return try DocumentSigningKey.load(path: path)
        }
        // A development build signs with the demonstration key; an installed one has none.
        guard let demo = DataLocation.url(.demoDocumentKey)?.path, FileManager.default.fileExists(atPath: demo) else {
            throw CardOutput.fail("no document signing key: give --signing-key, set YITIJI_DOCUMENT_KEY, or run kioskd --enrol", code: 2)
        }
        FileHandle.standardError.write(Data("note: signing with the demo key (no kiosk signing key is installed)\n".utf8))
        return try DocumentSigningKey.load(path: demo)
    }
}

struct DocumentRenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Render a document to PDF.",
        discussion: """
        KIND: business-licence, archive-extract, social-insurance-certificate, receipt.
        The input formats are described in the README.
        Exit codes: 0 written, 2 invalid input (the line printed names the field) or no signing key.
        Example: kioskctl document render --kind business-licence --input licence.json -o licence.pdf
        """)

    @Option(help: "business-licence | archive-extract | social-insurance-certificate | receipt")
    var kind: String
    @Option(help: "The document's data, JSON.")
    var input: String
    @Option(name: .shortAndLong, help: "Where to write the PDF.")
    var output: String
    @OptionGroup var options: DocumentOptions
    @OptionGroup var jsonOutput: JSONOption

    func run() throws {
        jsonOutput.apply()
        let document = try options.render(kind: kind, input: input)
        do { try document.pdf.write(to: URL(fileURLWithPath: output)) } catch {
            throw CardOutput.fail("cannot write \(output): \(error.localizedDescription)", code: 1)
        }
        CardOutput.report("\(output): \(document.kind.rawValue), \(document.pageCount) page(s), \(document.pdf.count) bytes, code \(document.code)",
                          fields: ["path": output, "kind": document.kind.rawValue, "pages": document.pageCount, "bytes": document.pdf.count,
                                   "code": document.code.description])
    }
}
