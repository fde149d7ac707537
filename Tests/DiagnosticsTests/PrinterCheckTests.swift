import Diagnostics
import Foundation
import TestSupport
import Testing

/// The printer row against the CUPS test bed, in process, with the clock moved on.
@Suite(.serialized) struct PrinterCheckTests {
    @Test func jobsWaitingOnAStoppedPrinterAreCountedWithTheirAge() async throws {
        let bed = try await offThePool { try CupsTestBed() }
        defer { bed.stop() }
        let state = try TemporaryDirectory(prefix: "diag")
        defer { state.remove() }
        var environment = embeddedEnvironment(state)
        environment.cupsServer = bed.environment["CUPS_SERVER"]
        environment.verbose = true

        var result = await PrinterCheck(role: "a4").run(context(environment))
        #expect(result.status == .ok && result.detail.contains("queue a4 idle"), "\(result)")
        #expect(result.verbose.contains { $0.hasPrefix("printer-state = ") })

        try bed.fault("a4", "stop-printer")
        // A PDF, as the kiosk prints: CUPS now and then refuses text/plain on a queue just set up.
        let document = "/usr/share/cups/data/default-testpage.pdf"
        for _ in 0..<2 {
            let lp = try ProcessRunner.run("/usr/bin/lp", ["-d", "a4", document], environment: bed.environment, timeout: 30)
            #expect(lp.status == 0, "\(lp.stderr)")
        }
        environment.now = { Date().addingTimeInterval(600) }
        result = await PrinterCheck(role: "a4").run(context(environment))
        #expect(result.status == .fail && result.detail.contains("2 job(s) waiting, oldest 10 min") && result.action.contains("cupsenable"), "\(result)")
        #expect(result.verbose.contains { $0.contains(": pending") })
        try bed.fault("a4", "ok")
    }
}

/// Durations as a technician reads them in checks and in `kioskctl status`.
@Suite struct DurationWordsTests {
    @Test(arguments: [(0.4, "0 s"), (45, "45 s"), (119, "119 s"), (720, "12 min"), (11_100, "3 h 5 min"), (86_400, "24 h"),
                      (187_200, "2 d 4 h"), (604_800, "7 d"), (-5, "0 s")] as [(Double, String)])
    func inWords(seconds: Double, words: String) {
        #expect(Durations.words(seconds) == words)
    }
}
