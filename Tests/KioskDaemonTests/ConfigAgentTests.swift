import Crypto
import Foundation
import KioskAPI
import KioskConfig
@testable import KioskDaemon
import Testing
import TestSupport

/// Bundles announced by a test instead of the registry.
actor TestFeed: ConfigFeed {
    private var bundles: [String: Data] = [:]
    private var truncate: Set<String> = []
    private(set) var reports: [ConfigHistoryEntry] = []
    /// When each bundle was downloaded.
    private(set) var downloadedAt: [String: ContinuousClock.Instant] = [:]
    private let stream: AsyncStream<FeedAnswer>
    private let continuation: AsyncStream<FeedAnswer>.Continuation

    init() {
        (stream, continuation) = AsyncStream<FeedAnswer>.makeStream()
    }

    /// Announces `data` as `target` version `version`.
    @discardableResult
    func publish(_ data: Data, target: String, version: Int, truncated: Bool = false, spreadSeconds: Int? = nil) -> BundleAnnouncement {
        let id = "\(target)-\(version)"
        bundles[id] = data
        if truncated { truncate.insert(id) }
        let announcement = Self.announcement(data, target: target, version: version, spreadSeconds: spreadSeconds)
        continuation.yield(FeedAnswer(bundles: [announcement]))
        return announcement
    }

    static func announcement(_ data: Data, target: String, version: Int, spreadSeconds: Int? = nil) -> BundleAnnouncement {
        let digest = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        return BundleAnnouncement(target: target, version: version, id: "\(target)-\(version)", sha256: digest, size: data.count,
                                  spreadSeconds: spreadSeconds)
    }

    /// Sends one answer as it is, with a statement or none.
    func answer(_ answer: FeedAnswer) { continuation.yield(answer) }

    nonisolated func announcements() -> AsyncStream<FeedAnswer> { stream }

    func download(_ announcement: BundleAnnouncement) async throws -> Data {
        guard let data = bundles[announcement.id] else { throw URLError(.fileDoesNotExist) }
        downloadedAt[announcement.id] = .now
        return truncate.contains(announcement.id) ? data.prefix(data.count / 2) : data
    }

    func report(_ entry: ConfigHistoryEntry) async { reports.append(entry) }
}

@Suite(.serialized) struct ConfigAgentTests {
    let signers = Signers()
    static let embedded = URL(fileURLWithPath: BuiltProducts.repositoryPath("kiosk-config"))

    /// kioskd on printers of its own, fed bundles by a test feed, trusting the signers' root.
    func kioskOnAFeed() async throws -> (CupsTestBed, TestFeed, DaemonHarness) {
        let cups = try await offThePool { try CupsTestBed() }
        let feed = TestFeed()
        do {
            let harness = try await DaemonHarness(gateway: try FakeGateway(), cups: cups, configFeed: feed,
                                                  trustedRoot: try signers.signedRoot(signers.rootMetadata(), by: signers.rootKeys))
            return (cups, feed, harness)
        } catch {
            cups.stop()
            throw error
        }
    }

    func file(_ name: String, replacing old: String, with new: String) throws -> Data {
        let text = try String(contentsOf: Self.embedded.appendingPathComponent(name), encoding: .utf8)
        #expect(text.contains(old))
        return Data(text.replacingOccurrences(of: old, with: new).utf8)
    }

    func idlePrompt(_ harness: DaemonHarness) async throws -> String {
        try await harness.client.interfaceConfiguration().text("idle.prompt", "zh")
    }

    @Test func publishedBundlesApplyAndBadOnesAreRejectedWithoutTouchingTheRunningConfiguration() async throws {
        let (cups, feed, harness) = try await kioskOnAFeed()
        defer { cups.stop() }
        var events = try await harness.subscribedEvents()
        let newTexts = try file("texts.yaml", replacing: "请将身份证放在读卡区", with: "请将居民身份证放在读卡区")
        await feed.publish(try signers.bundle(version: 1, files: ["texts.yaml": newTexts]), target: "fleet", version: 1)
        do { try await waitFor("bundle 1 committed") { await feed.reports.last?.result == .committed } } catch {
            Issue.record("\(await feed.reports) \(harness.log.text.split(separator: "\n").filter { $0.contains("onfig") || $0.contains("root") })")
            throw error
        }
        #expect(try await idlePrompt(harness) == "请将居民身份证放在读卡区")
        while let event = await events.next() { if event == .configurationChanged { break } }
        let applied = await harness.daemon.configuration()
        #expect(applied.layers == ["fleet": 1])

        // Each of these is rejected and nothing running changes.
        let other = Curve25519.Signing.PrivateKey()
        let v2 = try file("texts.yaml", replacing: "请将身份证放在读卡区", with: "篡改")
        var tampered = try JSONDecoder().decode(SignedEnvelope.self, from: try signers.bundle(version: 2, files: ["texts.yaml": newTexts]))
        tampered.payload = (try JSONDecoder().decode(SignedEnvelope.self, from: try signers.bundle(version: 2, files: ["texts.yaml": v2]))).payload
        let badKiosk = try file("kiosk.yaml", replacing: "id: demo-kiosk-01", with: "id: Demo Kiosk!")
        let cases: [(String, Data, String)] = [
            ("bad signature", try JSONEncoder().encode(tampered), "does not verify"),
            ("unknown key", try signers.bundle(version: 2, files: ["texts.yaml": v2], signer: other), "not a trusted publisher key"),
            ("older version", try signers.bundle(version: 1, files: ["texts.yaml": v2]), "not newer"),
            ("expired", try signers.bundle(version: 2, files: ["texts.yaml": v2], expires: "2020-01-01T00:00:00Z"), "expired"),
            ("schema-invalid", try signers.bundle(version: 2, files: ["kiosk.yaml": badKiosk]), "kiosk.yaml"),
            ("another kiosk", try signers.bundle(version: 2, target: BundleTarget(scope: .kiosk, id: "other-kiosk"), files: ["texts.yaml": v2]),
             "meant for kiosk:other-kiosk"),
        ]
        for (name, data, reason) in cases {
            let (code, body) = try await harness.technician(.post, "/v1/config/bundles", body: String(decoding: data, as: UTF8.self))
            #expect(code == 422, "\(name): \(body)")
            #expect(body.contains("rejected") && body.contains(reason), "\(name): \(body)")
            #expect(try await idlePrompt(harness) == "请将居民身份证放在读卡区", "\(name) changed the running configuration")
        }
        await feed.publish(try signers.bundle(version: 2, files: ["texts.yaml": v2]), target: "fleet", version: 2, truncated: true)
        try await waitFor("truncated download rejected") { await feed.reports.last?.reason?.contains("truncated") == true }
        #expect(try await idlePrompt(harness) == "请将居民身份证放在读卡区")
        #expect(await harness.daemon.configuration().layers == ["fleet": 1])

        // A bundle whose health check fails is rolled back by itself.
        let badPrinter = try file("kiosk.yaml", replacing: "queue: a4", with: "queue: no-such-queue")
        await feed.publish(try signers.bundle(version: 3, files: ["kiosk.yaml": badPrinter]), target: "fleet", version: 3)
        try await waitFor("bundle 3 rolled back", seconds: 20) { await feed.reports.last?.result == .rolledBack }
        #expect(await feed.reports.last?.reason?.contains("no-such-queue") == true)
        #expect(await harness.daemon.configuration().layers == ["fleet": 1])
        #expect(harness.daemon.configuration.settings.printers["a4"]?.queue == "a4")
        let history = await harness.daemon.configuration().history.map(\.result)
        #expect(history.filter { $0 == "rejected" }.count == 7)
        #expect(history.last == "rolledBack")

        // A technician can go back to the embedded default.
        let (code, body) = try await harness.technician(.post, "/v1/config/rollback", body: #"{"reason":"test"}"#)
        #expect(code == 200, "\(body)")
        #expect(try await idlePrompt(harness) == "请将身份证放在读卡区")
        await harness.stop()
    }

    @Test func aBundleArrivingMidSessionWaitsForTheSessionToEnd() async throws {
        let (cups, feed, harness) = try await kioskOnAFeed()
        defer { cups.stop() }
        try await harness.placeCard()
        let newTexts = try file("texts.yaml", replacing: "请将身份证放在读卡区", with: "请将居民身份证放在读卡区")
        await feed.publish(try signers.bundle(version: 1, files: ["texts.yaml": newTexts]), target: "fleet", version: 1)
        try await waitFor("the bundle staged and held") { harness.log.text.contains("configuration staged; waiting until no citizen is being served") }
        #expect(await feed.reports.isEmpty)
        #expect(try await idlePrompt(harness) == "请将身份证放在读卡区")
        try await harness.removeCard()
        try await waitFor("bundle committed after the session") { await feed.reports.last?.result == .committed }
        #expect(try await idlePrompt(harness) == "请将居民身份证放在读卡区")
        await harness.stop()
    }

    /// A fleet publish told to many kiosks at once carries a spread: this kiosk downloads at its
    /// own point in it, not at once, and applies the bundle then.
    @Test func aSpreadBundleIsDownloadedAtTheKiosksOwnTurn() async throws {
        let (cups, feed, harness) = try await kioskOnAFeed()
        defer { cups.stop() }
        let kioskId = harness.daemon.configuration.settings.kiosk.id
        let envelope = try signers.bundle(version: 1, files: ["texts.yaml": try file("texts.yaml", replacing: "请将身份证放在读卡区", with: "请将居民身份证放在读卡区")])
        // A spread that puts this kiosk's turn a noticeable while after the publish.
        let spread = try #require((2...20).first { seconds in
            let delay = TestFeed.announcement(envelope, target: "fleet", version: 1, spreadSeconds: seconds).downloadDelay(kioskId: kioskId)
            return delay >= .milliseconds(800) && delay <= .seconds(4)
        })
        let published = ContinuousClock.now
        let announcement = await feed.publish(envelope, target: "fleet", version: 1, spreadSeconds: spread)
        let turn = announcement.downloadDelay(kioskId: kioskId)
        try await waitFor("the bundle committed at the kiosk's turn", seconds: 20) { await feed.reports.last?.result == .committed }
        let downloaded = try #require(await feed.downloadedAt[announcement.id])
        #expect(downloaded - published >= turn, "downloaded \(downloaded - published) after the publish; the kiosk's turn is \(turn)")
        #expect(harness.log.text.contains("bundle download waits its turn"))
        #expect(try await idlePrompt(harness) == "请将居民身份证放在读卡区")
        await harness.stop()
    }

    /// A new root arrives in a fleet bundle: accepted only with the old root's threshold and its
    /// own; from then on the publisher it revoked signs nothing this kiosk accepts.
    @Test func aRootRotationInABundleRevokesTheOldPublisher() async throws {
        let (cups, feed, harness) = try await kioskOnAFeed()
        defer { cups.stop() }
        let newRootKeys = [Curve25519.Signing.PrivateKey(), Curve25519.Signing.PrivateKey()]
        let newPublisher = Curve25519.Signing.PrivateKey()
        let next = BundleSigning.rootMetadata(version: 2, expires: "2099-01-01T00:00:00Z", rootKeys: newRootKeys.map(\.publicKey),
                                              rootThreshold: 2, publisherKeys: [newPublisher.publicKey], publisherThreshold: 1)
        let texts = { (word: String) in try self.file("texts.yaml", replacing: "请将身份证放在读卡区", with: word) }

        // Signed by the new keys alone: refused, and the root stays as it was.
        let unauthorised = try signers.signedRoot(next, by: newRootKeys)
        await feed.publish(try signers.bundle(version: 1, files: ["texts.yaml": try texts("甲"), "keys/root.json": unauthorised]),
                           target: "fleet", version: 1)
        try await waitFor("the unauthorised root refused") { await feed.reports.last?.result == .rejected }
        let refusal = await feed.reports.last
        #expect(refusal?.reason?.contains("root") == true, "\(String(describing: refusal))")
        #expect(try await harness.daemon.configStore.trustedRoot()?.version == 1)

        // Signed by both thresholds: the bundle commits and the root rotates.
        let rotation = try signers.signedRoot(next, by: signers.rootKeys + newRootKeys)
        await feed.publish(try signers.bundle(version: 2, files: ["texts.yaml": try texts("乙"), "keys/root.json": rotation]),
                           target: "fleet", version: 2)
        do {
            try await waitFor("the rotation committed") {
                let last = await feed.reports.last
                return last?.result == .committed && last?.version == 2
            }
        } catch {
            Issue.record("\(await feed.reports)")
            throw error
        }
        #expect(try await harness.daemon.configStore.trustedRoot()?.version == 2)

        // The old publisher is revoked fleet-wide; the new one signs.
        await feed.publish(try signers.bundle(version: 3, files: ["texts.yaml": try texts("丙")]), target: "fleet", version: 3)
        try await waitFor("the revoked publisher refused") { await feed.reports.last?.version == 3 }
        #expect(await feed.reports.last?.result == .rejected)
        await feed.publish(try signers.bundle(version: 4, files: ["texts.yaml": try texts("丁")], signer: newPublisher), target: "fleet", version: 4)
        try await waitFor("the new publisher accepted") { await feed.reports.last?.version == 4 }
        #expect(await feed.reports.last?.result == .committed)
        #expect(try await idlePrompt(harness) == "丁")
        await harness.stop()
    }
}
