import Foundation
import Registry
import Testing

/// The spread a registry puts on an announcement, as a kiosk reads it.
@Suite struct ConfigWireTests {
    static func announcement(spread: Int?, sha: String = String(repeating: "ab", count: 32)) -> ConfigAnnouncement {
        ConfigAnnouncement(target: "fleet", version: 3, id: "7", sha256: sha, size: 100, spreadSeconds: spread)
    }

    @Test func eachKioskHasItsOwnPointInTheSpreadTheSameOnEveryPoll() {
        let bundle = Self.announcement(spread: 20)
        let delays = (0..<1000).map { bundle.downloadDelay(kioskId: String(format: "DG-%04d", $0)) }
        #expect(delays.allSatisfy { $0 >= .zero && $0 < .seconds(20) })
        #expect(bundle.downloadDelay(kioskId: "DG-0001") == bundle.downloadDelay(kioskId: "DG-0001"))
        // Spread out, not bunched: every tenth of the window gets some of the 1,000 kiosks.
        let tenths = Set(delays.map { Int($0.components.seconds) / 2 })
        #expect(tenths.count == 10)
        // Another bundle puts a kiosk elsewhere: no kiosk is always the last.
        let other = Self.announcement(spread: 20, sha: String(repeating: "cd", count: 32))
        #expect((0..<50).contains { bundle.downloadDelay(kioskId: "K\($0)") != other.downloadDelay(kioskId: "K\($0)") })
    }

    @Test func noSpreadIsAtOnceAndAHostileSpreadIsCapped() throws {
        #expect(Self.announcement(spread: nil).downloadDelay(kioskId: "K1") == .zero)
        #expect(Self.announcement(spread: 0).downloadDelay(kioskId: "K1") == .zero)
        #expect(Self.announcement(spread: -5).downloadDelay(kioskId: "K1") == .zero)
        let cap = Duration.seconds(ConfigAnnouncement.maximumSpreadSeconds)
        #expect((0..<200).allSatisfy { Self.announcement(spread: Int.max).downloadDelay(kioskId: "K\($0)") < cap },
                "a registry cannot hold a kiosk back more than the cap")
        // An answer from a registry that sends no spread decodes as one without.
        let old = #"{"target":"fleet","version":1,"id":"1","sha256":"aa","size":3}"#
        #expect(try JSONDecoder().decode(ConfigAnnouncement.self, from: Data(old.utf8)).spreadSeconds == nil)
    }
}
