import Foundation
@testable import KioskDaemon
import Logging
import Printing
import SystemdSupport
import Testing

/// What an operator reads through systemd: journal priorities, the status line, the watchdog.
@Suite struct SystemConventionsTests {
    final class Lines: @unchecked Sendable {
        let lock = NSLock()
        var text = ""
        func append(_ line: String) { lock.withLock { text += line } }
    }

    @Test func journalLinesCarryTheirPriorityOnEveryLine() {
        let lines = Lines()
        var handler = JournalLogHandler(label: "kioskd", write: { lines.append($0) })
        handler.logLevel = .trace
        handler[metadataKey: "b"] = "2"
        let logger = Logger(label: "kioskd") { _ in handler }
        logger.warning("printer out of paper", metadata: ["a": "1"])
        logger.error("two\nlines")
        logger.debug("detail")
        logger.critical("down")
        #expect(lines.text == "<4>kioskd: printer out of paper a=1 b=2\n<3>kioskd: two\n<3>lines b=2\n<7>kioskd: detail b=2\n<2>kioskd: down b=2\n",
                "\(lines.text)")
        #expect(!JournalLogHandler.standardErrorIsJournal(environment: [:]))
        #expect(!JournalLogHandler.standardErrorIsJournal(environment: ["JOURNAL_STREAM": "1:2"]))
        #expect(!JournalLogHandler.standardErrorIsJournal(environment: ["JOURNAL_STREAM": "garbage"]))
    }

    @Test func theWatchdogStarvesWhenAMonitorStandsStill() {
        var judge = ProgressJudge(window: .seconds(10))
        let start = ContinuousClock.now
        #expect(judge.stalled(["reader": 1, "printers": 1], at: start).isEmpty)
        #expect(judge.stalled(["reader": 5, "printers": 1], at: start + .seconds(8)).isEmpty)
        #expect(judge.stalled(["reader": 9, "printers": 1], at: start + .seconds(11)) == ["printers"])
        #expect(judge.stalled(["reader": 9, "printers": 2], at: start + .seconds(22)) == ["reader"])
        #expect(judge.stalled(["reader": 10, "printers": 3], at: start + .seconds(23)).isEmpty)
    }

    @Test func printerStatesInAFewWords() {
        func status(_ reasons: [String], state: Int = 3) -> PrinterStatus {
            PrinterStatus(queue: "a4", state: state, reasons: reasons, accepting: true, message: "", reachable: true)
        }
        #expect(Kioskd.describe(status([])) == "ready")
        #expect(Kioskd.describe(status(["media-empty-error"], state: 5)) == "out of paper")
        #expect(Kioskd.describe(PrinterStatus(queue: "a4", state: 3, reasons: [], accepting: false, message: "", reachable: false)) == "offline")
    }
}
