import ArgumentParser
import Foundation
import Printing

struct PrinterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "printer",
        abstract: "List printers, show their status, print a test page.",
        subcommands: [PrinterListCommand.self, PrinterStatusCommand.self, PrinterTestPageCommand.self]
    )
}

struct PrinterListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the CUPS queues.")

    func run() throws {
        let client: CupsClient
        do { client = try CupsClient() } catch { throw CardOutput.fail(error.description, code: 2) }
        let queues = client.queues()
        if queues.isEmpty { print("no printer queues on \(client.server)") }
        for q in queues { print(q) }
    }
}

struct PrinterStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each printer's state: device, paper, toner, door, reasons.",
        discussion: "Exit codes: 0 all ready, 1 a printer needs attention, 2 CUPS unreachable.\nExample: kioskctl printer status --json a4")

    @Argument(help: "Queues (default: all).")
    var queues: [String] = []
    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let client: CupsClient
        do { client = try CupsClient() } catch { throw CardOutput.fail(error.description, code: 2) }
        let names = queues.isEmpty ? client.queues() : queues
        var statuses: [PrinterStatus] = []
        for name in names {
            do { statuses.append(try client.status(queue: name)) } catch { throw CardOutput.fail(error.description, code: 2) }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(["printers": statuses]), as: UTF8.self))
        } else {
            for s in statuses {
                print("\(s.queue): device \(s.device.rawValue), paper \(s.paper.rawValue), toner \(s.toner.rawValue)\(s.doorOpen ? ", door open" : ""), \(s.accepting ? "accepting" : "rejecting") jobs")
                if !s.reasons.isEmpty { print("  reasons: \(s.reasons.joined(separator: ", "))") }
                if !s.message.isEmpty { print("  message: \(s.message)") }
                if !s.isReady { print("  action: \(s.technicianAction)") }
            }
        }
        if statuses.contains(where: { !$0.isReady }) { throw ExitCode(1) }
    }
}

struct PrinterTestPageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test-page", abstract: "Print a test page and wait for the outcome.",
        discussion: "Example: kioskctl printer test-page a4")

    @Argument(help: "The queue.")
    var queue: String
    @Option(help: "Seconds to wait.")
    var timeout: Double = 60
    @OptionGroup var options: DocumentOptions

    func run() throws {
        let pdf = try options.renderer().testPage(queue: queue)
        let client: CupsClient
        do { client = try CupsClient() } catch { throw CardOutput.fail(error.description, code: 2) }
        switch PrintJobRunner(client: client).print(queue: queue, pdf: pdf, title: "test page", options: PrintOptions(), timeoutSeconds: timeout) {
        case .completed(let id): print("test page printed: job \(queue)-\(id) completed")
        case let .failed(_, citizen, detail): throw CardOutput.fail("test page not printed: \(detail) (\(citizen))", code: 1)
        case let .uncertain(id, detail): throw CardOutput.fail("test page outcome uncertain: job \(queue)-\(id): \(detail)", code: 3)
        }
    }
}
