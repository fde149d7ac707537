import Foundation

/// The demonstration fleet's public keys. Their private halves are published with the source
/// (`scripts/testbeds/`), so anyone can sign with them: a real kiosk must trust none of them.
public enum DemoKeys {
    /// Base64 raw Ed25519 public keys: the demo root keys, the demo publisher, the demo registry's
    /// timestamp key, the demo document key.
    public static let publicKeys: Set<String> = [
        "Vpt4cB7MPPBO03B2wcVT1Ex/73vhDk2checVwNT5O2M=",  // demo root 1
        "eb3g67eSB1MVyQCUY5g2gneYyA81+tS6sseYNJQejBQ=",  // demo root 2
        "4Lib6G9lDkjIC2xwMxRaE7fmHRlIBr+Bw7lhx+N0Pgc=",  // demo publisher
        "4+oT2TsGFeEakEJIREXzR4vhXMr9HLieqeP9tMH+ZJk=",  // demo timestamp key (the demo registry's)
        "EsJPihjH9JwkhUw+YlwMjZh98p9n2c/p//cg3LJsmeI=",  // demo document signing key
    ]

    /// Whether a base64 public key is one of the demo keys.
    public static func isDemo(_ publicKeyBase64: String) -> Bool {
        publicKeys.contains(publicKeyBase64.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Every place a kiosk would trust a demo key: a root (from the configuration's
    /// `keys/root.json` or the state's trusted `config/trust/root.json`) naming one, a `keys/*.pub`
    /// document key that is one, or a document signing key whose public half is one. Each entry
    /// names the file.
    public static func findings(configDirectory: URL, stateDirectory: URL, documentSigningKeyPublic: String?,
                                documentSigningKeyPath: String? = nil) -> [String] {
        var found: [String] = []
        let roots = [configDirectory.appendingPathComponent("keys/root.json"),
                     stateDirectory.appendingPathComponent("config/trust/root.json")]
        for url in roots {
            guard let data = try? Data(contentsOf: url), let envelope = try? SignedEnvelope.decode(data),
                  let root = try? RootMetadata.decodeUnverified(envelope) else { continue }
            if root.keys.values.contains(where: { isDemo($0.publicKey) }) {
                found.append("\(url.path) is the demonstration fleet's root, whose private keys are public: anyone could sign configuration for this kiosk")
            }
        }
        let keys = configDirectory.appendingPathComponent("keys")
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: keys.path)) ?? []).sorted() where name.hasSuffix(".pub") {
            let path = keys.appendingPathComponent(name).path
            if let text = try? String(contentsOfFile: path, encoding: .utf8), isDemo(text) {
                found.append("\(path) is the demonstration document key, whose private half is public: forged documents would verify as genuine")
            }
        }
        if let documentSigningKeyPublic, isDemo(documentSigningKeyPublic) {
            found.append("\(documentSigningKeyPath ?? "the document signing key") is the demonstration document key: anyone can mint verification codes with it")
        }
        return found
    }
}
