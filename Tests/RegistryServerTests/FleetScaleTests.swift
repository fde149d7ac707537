import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KioskConfig
import KioskCore
import Registry
@testable import RegistryServer
import TestSupport
import Testing

/// A configuration store that counts the reads a fleet would multiply.
final class CountingConfigStore: ConfigBundleStore, @unchecked Sendable {
    let base: SQLiteRegistryStore
    let counts = Locked<[String: Int]>([:])
    init(_ base: SQLiteRegistryStore) { self.base = base }
    func count(_ name: String) -> Int { counts.withLock { $0[name] ?? 0 } }
    private func tick(_ name: String) { counts.withLock { $0[name, default: 0] += 1 } }

    func publish(envelope: Data, target: String, version: Int, stagePercent: Int, note: String, at: Date) async throws -> PublishedBundle {
        try await base.publish(envelope: envelope, target: target, version: version, stagePercent: stagePercent, note: note, at: at)
    }
    func setStage(id: Int64, percent: Int) async throws -> Bool { try await base.setStage(id: id, percent: percent) }
    func publishedBundles(targets: [String]?) async throws -> [PublishedBundle] {
        tick("bundles")
        return try await base.publishedBundles(targets: targets)
    }
    func bundleEnvelope(id: Int64) async throws -> Data? {
        tick("envelope")
        return try await base.bundleEnvelope(id: id)
    }
    func configRevision() async throws -> Int64 {
        tick("revision")
        return try await base.configRevision()
    }
    func record(report: ConfigReport, kioskId: String) async throws { try await base.record(report: report, kioskId: kioskId) }
    func configReports() async throws -> [KioskConfigState] { try await base.configReports() }
}

/// What registryd does per kiosk when thousands hold polls at once, and the roll-out's key list.
@Suite struct FleetScaleTests {
    static func envelope(version: Int) throws -> Data {
        try BundleSigning.signBundle(version: version, expires: "2099-01-01T00:00:00Z", target: BundleTarget(scope: .fleet),
                                     files: ["texts.yaml": Data("idle:\n  title: v\(version)\n".utf8)], by: [Curve25519.Signing.PrivateKey()])
    }

    @Test func heldPollsShareOneWatcherAndOneReadPerRevision() async throws {
        let dir = try TemporaryDirectory(prefix: "catalogue")
        defer { dir.remove() }
        let store = CountingConfigStore(try SQLiteRegistryStore(path: dir.path + "/registry.sqlite"))
        let catalogue = ConfigCatalogue(store: store, interval: .milliseconds(50))
        let kiosks = (0..<300).map { String(format: "K%04d", $0) }
        var first: [String: (Int64, String)] = [:]
        for kiosk in kiosks {
            let (revision, answer) = try await catalogue.announcements(kioskId: kiosk, site: nil)
            first[kiosk] = (revision, answer.etag)
        }
        #expect(store.count("bundles") == 1, "one read of the bundles for 300 kiosks at one revision")
        let seen = first
        let woken = Locked(0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for kiosk in kiosks {
                group.addTask {
                    let (revision, etag) = try #require(seen[kiosk])
                    let changed = await catalogue.waitForChange(after: revision, until: .now + .seconds(20))
                    let now = try #require(changed)
                    let answer = ConfigAnnouncements.newest(of: try await catalogue.bundles(at: now), kioskId: kiosk, site: nil)
                    #expect(answer.etag != etag && answer.bundles.map(\.version) == [1])
                    woken.withLock { $0 += 1 }
                }
            }
            // Every poll is held before the publish.
            while await catalogue.held < kiosks.count { try await Task.sleep(for: .milliseconds(10)) }
            let before = store.count("revision")
            try await Task.sleep(for: .milliseconds(300))
            // One watcher reads the revision for all 300 (about 6 reads in 300 ms), not 300 each.
            #expect(store.count("revision") - before <= 10)
            _ = try await store.publish(envelope: try Self.envelope(version: 1), target: "fleet", version: 1, stagePercent: 100, note: "", at: Date())
            try await group.waitForAll()
        }
        #expect(woken.withLock { $0 } == kiosks.count)
        #expect(store.count("bundles") == 2, "one more read for the new revision, however many kiosks woke")
        #expect(await catalogue.held == 0)
        // The 300 woken together are the herd the answers spread their downloads over.
        #expect(await catalogue.herd == kiosks.count)
        #expect(ConfigSpread(perSecond: 100).seconds(herd: await catalogue.herd) == 3)
    }

    /// A publish to many kiosks at once spreads their downloads; a few kiosks, a kiosk's own
    /// bundle, or a spread switched off download at once; no herd gets more than the cap.
    @Test func downloadsAreSpreadOverTheHerdAndNeverForAKiosksOwnBundle() {
        let spread = ConfigSpread(perSecond: 500)
        #expect(spread.seconds(herd: 0) == 0)
        #expect(spread.seconds(herd: 499) == 0, "fewer kiosks than a second's downloads: at once")
        #expect(spread.seconds(herd: 5_000) == 10)
        #expect(spread.seconds(herd: 50_000) == ConfigSpread.maximumSeconds)
        #expect(ConfigSpread(perSecond: 0).seconds(herd: 50_000) == 0, "0 switches the spread off")
        let answer = ConfigAnnouncements(etag: "e", bundles: [
            ConfigAnnouncement(target: "fleet", version: 2, id: "1", sha256: String(repeating: "a", count: 64), size: 10),
            ConfigAnnouncement(target: "site:hall-1", version: 1, id: "2", sha256: String(repeating: "b", count: 64), size: 10),
            ConfigAnnouncement(target: "kiosk:K1", version: 1, id: "3", sha256: String(repeating: "c", count: 64), size: 10),
        ])
        let spreadOut = spread.apply(10, to: answer)
        #expect(spreadOut.bundles.map(\.spreadSeconds) == [10, 10, nil])
        #expect(spreadOut.etag == answer.etag, "the spread is not part of what the kiosk compares")
        #expect(spread.apply(0, to: answer) == answer)
    }

    @Test func aHeldPollEndsAtItsDeadlineOrWhenItsRequestIsCancelled() async throws {
        let dir = try TemporaryDirectory(prefix: "catalogue")
        defer { dir.remove() }
        let store = CountingConfigStore(try SQLiteRegistryStore(path: dir.path + "/registry.sqlite"))
        let catalogue = ConfigCatalogue(store: store, interval: .milliseconds(50))
        let (revision, _) = try await catalogue.announcements(kioskId: "K1", site: nil)
        let started = ContinuousClock.now
        #expect(await catalogue.waitForChange(after: revision, until: .now + .milliseconds(200)) == nil)
        #expect(ContinuousClock.now - started >= .milliseconds(200))
        // A client that goes away: its wait ends at once and the catalogue holds nothing for it.
        let waiter = Task { await catalogue.waitForChange(after: revision, until: .now + .seconds(60)) }
        while await catalogue.held == 0 { try await Task.sleep(for: .milliseconds(5)) }
        waiter.cancel()
        #expect(await waiter.value == nil)
        #expect(await catalogue.held == 0)
        // Already cancelled before it waits.
        let late = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await catalogue.waitForChange(after: revision, until: .now + .seconds(60))
        }
        #expect(await late.value == nil)
        #expect(await catalogue.held == 0)
        // A revision newer than the caller's is answered without waiting.
        _ = try await store.publish(envelope: try Self.envelope(version: 1), target: "fleet", version: 1, stagePercent: 100, note: "", at: Date())
        let (now, _) = try await catalogue.announcements(kioskId: "K1", site: nil)
        #expect(await catalogue.waitForChange(after: revision, until: .now + .seconds(60)) == now)
    }

    @Test func anEnvelopeIsReadOnceAndKeptWithinItsBudget() async throws {
        let dir = try TemporaryDirectory(prefix: "catalogue")
        defer { dir.remove() }
        let store = CountingConfigStore(try SQLiteRegistryStore(path: dir.path + "/registry.sqlite"))
        let one = try Self.envelope(version: 1), two = try Self.envelope(version: 2)
        let a = try await store.publish(envelope: one, target: "fleet", version: 1, stagePercent: 100, note: "", at: Date())
        let b = try await store.publish(envelope: two, target: "fleet", version: 2, stagePercent: 100, note: "", at: Date())
        // Room for one envelope only: the other is read again when asked.
        let catalogue = ConfigCatalogue(store: store, envelopeBudget: max(one.count, two.count) + 10)
        for _ in 0..<100 { #expect(try await catalogue.envelope(id: a.id) == one) }
        #expect(store.count("envelope") == 1)
        #expect(try await catalogue.envelope(id: b.id) == two)
        #expect(try await catalogue.envelope(id: a.id) == one)
        #expect(store.count("envelope") == 3)
        #expect(try await catalogue.envelope(id: 999) == nil)
    }

    /// Through the routes: a held poll answers with the bundle published meanwhile.
    @Test func aHeldPollAnswersWhenABundleIsPublished() async throws {
        let dir = try TemporaryDirectory(prefix: "catalogue")
        defer { dir.remove() }
        let store = try SQLiteRegistryStore(path: dir.path + "/registry.sqlite")
        let kiosk = try KioskCredentials.generate(kioskId: "K1")
        try await store.addKiosk(id: kiosk.kioskId, publicKey: try #require(Data(base64Encoded: kiosk.publicKeyBase64)), note: "")
        let router = Router(context: RegistryRequestContext.self)
        RegistryRoutes.add(to: router, store: store)
        try await Application(router: router).test(.router) { client in
            let (status, body) = try await SignedReadTests.get(client, "/v1/config/announcements", as: kiosk)
            #expect(status == 200)
            let etag = try RegistryJSON.decoder().decode(ConfigAnnouncements.self, from: Data(body.utf8)).etag
            async let held = SignedReadTests.get(client, "/v1/config/announcements?etag=\(etag)&wait=30", as: kiosk)
            try await Task.sleep(for: .milliseconds(400))
            let started = ContinuousClock.now
            _ = try await store.publish(envelope: try Self.envelope(version: 7), target: "fleet", version: 7, stagePercent: 100, note: "", at: Date())
            let (heldStatus, heldBody) = try await held
            #expect(heldStatus == 200 && ContinuousClock.now - started < .seconds(5))
            #expect(try RegistryJSON.decoder().decode(ConfigAnnouncements.self, from: Data(heldBody.utf8)).bundles.map(\.version) == [7])
        }
    }

    // MARK: The roll-out's key list

    static func line(_ id: String, site: String? = nil) throws -> (String, KioskCredentials) {
        let credentials = try KioskCredentials.generate(kioskId: id)
        return ("\(id) \(credentials.publicKeyBase64)" + (site.map { " \($0)" } ?? ""), credentials)
    }

    @Test func aListIsReadWholeWithCommentsAndSites() throws {
        let (a, _) = try Self.line("HALL1-01", site: "hall-1"), (b, _) = try Self.line("HALL1-02")
        let entries = try PrincipalImport.parse(Data("# hall 1\n\n\(a)\n\t\(b)  \n".utf8), note: "roll-out 3")
        #expect(entries.map(\.id) == ["HALL1-01", "HALL1-02"])
        #expect(entries.map(\.site) == ["hall-1", nil])
        #expect(entries.allSatisfy { $0.note == "roll-out 3" && $0.role == .kiosk && $0.publicKey.count == 32 })
    }

    @Test func aBadListNamesItsLineAndRegistersNothing() throws {
        let (good, _) = try Self.line("K-01")
        let key = try Self.line("x").1.publicKeyBase64
        let cases: [(String, String)] = [
            ("\(good)\nK-02\n", "line 2: expected ID PUBLIC-KEY [SITE], found 1"),
            ("\(good)\nK-02 \(key) hall-1 extra\n", "line 2: expected ID PUBLIC-KEY [SITE], found 4"),
            ("\(good)\nK-02 not*base64\n", "line 2: the public key is not base64"),
            ("\(good)\nK-02 AAAA\n", "line 2: the public key must be base64 of 32 raw Ed25519 bytes"),
            ("\(good)\nK/02 \(key)\n", "line 2: 'K/02' is not a valid kiosk ID"),
            ("\(good)\nK-02 \(key) hall/1\n", "line 2: 'hall/1' is not a site id"),
            ("\(good)\n\(good)\n", "line 2: K-01 is listed twice"),
            ("# nothing\n\n", "the list names no kiosk"),
        ]
        for (text, expected) in cases {
            do {
                _ = try PrincipalImport.parse(Data(text.utf8))
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.description.hasPrefix(expected) && error.description.hasSuffix("nothing was registered"), "\(error)")
            }
        }
        #expect(throws: PrincipalImport.Failure.list("the list is not UTF-8 text")) { try PrincipalImport.parse(Data([0x4B, 0xFF, 0xFE, 0x20])) }
        let huge = Data(count: PrincipalImport.maxBytes + 1)
        #expect(throws: PrincipalImport.Failure.list("the list is over 64 MiB")) { try PrincipalImport.parse(huge) }
    }

    @Test func aRekeyNeedsReplaceAndAKnownKioskKeepsItsSiteAndNote() throws {
        let (line, credentials) = try Self.line("K-01")
        let (other, _) = try Self.line("K-01")
        let registered = ["K-01": KioskEntry(id: "K-01", publicKey: credentials.publicKeyBase64, addedAt: Date(), note: "南城大厅",
                                             lastHeartbeatAt: nil, role: .kiosk, site: "hall-1")]
        let same = try PrincipalImport.plan(try PrincipalImport.parse(Data(line.utf8)), registered: registered, replace: false)
        #expect(same.plan == PrincipalImport.Plan(new: 0, rekeyed: 0, updated: 0, unchanged: 1) && same.writes.isEmpty)
        #expect(throws: PrincipalImport.Failure.rekeys(["K-01"])) {
            try PrincipalImport.plan(try PrincipalImport.parse(Data(other.utf8)), registered: registered, replace: false)
        }
        let replaced = try PrincipalImport.plan(try PrincipalImport.parse(Data(other.utf8)), registered: registered, replace: true)
        #expect(replaced.plan.rekeyed == 1 && replaced.writes.first?.site == "hall-1" && replaced.writes.first?.note == "南城大厅")
        let moved = try PrincipalImport.plan(try PrincipalImport.parse(Data("\(line) hall-2".utf8)), registered: registered, replace: false)
        #expect(moved.plan.updated == 1 && moved.writes.first?.site == "hall-2")
    }
}
