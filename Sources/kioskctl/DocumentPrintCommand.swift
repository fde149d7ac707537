import ArgumentParser
import Foundation
import KioskConfig
import Printing

struct DocumentPrintCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "print",
        abstract: "Render a document and print it through CUPS, waiting for the outcome.",
        discussion: """
        Prints through the CUPS server CUPS_SERVER names; each step of the job (submitted,
        pending, processing) is shown on standard error while it waits. Exit codes: 0 the job completed,
        1 it failed (the reason is printed), 3 the outcome is uncertain (check the printer),
        2 invalid input.
        Examples:
          kioskctl document print --kind receipt --input slip.json --printer receipt --timeout 30
          kioskctl document print --kind business-licence --input licence.json --role a4
        """)

    @Option(help: "business-licence | archive-extract | social-insurance-certificate | receipt")
    var kind: String
    @Option(help: "The document's data, JSON.")
    var input: String
    @Option(help: "The CUPS queue.")
    var printer: String?
    @Option(help: "A printer role from the configuration (a4 or receipt): its queue and options.")
    var role: String?
    @Option(help: "Seconds to wait for the job to complete.")
    var timeout: Double = 60
    @Option(help: "Media, e.g. iso_a4_210x297mm.")
    var media: String?
    @OptionGroup var options: DocumentOptions

    func validate() throws {
        guard printer != nil || role != nil else { throw ValidationError("name the printer: --printer QUEUE or --role a4|receipt") }
        if let role, role != "a4", role != "receipt" { throw ValidationError("--role must be a4 or receipt, not '\(role)'") }
        guard timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout must be between 0 and 3600 seconds") }
    }

    @OptionGroup var output: JSONOption

    func run() throws {
        output.apply()
        let document = try options.render(kind: kind, input: input)
        var queue = printer ?? ""
        var printOptions = PrintOptions(media: media)
        var deadline = timeout
        if let role {
            let found: KioskSettings.PrinterSettings?
            do { found = try KioskConfiguration.load(from: options.configDirectory).settings.printers[role] } catch {
                throw CardOutput.fail("configuration: \(error)", code: 2)
            }
            guard let settings = found else { throw CardOutput.fail("the configuration has no printer role '\(role)'", code: 2) }
            if printer == nil { queue = settings.queue }
            printOptions = PrintOptions(media: media ?? (settings.media.isEmpty ? nil : settings.media), sides: settings.sides,
                                        copies: settings.copies, quality: settings.quality)
            if timeout == 60 { deadline = settings.jobTimeoutSeconds }
        }
        let client: CupsClient
        do { client = try CupsClient() } catch { throw CardOutput.fail(error.description, code: 1) }
        let printer = queue
        var runner = PrintJobRunner(client: client)
        // Progress on standard error while it waits; the outcome alone on standard output.
        runner.onProgress = { step in FileHandle.standardError.write(Data("… \(step)\n".utf8)) }
        let outcome = runner.print(
            queue: printer, pdf: document.pdf, title: document.kind.rawValue, options: printOptions, timeoutSeconds: deadline)
        switch outcome {
        case .completed(let id):
            CardOutput.report("printed: job \(printer)-\(id) completed (\(document.pageCount) page(s))",
                              fields: ["job": "\(printer)-\(id)", "pages": document.pageCount, "code": document.code.description])
        case let .failed(id, citizen, detail):
            throw CardOutput.fail("not printed\(id.map { ": job \(printer)-\($0)" } ?? ""): \(detail)\n\(citizen)", code: 1)
        case let .uncertain(id, detail):
            throw CardOutput.fail("outcome uncertain: job \(printer)-\(id): \(detail)\ncheck the printer before printing again", code: 3)
        }
    }
}
