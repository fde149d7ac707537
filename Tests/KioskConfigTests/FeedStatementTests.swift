import Crypto
import Foundation
import Testing
import TestSupport
@testable import KioskConfig

/// Freeze attacks on the configuration feed: each refused statement is one an attacker between
/// the kiosk and the registry (or a compromised mirror) could send.
@Suite struct FeedStatementTests {
    let signers = Signers()
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let bundle = FeedStatement.entry(target: "fleet", version: 3, sha256: String(repeating: "ab", count: 32))

    func verify(_ data: Data, kioskId: String = "demo-kiosk-01", announced: [String]? = nil, newest: Date? = nil,
                root: RootMetadata? = nil) throws -> Date {
        try FeedStatement.verify(data, root: root ?? signers.rootMetadata(), kioskId: kioskId, announced: announced ?? [bundle],
                                 now: now, newestIssued: newest).issued
    }

    func refusal(_ data: Data, kioskId: String = "demo-kiosk-01", announced: [String]? = nil, newest: Date? = nil,
                 root: RootMetadata? = nil) -> String {
        do {
            _ = try verify(data, kioskId: kioskId, announced: announced, newest: newest, root: root)
            return "accepted"
        } catch { return "\(error)" }
    }

    @Test func aFreshStatementOverTheAnnouncedBundlesIsAccepted() throws {
        let issued = now.addingTimeInterval(-5)
        let accepted = try verify(try signers.statement(bundles: [bundle], issued: issued))
        #expect(abs(accepted.timeIntervalSince(issued)) < 1)
    }

    @Test func freezeReplayAndMixAndMatchAreRefused() throws {
        let fresh = try signers.statement(bundles: [bundle], issued: now.addingTimeInterval(-5))
        // A replayed old answer: its statement has expired.
        let expired = try signers.statement(bundles: [bundle], issued: now.addingTimeInterval(-2 * 86_400))
        #expect(refusal(expired).contains("expired"))
        // A replayed answer still inside its validity, but older than one already accepted.
        let older = try signers.statement(bundles: [bundle], issued: now.addingTimeInterval(-600))
        #expect(refusal(older, newest: now.addingTimeInterval(-60)).contains("older than one already accepted"))
        // An answer that hides a newer bundle behind a fresh statement (mix and match).
        let hidden = FeedStatement.entry(target: "fleet", version: 4, sha256: String(repeating: "cd", count: 32))
        #expect(refusal(fresh, announced: [hidden]).contains("other bundles"))
        #expect(refusal(fresh, announced: []).contains("other bundles"))
        // Another kiosk's statement.
        #expect(refusal(fresh, kioskId: "demo-kiosk-02").contains("not for demo-kiosk-02"))
        // Signed by the publisher (an offline key, not the timestamp role) or by a stranger.
        #expect(refusal(try signers.statement(bundles: [bundle], signer: signers.publisher)).contains("not a trusted timestamp key"))
        #expect(refusal(try signers.statement(bundles: [bundle], signer: Curve25519.Signing.PrivateKey())).contains("not a trusted timestamp key"))
        // Issued in the future.
        #expect(refusal(try signers.statement(bundles: [bundle], issued: now.addingTimeInterval(3600))).contains("in the future"))
    }

    @Test func alteredAndMalformedStatementsAreRefused() throws {
        let fresh = try signers.statement(bundles: [bundle], issued: now.addingTimeInterval(-5))
        var envelope = try JSONDecoder().decode(SignedEnvelope.self, from: fresh)
        var statement = try JSONDecoder().decode(FeedStatement.self, from: Data(base64Encoded: envelope.payload) ?? Data())
        statement.expires = "2099-01-01T00:00:00Z"
        envelope.payload = try JSONEncoder().encode(statement).base64EncodedString()
        #expect(refusal(try JSONEncoder().encode(envelope)).contains("does not verify"))
        // A bundle envelope passed off as a statement.
        let bundleEnvelope = try signers.bundle(version: 1, files: [:])
        #expect(refusal(bundleEnvelope).contains("payload type"))
        for junk in [Data(), Data("{".utf8), Data("null".utf8), Data(repeating: 0xff, count: 100), Data(repeating: 0x20, count: 70_000)] {
            #expect(refusal(junk) != "accepted")
        }
        // Well signed, but its times are not an interval.
        var broken = FeedStatement(kioskId: "demo-kiosk-01", issued: now, expires: now, bundles: [bundle])
        broken.expires = "tomorrow"
        #expect(refusal(try broken.signed(by: signers.timestamp)).contains("RFC 3339"))
    }

    @Test func aRootWithoutATimestampKeyChecksNothingAndSaysSo() throws {
        let root = signers.rootMetadata(withTimestamp: false)
        #expect(refusal(try signers.statement(bundles: [bundle]), root: root).contains("names no timestamp key"))
        #expect(FeedFreezeStatus.evaluate(root: root, rootTrustedSince: now, freshness: nil, window: 60, now: now) == .unprotected)
    }

    @Test func theFreezeWindowDecidesFrozen() {
        let root = signers.rootMetadata()
        let heard = FeedFreshness(issued: ConfigDates.format(now), heard: ConfigDates.format(now.addingTimeInterval(-120)))
        #expect(!FeedFreezeStatus.evaluate(root: root, rootTrustedSince: nil, freshness: heard, window: 300, now: now).isFrozen)
        #expect(FeedFreezeStatus.evaluate(root: root, rootTrustedSince: nil, freshness: heard, window: 60, now: now).isFrozen)
        // Never heard: frozen once the root has been trusted for longer than the window.
        #expect(!FeedFreezeStatus.evaluate(root: root, rootTrustedSince: now.addingTimeInterval(-30), freshness: nil, window: 60, now: now).isFrozen)
        #expect(FeedFreezeStatus.evaluate(root: root, rootTrustedSince: now.addingTimeInterval(-90), freshness: nil, window: 60, now: now).isFrozen)
        // A refusal alone does not count as hearing.
        #expect(FeedFreezeStatus.evaluate(root: root, rootTrustedSince: now.addingTimeInterval(-90), freshness: FeedFreshness(lastRefusal: "x"),
                                          window: 60, now: now).isFrozen)
    }
}
