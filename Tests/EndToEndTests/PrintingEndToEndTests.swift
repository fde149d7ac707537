import Foundation
import Printing
import TestSupport
import Testing

/// kioskctl against a private cupsd with virtual IPP printers, in good and bad states.
@Suite(.serialized) struct PrintingEndToEndTests {
    let kioskctl = BuiltProducts.path("kioskctl")
    func fixture(_ kind: String) -> String { BuiltProducts.repositoryPath("Tests/Fixtures/documents/\(kind).json") }

    func print(_ bed: CupsTestBed, _ kind: String, queue: String, timeout: Int = 30) throws -> ProcessResult {
        try ProcessRunner.run(kioskctl, ["document", "print", "--kind", kind, "--input", fixture(kind), "--printer", queue,
                                         "--timeout", String(timeout)], environment: bed.environment, timeout: 120)
    }

    @Test func printsEveryKindAndTheTextReachesThePrinter() throws {
        let bed = try CupsTestBed()
        defer { bed.stop() }
        let expected = ["business-licence": "91350100M000100Y43", "archive-extract": "变更登记",
                        "social-insurance-certificate": "441900********1234", "receipt": "L-20261123-0001"]
        for (kind, text) in expected.sorted(by: { $0.key < $1.key }) {
            let queue = kind == "receipt" ? "receipt" : "a4"
            let before = bed.printed(queue).count
            let r = try print(bed, kind, queue: queue)
            #expect(r.status == 0, "\(kind): \(r.stderr)")
            #expect(r.stdout.contains("completed"))
            // Progress while it waits, on standard error; the outcome alone on standard output.
            #expect(r.stderr.contains("submitted") && r.stderr.contains("completed"), "\(r.stderr)")
            #expect(!r.stdout.contains("submitted"))
            let files = bed.printed(queue)
            #expect(files.count == before + 1)
            if let last = files.last {
                #expect(pdfText(last).replacingOccurrences(of: " ", with: "").contains(text), "\(kind)")
                #expect(pdfPages(last) >= 1)
            }
        }
        let status = try ProcessRunner.run(kioskctl, ["printer", "status", "--json"], environment: bed.environment, timeout: 60)
        #expect(status.status == 0)
        #expect(status.stdout.contains("\"device\":\"online\""))
        let test = try ProcessRunner.run(kioskctl, ["printer", "test-page", "a4"], environment: bed.environment, timeout: 60)
        #expect(test.status == 0, "\(test.stderr)")
        // A printer role from the configuration: its queue and options (the receipt's 80 mm media).
        let byRole = try ProcessRunner.run(kioskctl, ["document", "print", "--kind", "receipt", "--input", fixture("receipt"),
                                                      "--role", "receipt"], environment: bed.environment, timeout: 120)
        #expect(byRole.status == 0, "\(byRole.stderr)")
        let info = bed.printed("receipt").last.map { $0.replacingOccurrences(of: ".pdf", with: ".txt") }
        #expect(info.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }?.contains("x-dimension=8000") == true)
    }

    @Test func everyFaultEndsInTheRightOutcomeAndMessage() throws {
        let bed = try CupsTestBed()
        defer { bed.stop() }
        // Every attempt fails while the fault stands, so a resubmission by CUPS cannot print it.
        try bed.fault("a4", "fail-jobs")
        var r = try print(bed, "receipt", queue: "a4")
        #expect(r.status == 1 && (r.stderr.contains("aborted") || r.stderr.contains("canceled")) && r.stderr.contains("打印失败，请联系工作人员"),
                "\(r.stdout) \(r.stderr)")
        try bed.fault("a4", "ok")

        try bed.fault("a4", "stop-printer")
        let status = try ProcessRunner.run(kioskctl, ["printer", "status", "a4"], environment: bed.environment, timeout: 60)
        #expect(status.status == 1 && status.stdout.contains("device stopped") && status.stdout.contains("cupsenable"))
        r = try print(bed, "receipt", queue: "a4", timeout: 3)
        #expect(r.status == 1 && r.stderr.contains("paused"), "\(r.stderr)")
        try bed.fault("a4", "ok")

        try bed.fault("a4", "media-empty")
        r = try print(bed, "receipt", queue: "a4", timeout: 4)
        #expect(r.status == 1 && r.stderr.contains("打印机缺纸，请联系工作人员"), "\(r.stderr)")
        try bed.fault("a4", "media-ok")
        try bed.fault("a4", "ok")

        try bed.fault("receipt", "reject")
        r = try print(bed, "receipt", queue: "receipt", timeout: 4)
        #expect(r.status == 1 && r.stderr.contains("not accepting"), "\(r.stderr)")
        try bed.fault("receipt", "ok")

        try bed.fault("receipt", "kill-printer")
        r = try print(bed, "receipt", queue: "receipt", timeout: 4)
        #expect(r.status == 3 && r.stderr.contains("uncertain"), "\(r.stderr)")

        r = try ProcessRunner.run(kioskctl, ["document", "print", "--kind", "receipt", "--input", fixture("receipt"),
                                             "--printer", "nosuchqueue", "--timeout", "3"], environment: bed.environment, timeout: 60)
        #expect(r.status == 1 && r.stderr.contains("nosuchqueue"), "\(r.stderr)")
    }

    @Test func renderContract() throws {
        let dir = try TemporaryDirectory(prefix: "render")
        defer { dir.remove() }
        var r = try ProcessRunner.run(kioskctl, ["document", "render", "--kind", "business-licence", "--input", fixture("business-licence"),
                                                 "-o", dir.path + "/l.pdf"], timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(pdfText(dir.path + "/l.pdf").contains("演示市云端科技有限公司"))
        let verify = try ProcessRunner.run(kioskctl, ["document", "verify", dir.path + "/l.pdf"], timeout: 60)
        #expect(verify.status == 0 && verify.stdout.contains("genuine"), "\(verify.stderr)")
        try Data(#"{"uscc":"91350100M000100Y43","name":"x"}"#.utf8).write(to: URL(fileURLWithPath: dir.path + "/bad.json"))
        r = try ProcessRunner.run(kioskctl, ["document", "render", "--kind", "business-licence", "--input", dir.path + "/bad.json",
                                             "-o", dir.path + "/b.pdf"], timeout: 60)
        #expect(r.status == 2 && r.stderr.contains("field type"), "\(r.stderr)")
    }
}

/// No double prints: a retried request is the same job; unknown outcomes are kept for staff.
@Suite(.serialized) struct PrintLedgerTests {
    @Test func aRetriedRequestIsTheSameJobAndUncertainPrintsAreKept() async throws {
        let bed = try CupsTestBed()
        defer { bed.stop() }
        let server = bed.environment["CUPS_SERVER"]
        let dir = try TemporaryDirectory(prefix: "ledger")
        defer { dir.remove() }
        let path = dir.path + "/prints.json"
        let renderPath = dir.path + "/r.pdf"
        let r = try ProcessRunner.run(BuiltProducts.path("kioskctl"), ["document", "render", "--kind", "receipt", "--input",
            BuiltProducts.repositoryPath("Tests/Fixtures/documents/receipt.json"), "-o", renderPath], timeout: 60)
        #expect(r.status == 0)
        let document = try Data(contentsOf: URL(fileURLWithPath: renderPath))
        let service = LedgerPrinter(ledger: PrintLedger(path: path), runner: PrintJobRunner(client: try CupsClient(server: server)))
        let first = await service.print(requestID: "req-1", kind: "receipt", queue: "receipt", pdf: document, title: "receipt",
                                        options: PrintOptions(), timeoutSeconds: 30)
        #expect(first.succeeded)
        let again = await service.print(requestID: "req-1", kind: "receipt", queue: "receipt", pdf: document, title: "receipt",
                                        options: PrintOptions(), timeoutSeconds: 30)
        #expect(again == first)
        #expect(bed.printed("receipt").count == 1)

        // Eight concurrent prints of one request (a double tap, a retried call): one job.
        let outcomes = await withTaskGroup(of: PrintOutcome.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    await service.print(requestID: "req-concurrent", kind: "receipt", queue: "receipt", pdf: document, title: "receipt",
                                        options: PrintOptions(), timeoutSeconds: 30)
                }
            }
            return await group.reduce(into: [PrintOutcome]()) { $0.append($1) }
        }
        #expect(outcomes.allSatisfy { $0.succeeded }, "\(outcomes)")
        #expect(Set(outcomes.map { "\($0)" }).count == 1, "\(outcomes)")
        #expect(bed.printed("receipt").count == 2)

        try bed.fault("receipt", "kill-printer")
        let lost = await service.print(requestID: "req-2", kind: "receipt", queue: "receipt", pdf: document, title: "receipt",
                                       options: PrintOptions(), timeoutSeconds: 3)
        guard case .uncertain = lost else { Issue.record("expected uncertain, got \(lost)"); return }
        // A new ledger from the same file (the kiosk restarted) remembers both, and retries neither.
        let reopened = PrintLedger(path: path)
        #expect(await reopened.entry("req-1")?.state == .completed)
        #expect(await reopened.uncertain().map(\.requestID) == ["req-2"])
        let retried = await LedgerPrinter(ledger: reopened, runner: PrintJobRunner(client: try CupsClient(server: server)))
            .print(requestID: "req-2", kind: "receipt", queue: "receipt", pdf: document, title: "receipt",
                   options: PrintOptions(), timeoutSeconds: 3)
        guard case .uncertain = retried else { Issue.record("an uncertain print was retried: \(retried)"); return }
        #expect(await reopened.resolve("req-2", printed: false))
        #expect(await reopened.uncertain().isEmpty)
    }
}

/// No printed document outlives its outcome in cupsd's spool, even with CUPS's default of
/// keeping job files for a day.
@Suite(.serialized) struct SpoolPurgeTests {
    @Test func theKiosksPrintsLeaveNothingInCupsdsSpool() async throws {
        let bed = try CupsTestBed(preserveJobFiles: "86400")
        defer { bed.stop() }
        let server = bed.environment["CUPS_SERVER"]
        let dir = try TemporaryDirectory(prefix: "purge")
        defer { dir.remove() }
        let pdf = dir.path + "/certificate.pdf"
        let r = try ProcessRunner.run(BuiltProducts.path("kioskctl"), ["document", "render", "--kind", "social-insurance-certificate", "--input",
            BuiltProducts.repositoryPath("Tests/Fixtures/documents/social-insurance-certificate.json"), "-o", pdf], timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        let document = try Data(contentsOf: URL(fileURLWithPath: pdf))
        let runner = PrintJobRunner(client: try CupsClient(server: server))
        // Without the purge, cupsd keeps the document for a day: the setting is in force.
        let kept = runner.print(queue: "a4", pdf: document, title: "social insurance", options: PrintOptions(), timeoutSeconds: 30)
        #expect(kept.succeeded)
        #expect(bed.cupsSpool().contains { $0.hasPrefix("d") }, "\(bed.cupsSpool())")
        if case .completed(let id) = kept { runner.client.purge(queue: "a4", jobID: id) }
        #expect(bed.cupsSpool().isEmpty, "\(bed.cupsSpool())")

        // The kiosk's print service: completed, and failed at the printer, both purged.
        let service = LedgerPrinter(ledger: PrintLedger(path: dir.path + "/ledger.json"), runner: runner)
        let done = await service.print(requestID: "req-purge-1", kind: "social-insurance-certificate", queue: "a4", pdf: document,
                                       title: "social insurance", options: PrintOptions(), timeoutSeconds: 30)
        #expect(done.succeeded)
        try bed.fault("a4", "fail-jobs")
        let failed = await service.print(requestID: "req-purge-2", kind: "social-insurance-certificate", queue: "a4", pdf: document,
                                         title: "social insurance", options: PrintOptions(), timeoutSeconds: 30)
        #expect(!failed.succeeded)
        try bed.fault("a4", "ok")
        #expect(bed.cupsSpool().isEmpty, "left in cupsd's spool: \(bed.cupsSpool())")
        #expect(try runner.client.jobs(queue: "a4").isEmpty)
    }
}

@Suite(.serialized) struct PrinterMonitorTests {
    @Test func aStoppedPrinterIsAnEventAndSoIsItsReturn() async throws {
        let bed = try CupsTestBed()
        defer { bed.stop() }
        let server = bed.environment["CUPS_SERVER"] ?? ""
        let monitor = PrinterMonitor(queues: ["a4"], intervalSeconds: 0.2) { try CupsClient(server: server) }
        monitor.start()
        defer { monitor.stop() }
        var events = monitor.events.makeAsyncIterator()
        #expect(await events.next()?.device == .online)
        try bed.fault("a4", "stop-printer")
        let stopped = await events.next()
        #expect(stopped?.device == .stopped && stopped?.reasons.contains("paused") == true)
        try bed.fault("a4", "ok")
        #expect(await events.next()?.device == .online)
    }
}
