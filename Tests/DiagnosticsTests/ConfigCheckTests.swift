import Crypto
import Diagnostics
import Foundation
import KioskConfig
import TestSupport
import Testing

/// The config row over a real configuration store: version, signatures, last apply result.
@Suite struct ConfigCheckTests {
    let rootKeys = [Curve25519.Signing.PrivateKey(), Curve25519.Signing.PrivateKey()]
    let publisher = Curve25519.Signing.PrivateKey()
    static let embedded = URL(fileURLWithPath: BuiltProducts.repositoryPath("kiosk-config"))

    func root() -> RootMetadata {
        var keys: [String: RootMetadata.Key] = [:]
        for key in rootKeys + [publisher] {
            keys[KeyID.of(key.publicKey)] = .init(publicKey: key.publicKey.rawRepresentation.base64EncodedString())
        }
        return RootMetadata(version: 1, expires: "2099-01-01T00:00:00Z", keys: keys, roles: [
            "root": .init(keyids: rootKeys.map { KeyID.of($0.publicKey) }, threshold: 2),
            "publisher": .init(keyids: [KeyID.of(publisher.publicKey)], threshold: 1),
        ])
    }

    func bundle(version: Int, goodbye: String) throws -> Data {
        let texts = try String(contentsOf: Self.embedded.appendingPathComponent("texts.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "感谢使用，再见", with: goodbye)
        let manifest = BundleManifest(version: version, expires: "2099-01-01T00:00:00Z", target: .init(scope: .fleet),
                                      files: ["texts.yaml": Data(texts.utf8)])
        var envelope = SignedEnvelope(payloadType: SignedEnvelope.configType, payload: try JSONEncoder().encode(manifest))
        try envelope.sign(with: publisher)
        return try JSONEncoder().encode(envelope)
    }

    func run(_ state: TemporaryDirectory, store: ConfigStore) async -> CheckResult {
        var environment = embeddedEnvironment(state)
        environment.configDirectory = await store.currentDirectory()
        return await ConfigCheck().run(context(environment))
    }

    @Test func versionSignatureAndLastApply() async throws {
        let state = try TemporaryDirectory(prefix: "diag")
        defer { state.remove() }
        let store = try ConfigStore(stateDirectory: state.url, baseDirectory: Self.embedded)
        var rootEnvelope = SignedEnvelope(payloadType: SignedEnvelope.rootType, payload: try JSONEncoder().encode(root()))
        for key in rootKeys { try rootEnvelope.sign(with: key) }
        try await store.installRoot(try JSONEncoder().encode(rootEnvelope))
        let verifier = BundleVerifier(root: root(), kioskId: "demo-kiosk-01", site: "demo-hall")

        let v1 = try verifier.verify(try bundle(version: 1, goodbye: "再会"), installedVersions: [:], now: Date())
        let staged = try await store.stage(v1)
        _ = await store.activate(staged.generation, target: v1.manifest.target, version: 1) { _ in nil }
        var result = await run(state, store: store)
        #expect(result.status == .ok && result.detail.contains("generation 1 (fleet v1)")
                && result.detail.contains("signatures verify") && result.detail.contains("last apply: committed v1"), "\(result)")

        let v2 = try verifier.verify(try bundle(version: 2, goodbye: "再见了"), installedVersions: await store.installedVersions(), now: Date())
        let staged2 = try await store.stage(v2)
        _ = await store.activate(staged2.generation, target: v2.manifest.target, version: 2) { _ in "printer a4 unreachable" }
        result = await run(state, store: store)
        #expect(result.status == .warn && result.detail.contains("rolledBack v2") && result.action.contains("printer a4 unreachable"), "\(result)")

        // A layer whose signature no longer verifies.
        let layer = state.url.appendingPathComponent("config/generations/1/layers/fleet.json")
        var envelope = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: layer)) as? [String: Any])
        let signatures = try #require(envelope["signatures"] as? [[String: Any]])
        envelope["signatures"] = signatures.map { signature -> [String: Any] in
            var forged = signature
            forged["sig"] = Data(repeating: 1, count: 64).base64EncodedString()
            return forged
        }
        try JSONSerialization.data(withJSONObject: envelope).write(to: layer)
        result = await run(state, store: store)
        #expect(result.status == .fail && result.detail.contains("signature"), "\(result)")
    }
}
