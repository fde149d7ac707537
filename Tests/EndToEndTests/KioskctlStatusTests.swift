import Foundation
import TestSupport
import Testing

/// `kioskctl status` and `kioskctl events` against the whole kiosk on real parts.
@Suite(.serialized) struct KioskctlStatusTests {
    let kioskctl = BuiltProducts.path("kioskctl")

    @Test func statusAtAGlanceAndEventsAsTheyHappen() throws {
        let bed = try KioskStack()
        defer { bed.stop() }
        let socket = ["--socket", bed.kioskd.technicianSocket]
        var r = try ProcessRunner.run(kioskctl, ["status"] + socket, timeout: 30)
        #expect(r.status == 0 && r.stdout.contains("● kioskd demo-kiosk-01") && r.stdout.contains("serving; reader ok; a4 ready"),
                "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("printer a4: queue a4, online"), "\(r.stdout)")
        // What the technician needs at a glance: the configuration in force and the queue to the registry.
        #expect(r.stdout.contains("config:      embedded default") || r.stdout.contains("config:      generation "), "\(r.stdout)")
        #expect(r.stdout.contains("outbox:      ") && r.stdout.contains("dead letters") && r.stdout.contains("heartbeat:   "), "\(r.stdout)")
        r = try ProcessRunner.run(kioskctl, ["status", "--json"] + socket, timeout: 30)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect((object?["summary"] as? String)?.hasPrefix("serving") == true, "\(r.stdout)")

        // The event stream, one JSON object per line, and never who the citizen is.
        let log = bed.directory.path + "/events.log"
        let events = try DaemonProcess(kioskctl, ["events", "--json"] + socket, logPath: log)
        defer { _ = events.stop() }
        // Following once kioskd counts it among the event stream's subscribers.
        #expect(eventually(15) {
            bed.metrics().split(separator: "\n").contains { line in
                line.hasPrefix("yitiji_event_subscribers ") && (Double(line.split(separator: " ").last ?? "") ?? 0) >= 1
            }
        }, "\(bed.metrics())")
        try bed.reader.control("place resident")
        #expect(eventually(15) { events.log.contains("\"session.started\"") }, "\(events.log)")
        try bed.reader.control("remove")
        #expect(eventually(15) { events.log.contains("\"card.removed\"") || events.log.contains("\"session.ended\"") }, "\(events.log)")
        #expect(!events.log.contains("张") && !events.log.contains("441900"), "\(events.log)")
        let lines = events.log.split(separator: "\n")
        #expect(lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil }, "\(lines)")
        r = try ProcessRunner.run(kioskctl, ["status"] + socket, timeout: 30)
        #expect(r.stdout.contains("sessions:    1 started"), "\(r.stdout)")

        // Not running: exit 3, as systemctl status says it.
        r = try ProcessRunner.run(kioskctl, ["status", "--socket", bed.directory.path + "/none.sock"], timeout: 30)
        #expect(r.status == 3 && r.stderr.contains("not running"), "\(r.stderr)")
        r = try ProcessRunner.run(kioskctl, ["events", "--socket", bed.directory.path + "/none.sock"], timeout: 30)
        #expect(r.status == 3, "\(r.stderr)")
    }
}
