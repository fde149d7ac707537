import Crypto
import Foundation
import IDCardReader
import KioskConfig
import PersonVerification

/// The inputs from outside, as fuzzers drive them: every function takes arbitrary bytes and must
/// return (with or without an error) without trapping, hanging or growing without bound. The
/// libFuzzer executables in `Fuzz/` call these; the test suite replays the committed corpus and
/// a few thousand mutations through them. registryd's own targets are in `RegistryFuzzTargets`.
public enum FuzzTargets {
    /// The targets by name, as `scripts/fuzz.sh` and the corpus folders call them.
    public static let all: [String: @Sendable ([UInt8]) -> Void] = [
        "sam-frame": samFrame,
        "card-text": cardText,
        "config-yaml": configurationYAML,
        "bundle": bundle,
        "verifier-answer": verifierAnswer,
    ]

    /// The request id the verifier-answer corpus answers.
    public static let verifierRequestId = "3f1c2b9e-0000-4000-8000-000000000001"

    /// A face verifier's answer line, as a verify answer and as a probe answer.
    @Sendable public static func verifierAnswer(_ bytes: [UInt8]) {
        _ = try? VerifierProtocol.decodeVerify(bytes, id: verifierRequestId)
        _ = try? VerifierProtocol.decodeProbe(bytes, id: verifierRequestId)
    }

    /// Reader bytes: the streaming frame decoder fed whole and byte by byte, each frame's body as
    /// a response, and a read response's card data.
    @Sendable public static func samFrame(_ bytes: [UInt8]) {
        var whole = SAMFrameDecoder()
        whole.append(bytes)
        drain(&whole)
        var trickled = SAMFrameDecoder()
        for byte in bytes.prefix(4096) {
            trickled.append([byte])
            drain(&trickled)
        }
    }

    private static func drain(_ decoder: inout SAMFrameDecoder) {
        for _ in 0..<64 {
            do {
                guard let body = try decoder.nextBody() else { return }
                let response = try SAMResponse(body: body)
                if response.status == .success { _ = try? CardText.decodeRead(data: response.data) }
            } catch {}
        }
    }

    /// Card data blocks: the text block and a whole read response's layout.
    @Sendable public static func cardText(_ bytes: [UInt8]) {
        _ = try? CardText.decode(bytes)
        _ = try? CardText.decodeRead(data: bytes)
        _ = CardText.decodeUCS2LE(bytes)
    }

    /// Configuration files: the first byte picks the file, the rest is its YAML.
    @Sendable public static func configurationYAML(_ bytes: [UInt8]) {
        guard let selector = bytes.first else { return }
        let names = ["kiosk.yaml", "services.yaml", "evaluation.yaml", "texts.yaml"]
        try? KioskConfiguration.check(fileNamed: names[Int(selector) % names.count], contents: Data(bytes.dropFirst()))
    }

    /// The demonstration fleet's root, for the bundle verifier (the committed corpus holds
    /// bundles signed under it).
    static let root: RootMetadata? = {
        func key(_ base64: String) -> Curve25519.Signing.PublicKey? {
            Data(base64Encoded: base64).flatMap { try? Curve25519.Signing.PublicKey(rawRepresentation: $0) }
        }
        guard let r1 = key("Vpt4cB7MPPBO03B2wcVT1Ex/73vhDk2checVwNT5O2M="), let r2 = key("eb3g67eSB1MVyQCUY5g2gneYyA81+tS6sseYNJQejBQ="),
              let publisher = key("4Lib6G9lDkjIC2xwMxRaE7fmHRlIBr+Bw7lhx+N0Pgc=") else { return nil }
        return BundleSigning.rootMetadata(version: 1, expires: "2099-01-01T00:00:00Z", rootKeys: [r1, r2], rootThreshold: 2,
                                          publisherKeys: [publisher], publisherThreshold: 1)
    }()

    /// A configuration bundle envelope, as downloaded: verified against a root, and its
    /// unverified manifest and files decoded as a hostile registry could send them.
    @Sendable public static func bundle(_ bytes: [UInt8]) {
        let data = Data(bytes)
        if let root {
            _ = try? BundleVerifier(root: root, kioskId: "demo-kiosk-01", site: "demo-hall")
                .verify(data, installedVersions: [:], now: Date(timeIntervalSince1970: 1_800_000_000))
            if let envelope = try? SignedEnvelope.decode(data) { _ = try? root.rotate(to: envelope, now: Date()) }
        }
        if let envelope = try? SignedEnvelope.decode(data), let body = Data(base64Encoded: envelope.payload),
           let manifest = try? JSONDecoder().decode(BundleManifest.self, from: body) {
            _ = try? manifest.checkedFiles()
        }
    }
}
