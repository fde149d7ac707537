import Crypto
import Foundation
import Testing
import TestSupport
@testable import KioskConfig

@Suite struct BundleTests {
    let signers = Signers()
    static let embedded = URL(fileURLWithPath: BuiltProducts.repositoryPath("kiosk-config"))

    func texts(replacing old: String, with new: String) throws -> Data {
        let text = try String(contentsOf: Self.embedded.appendingPathComponent("texts.yaml"), encoding: .utf8)
        return Data(text.replacingOccurrences(of: old, with: new).utf8)
    }

    func verifier() -> BundleVerifier {
        BundleVerifier(root: signers.rootMetadata(), kioskId: "demo-kiosk-01", site: "demo-hall")
    }

    @Test func validBundleVerifies() throws {
        let data = try signers.bundle(version: 1, files: ["texts.yaml": try texts(replacing: "感谢使用，再见", with: "再会")])
        let bundle = try verifier().verify(data, installedVersions: [:], now: Date())
        #expect(bundle.manifest.version == 1)
        #expect(bundle.files["texts.yaml"] != nil)
    }

    @Test func rejections() throws {
        let files = ["texts.yaml": try texts(replacing: "a", with: "a")]
        let good = try signers.bundle(version: 2, files: files)

        // Altered after signing.
        var envelope = try JSONDecoder().decode(SignedEnvelope.self, from: good)
        var manifest = try JSONDecoder().decode(BundleManifest.self, from: Data(base64Encoded: envelope.payload)!)
        manifest.version = 99
        envelope.payload = try JSONEncoder().encode(manifest).base64EncodedString()
        #expect(throws: BundleError.badSignature(keyid: KeyID.of(signers.publisher.publicKey))) {
            try verifier().verify(try JSONEncoder().encode(envelope), installedVersions: [:], now: Date())
        }
        // Unknown key.
        let stranger = Curve25519.Signing.PrivateKey()
        #expect(throws: BundleError.unknownKey(keyid: KeyID.of(stranger.publicKey), role: "publisher")) {
            try verifier().verify(try signers.bundle(version: 2, files: files, signer: stranger), installedVersions: [:], now: Date())
        }
        // A root key is not a publisher key.
        #expect(throws: BundleError.self) {
            try verifier().verify(try signers.bundle(version: 2, files: files, signer: signers.rootKeys[0]), installedVersions: [:], now: Date())
        }
        // Older or same version.
        #expect(throws: BundleError.rollback(version: 2, current: 2, layer: "fleet")) {
            try verifier().verify(good, installedVersions: [BundleTarget(scope: .fleet): 2], now: Date())
        }
        // Expired.
        #expect(throws: BundleError.expired(expires: "2020-01-01T00:00:00Z")) {
            try verifier().verify(try signers.bundle(version: 3, files: files, expires: "2020-01-01T00:00:00Z"), installedVersions: [:], now: Date())
        }
        // Meant for another kiosk.
        #expect(throws: BundleError.wrongTarget(target: "kiosk:other-kiosk", kiosk: "demo-kiosk-01", site: "demo-hall")) {
            try verifier().verify(try signers.bundle(version: 3, target: .init(scope: .kiosk, id: "other-kiosk"), files: files), installedVersions: [:], now: Date())
        }
        // Truncated download.
        #expect(throws: BundleError.self) {
            try verifier().verify(good.prefix(good.count / 2), installedVersions: [:], now: Date())
        }
        // A private key or a path outside the configuration.
        for path in ["keys/signing.key", "../etc/passwd", "/etc/passwd", "kioskd"] {
            #expect(throws: BundleError.self) {
                try verifier().verify(try signers.bundle(version: 3, files: [path: Data("x".utf8)]), installedVersions: [:], now: Date())
            }
        }
    }

    @Test func rootRotationNeedsOldAndNewThresholds() async throws {
        let (dir, store) = try makeStore()
        defer { dir.remove() }
        try await store.installRoot(try signers.signedRoot(signers.rootMetadata(), by: signers.rootKeys))

        let newKeys = [Curve25519.Signing.PrivateKey(), Curve25519.Signing.PrivateKey()]
        let next = signers.rootMetadata(version: 2, rootKeys: newKeys)
        // Signed only by the new keys: refused.
        let onlyNew = try signers.signedRoot(next, by: newKeys)
        await #expect(throws: BundleError.self) { try await store.installRoot(onlyNew) }
        // Signed by old and new thresholds: accepted.
        let accepted = try await store.installRoot(try signers.signedRoot(next, by: signers.rootKeys + newKeys))
        #expect(accepted.version == 2)
        #expect(try await store.trustedRoot()?.version == 2)
        // Skipping a version: refused.
        let skip = try signers.signedRoot(signers.rootMetadata(version: 4, rootKeys: newKeys), by: newKeys)
        await #expect(throws: BundleError.self) { try await store.installRoot(skip) }
    }

    @Test func applyCommitsAndRollsBackOnFailedHealthCheck() async throws {
        let (dir, store) = try makeStore()
        defer { dir.remove() }
        let root = signers.rootMetadata()
        let v = BundleVerifier(root: root, kioskId: "demo-kiosk-01", site: "demo-hall")

        // v1: committed.
        let b1 = try v.verify(try signers.bundle(version: 1, files: ["texts.yaml": try texts(replacing: "感谢使用，再见", with: "再会")]),
                              installedVersions: await store.installedVersions(), now: Date())
        let s1 = try await store.stage(b1)
        let e1 = await store.activate(s1.generation, target: b1.manifest.target, version: 1) { _ in nil }
        #expect(e1.result == .committed)
        let current = try KioskConfiguration.load(from: await store.currentDirectory())
        #expect(current.texts.text("session.goodbye", language: "zh") == "再会")
        #expect(await store.installedVersions() == [BundleTarget(scope: .fleet): 1])

        // A site layer over the fleet's.
        let site = try v.verify(try signers.bundle(version: 1, target: .init(scope: .site, id: "demo-hall"),
                                                   files: ["texts.yaml": try texts(replacing: "请选择服务项目", with: "请选")]),
                                installedVersions: await store.installedVersions(), now: Date())
        let s2 = try await store.stage(site)
        #expect(await store.activate(s2.generation, target: site.manifest.target, version: 1) { _ in nil }.result == .committed)
        #expect(await store.installedVersions().count == 2)

        // v2 of the fleet fails its health check: the site+fleet v1 generation stays in use.
        let b2 = try v.verify(try signers.bundle(version: 2, files: ["texts.yaml": try texts(replacing: "感谢使用，再见", with: "再见了")]),
                              installedVersions: await store.installedVersions(), now: Date())
        let s3 = try await store.stage(b2)
        let e3 = await store.activate(s3.generation, target: b2.manifest.target, version: 2) { _ in "printer a4 unreachable" }
        #expect(e3.result == .rolledBack)
        #expect(e3.reason?.contains("printer a4 unreachable") == true)
        #expect(await store.currentGeneration()?.generation == s2.generation.generation)
        #expect(await store.wasRolledBack(target: .init(scope: .fleet), version: 2))

        // A schema-invalid bundle is refused at staging; nothing changes.
        let bad = try v.verify(try signers.bundle(version: 3, files: ["kiosk.yaml": Data("kiosk: {id: X}\n".utf8)]),
                               installedVersions: await store.installedVersions(), now: Date())
        await #expect(throws: BundleError.self) { try await store.stage(bad) }
        #expect(await store.currentGeneration()?.generation == s2.generation.generation)

        // Manual rollback returns to the fleet-only generation.
        try await store.rollback(reason: "technician request")
        #expect(await store.currentGeneration()?.generation == s1.generation.generation)
        #expect(await store.history().map(\.result) == [.committed, .committed, .rolledBack, .manualRollback])
    }

    /// Rolled back from version 7 to 2 and then to the embedded default, the kiosk still refuses
    /// a newly signed bundle that reuses version 7 (or any lower), also after a restart.
    @Test func theHighestTrustedVersionSurvivesRollbacks() async throws {
        let (dir, store) = try makeStore()
        defer { dir.remove() }
        let v = verifier()
        for version in [2, 7] {
            let bundle = try v.verify(try signers.bundle(version: version, files: ["texts.yaml": try texts(replacing: "感谢使用，再见", with: "再会\(version)")]),
                                      installedVersions: await store.installedVersions(), now: Date())
            let staged = try await store.stage(bundle)
            #expect(await store.activate(staged.generation, target: bundle.manifest.target, version: version) { _ in nil }.result == .committed)
        }
        try await store.rollback(reason: "back to 2")
        #expect(await store.currentGeneration()?.layers["fleet"] == 2)
        try await store.rollback(reason: "back to the embedded default")
        #expect(await store.currentGeneration() == nil)
        let reopened = try ConfigStore(stateDirectory: dir.url, baseDirectory: Self.embedded)
        #expect(await reopened.installedVersions() == [BundleTarget(scope: .fleet): 7])
        let installed = await reopened.installedVersions()
        for version in [7, 5] {
            let reused = try signers.bundle(version: version, files: ["texts.yaml": try texts(replacing: "感谢使用，再见", with: "旧版")])
            #expect(throws: BundleError.rollback(version: version, current: 7, layer: "fleet")) {
                try v.verify(reused, installedVersions: installed, now: Date())
            }
        }
        let next = try v.verify(try signers.bundle(version: 8, files: ["texts.yaml": try texts(replacing: "感谢使用，再见", with: "新版")]),
                                installedVersions: await reopened.installedVersions(), now: Date())
        #expect(next.manifest.version == 8)
        // Everything it relies on is on disk: the trust record, the generations, the link.
        #expect(FileManager.default.fileExists(atPath: dir.path + "/config/trust/versions.json"))
    }

    func makeStore() throws -> (dir: TemporaryDirectory, store: ConfigStore) {
        let dir = try TemporaryDirectory(prefix: "store")
        return (dir, try ConfigStore(stateDirectory: dir.url, baseDirectory: Self.embedded))
    }
}

