import Foundation
import TestSupport
import Testing

/// `systemctl reload kioskd` (SIGHUP): the site's configuration is read again and taken into use
/// without a restart; a configuration that does not load, or changes the kiosk's identity, is
/// refused and the running one stays.
@Suite(.serialized) struct SiteReloadTests {
    @Test func aReloadTakesTheSitesChangeAndRefusesABrokenOne() throws {
        let bed = try KioskdTestBed()
        defer { _ = bed.stop(); bed.directory.remove() }
        func interface() -> String { bed.curl(bed.citizenSocket, "GET", "/v1/interface").1 }
        #expect(interface().contains("演示政务服务大厅 1 号机"))
        let kioskYAML = bed.configDirectory + "/kiosk.yaml"
        let original = try String(contentsOfFile: kioskYAML, encoding: .utf8)

        // The hall renames the kiosk: taken at once, the process the same.
        try original.replacingOccurrences(of: "演示政务服务大厅 1 号机", with: "演示政务服务大厅 2 号机").write(toFile: kioskYAML, atomically: true, encoding: .utf8)
        kill(bed.process.pid, SIGHUP)
        #expect(eventually(10) { interface().contains("演示政务服务大厅 2 号机") }, "\(interface().prefix(300))")
        #expect(bed.process.isRunning)

        // A broken file: refused, named, and the running configuration stays.
        let texts = bed.configDirectory + "/texts.yaml"
        let goodTexts = try String(contentsOfFile: texts, encoding: .utf8)
        try (goodTexts + "\n  broken: [unclosed\n").write(toFile: texts, atomically: true, encoding: .utf8)
        kill(bed.process.pid, SIGHUP)
        #expect(eventually(10) { bed.process.log.contains("site configuration reload refused") }, "\(bed.process.log.suffix(800))")
        #expect(bed.process.log.contains("texts.yaml"))
        #expect(bed.process.isRunning && interface().contains("演示政务服务大厅 2 号机"))
        try goodTexts.write(toFile: texts, atomically: true, encoding: .utf8)

        // A new identity needs enrolment and a restart.
        try original.replacingOccurrences(of: "id: demo-kiosk-01", with: "id: demo-kiosk-99").write(toFile: kioskYAML, atomically: true, encoding: .utf8)
        kill(bed.process.pid, SIGHUP)
        #expect(eventually(10) { bed.process.log.contains("kiosk.id changes from demo-kiosk-01 to demo-kiosk-99") }, "\(bed.process.log.suffix(800))")
        #expect(bed.process.isRunning && interface().contains("演示政务服务大厅 2 号机"))

        // Reloads in a burst, then the audit says what each did.
        try original.write(toFile: kioskYAML, atomically: true, encoding: .utf8)
        for _ in 0..<5 { kill(bed.process.pid, SIGHUP) }
        #expect(eventually(10) { interface().contains("演示政务服务大厅 1 号机") })
        let audit = bed.curl(bed.technicianSocket, "GET", "/v1/audit?limit=50").1
        #expect(audit.contains("config.reload") && audit.contains("applied") && audit.contains("refused"), "\(audit.prefix(1500))")
        #expect(bed.process.isRunning)
    }
}
