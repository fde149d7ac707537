import Foundation
import KioskCore
import Registry
@testable import RegistryServer
import Testing

/// `registryd kiosk status` as a technician reads it.
@Suite struct FleetStatusTests {
    static let now = Date(timeIntervalSince1970: 1_790_000_000)

    static func entry(_ id: String, heard: TimeInterval?, _ heartbeat: Heartbeat? = nil, role: PrincipalRole = .kiosk) -> KioskEntry {
        KioskEntry(id: id, publicKey: "", addedAt: now, note: "", lastHeartbeatAt: heard.map { now.addingTimeInterval(-$0) }, role: role,
                   site: "hall-1", lastHeartbeat: heartbeat)
    }

    @Test func eachKioskIsOneLineAndTheFleetOneSummary() {
        let fine = Heartbeat(deviceStatus: ["reader": "ok", "printer.a4": "ok"], outboxDepth: 0, configVersion: "fleet=3", sentAt: Self.now)
        let troubled = Heartbeat(deviceStatus: ["reader": "missing", "printer.a4": "online/paper-out/toner-low"], outboxDepth: 250,
                                 configVersion: "fleet=2", sentAt: Self.now)
        let status = FleetStatus([Self.entry("K-01", heard: 42, fine), Self.entry("K-02", heard: 3 * 3600 + 720, fine),
                                  Self.entry("K-03", heard: 61, troubled), Self.entry("K-04", heard: nil),
                                  Self.entry("W-01", heard: nil, role: .counter)], now: Self.now)
        let lines = status.text(now: Self.now).split(separator: "\n").map(String.init)
        #expect(lines == [
            "K-01\thall-1\theard 42 s ago\tconfig fleet=3\toutbox 0\tdevices ok",
            "K-02\thall-1\tSILENT 3 h 12 min ago\tconfig fleet=3\toutbox 0\tdevices ok",
            "K-03\thall-1\theard 1 min ago\tconfig fleet=2\toutbox 250 BACKLOG\tprinter.a4 online/paper-out/toner-low, reader missing",
            "K-04\thall-1\tNEVER heard\tconfig -\toutbox -\t-",
            "4 kiosks: 2 heard within 5 min, 1 silent, 1 never heard; 1 with a device not ok; 1 with 100 or more items waiting",
        ])
        // Only those to visit, with the whole fleet's summary.
        let visits = status.text(now: Self.now, onlyAttention: true).split(separator: "\n").map { String($0.prefix(4)) }
        #expect(visits == ["K-02", "K-03", "K-04", "4 ki"])
        #expect(FleetStatus([], now: Self.now).text(now: Self.now) == "0 kiosks: 0 heard within 5 min, 0 silent, 0 never heard; 0 with a device not ok; 0 with 100 or more items waiting")
    }

    /// A state stored before its text was checked still never reaches the terminal as control codes.
    @Test func whatAKioskReportedNeverActsOnTheTerminal() {
        let hostile = Heartbeat(deviceStatus: ["printer\ta4": "\u{1B}]0;owned\u{07}"], outboxDepth: 0, configVersion: "3\u{1B}[2J\n\u{202E}",
                                sentAt: Self.now)
        let text = FleetStatus([Self.entry("K-01", heard: 1, hostile)], now: Self.now).text(now: Self.now)
        #expect(text.split(separator: "\n").first == "K-01\thall-1\theard 1 s ago\tconfig 3?[2J??\toutbox 0\tprinter?a4 ?]0;owned?")
        #expect(!text.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 || $0.value == 0x202E })
    }

    @Test func agesReadAsPeopleSayThem() {
        #expect([0, 59, 60, 3599, 3600, 3660, 86_399, 86_400, 90_000, -5].map { FleetStatus.age(TimeInterval($0)) }
                == ["0 s", "59 s", "1 min", "59 min", "1 h", "1 h 1 min", "23 h 59 min", "1 d", "1 d 1 h", "0 s"])
    }
}
