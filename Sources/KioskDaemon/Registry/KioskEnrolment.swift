import Foundation
import Printing
import KioskConfig
import Registry

/// A kiosk's key for signing registry requests: made once, registered with the registry by
/// central operations.
public enum KioskEnrolment {
    /// Makes the key named by `registry.keyFile` if missing (mode 0600) and answers the
    /// `registryd kiosk add` command line that registers it.
    public static func ensureKey(configDirectory: URL, stateDirectory: URL) throws -> String {
        let configuration: KioskConfiguration
        do { configuration = try KioskConfiguration.load(from: configDirectory) } catch { throw DaemonError.configuration("\(error)") }
        return try ensureKey(settings: configuration.settings, stateDirectory: stateDirectory)
    }

    /// As `ensureKey(configDirectory:stateDirectory:)`, for loaded settings.
    public static func ensureKey(settings: KioskSettings, stateDirectory: URL) throws -> String {
        let keyFile = settings.registry.keyFile.hasPrefix("/") ? settings.registry.keyFile
            : stateDirectory.appendingPathComponent(settings.registry.keyFile).path
        try? FileManager.default.createDirectory(at: URL(fileURLWithPath: keyFile).deletingLastPathComponent(),
                                                 withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        let credentials: KioskCredentials
        do {
            if FileManager.default.fileExists(atPath: keyFile) {
                credentials = try KioskCredentials.load(kioskId: settings.kiosk.id, keyFile: keyFile)
            } else {
                credentials = try KioskCredentials.generate(kioskId: settings.kiosk.id)
                try credentials.write(to: keyFile)
            }
        } catch { throw DaemonError.key("\(keyFile): \(error)") }
        return "registryd kiosk add \(settings.kiosk.id) --public-key \(credentials.publicKeyBase64) --site \(settings.kiosk.site)"
    }

    /// Makes the kiosk's document signing key at `<state>/document-signing.key` if missing (mode
    /// 0600, outside the configuration) and answers its public half. kioskd registers it at the
    /// registry itself (`PUT /v1/document-keys`), where verifiers find it.
    public static func ensureDocumentKey(stateDirectory: URL) throws -> String {
        let path = stateDirectory.appendingPathComponent("document-signing.key").path
        try? FileManager.default.createDirectory(at: stateDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        do {
            if FileManager.default.fileExists(atPath: path) { return try DocumentSigningKey.load(path: path).publicKeyBase64 }
            let key = DocumentSigningKey.generate()
            try key.write(to: path)
            return key.publicKeyBase64
        } catch { throw DaemonError.key("\(path): \(error)") }
    }
}
