import Foundation
import KioskConfig
import Printing

/// The kiosk's document-signing key, and the refusal to run with the demo keys.
extension Kioskd {
    /// The document-signing key: the state directory's, else the system's.
    static func documentSigningKey(state: URL) throws -> (key: DocumentSigningKey, path: String) {
        let candidates = [state.appendingPathComponent("document-signing.key").path,
                          "/etc/yitiji/document-signing.key"]
        for path in candidates where FileManager.default.fileExists(atPath: path) {
            do { return (try DocumentSigningKey.load(path: path), path) } catch { throw DaemonError.key("\(path): \(error)") }
        }
        throw DaemonError.key("no document signing key at \(candidates[0]): run `kioskd --enrol` to make the kiosk's keys")
    }

    /// Throws `DaemonError.demoKeys` when a published demo key is in use: in the base
    /// configuration, in the applied one (`configuration`), or as the document-signing key.
    static func refuseDemoKeys(options: DaemonOptions, configuration directory: URL,
                               signingKey: (key: DocumentSigningKey, path: String)) throws {
        var findings = DemoKeys.findings(configDirectory: options.configDirectory, stateDirectory: options.stateDirectory,
                                         documentSigningKeyPublic: signingKey.key.publicKeyBase64, documentSigningKeyPath: signingKey.path)
        if directory.standardizedFileURL != options.configDirectory.standardizedFileURL {
            findings += DemoKeys.findings(configDirectory: directory, stateDirectory: options.stateDirectory, documentSigningKeyPublic: nil)
                .filter { !findings.contains($0) }
        }
        if !findings.isEmpty { throw DaemonError.demoKeys(findings) }
    }
}
