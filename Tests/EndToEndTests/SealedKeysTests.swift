import Foundation
import GRDB
import Registry
import TestSupport
import Testing

/// The keys that protect kioskd's state, sealed as systemd credentials by `yitiji-seal-keys`
/// (the real `systemd-creds`, with the machine's credential key): the plain copies are gone, a
/// copy of the disk opens nothing, and kioskd opens its sealed outbox and audit log from
/// `$CREDENTIALS_DIRECTORY` as systemd hands it over.
@Suite(.serialized, .enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-creds")))
struct SealedKeysTests {
    let script = BuiltProducts.repositoryPath("scripts/seal-keys.sh")

    @Test func sealedKeysOpenTheStateOnlyThroughTheServiceManager() throws {
        let dir = try TemporaryDirectory(prefix: "sealed")
        defer { dir.remove() }
        let credentials = try KioskCredentials.generate(kioskId: "demo-kiosk-01")
        let registry = try RegistrydProcess(database: dir.path + "/registry.sqlite", kiosks: [(credentials.kioskId, credentials.publicKeyBase64)],
                                            start: false)
        defer { registry.stop() }
        try credentials.write(to: dir.path + "/kiosk.key")
        let keyFile = try Data(contentsOf: URL(fileURLWithPath: dir.path + "/kiosk.key"))
        let url = registry.baseURL
        var bed = try KioskdTestBed(adjust: { $0.replacingOccurrences(of: "http://127.0.0.1:8480", with: url) }, stateFiles: ["kiosk.key": keyFile])
        defer { bed.stop(); bed.remove() }
        // The registry is down: the first heartbeat waits in the outbox, sealed with outbox.key.
        #expect(eventually(20) { bed.curl(bed.technicianSocket, "GET", "/v1/diagnostics/outbox").1.contains(#""depth":1"#) },
                "\(bed.curl(bed.technicianSocket, "GET", "/v1/diagnostics/outbox").1)")
        bed.stop()
        let keys = bed.stateDirectory + "-keys"
        let plain = try ["outbox.key", "audit.secret"].map { try Data(contentsOf: URL(fileURLWithPath: keys + "/" + $0)) }

        let store = dir.path + "/credstore", dropin = dir.path + "/kioskd.service.d"
        let environment = ProcessInfo.processInfo.environment.merging(["KEYS_DIR": keys, "CREDSTORE": store, "DROPIN_DIR": dropin,
                                                                       "WITH_KEY": "host"]) { $1 }
        var sealed = try ProcessRunner.run("/bin/bash", [script], environment: environment, timeout: 60)
        #expect(sealed.status == 0, "\(sealed.stderr)")
        let fm = FileManager.default
        #expect(!fm.fileExists(atPath: keys + "/outbox.key") && !fm.fileExists(atPath: keys + "/audit.secret"), "the plain keys are gone")
        for (name, key) in zip(["outbox.key", "audit.secret"], plain) {
            let cred = try Data(contentsOf: URL(fileURLWithPath: store + "/yitiji-" + name))
            #expect(cred.range(of: key) == nil && cred.range(of: Data(key.base64EncodedString().utf8)) == nil, "\(name) is not in clear")
        }
        let unit = try String(contentsOfFile: dropin + "/50-credentials.conf", encoding: .utf8)
        #expect(unit.contains("LoadCredentialEncrypted=outbox.key:\(store)/yitiji-outbox.key"), "\(unit)")
        #expect(unit.contains("LoadCredentialEncrypted=audit.secret:\(store)/yitiji-audit.secret"))
        // Sealing again changes nothing and still succeeds.
        sealed = try ProcessRunner.run("/bin/bash", [script], environment: environment, timeout: 60)
        #expect(sealed.status == 0, "\(sealed.stderr)")

        // A copy of the disk (state and keys directory) without the service manager: kioskd
        // refuses, naming the missing key, rather than making a new one.
        #expect(throws: (any Error).self) { _ = try bed.restart() }
        let refused = (try? String(contentsOfFile: bed.directory.path + "/kioskd.log", encoding: .utf8)) ?? ""
        #expect(refused.contains("is missing"), "\(refused.suffix(600))")

        // What systemd does at start: decrypt into the service's credentials directory.
        let handed = dir.path + "/credentials"
        try fm.createDirectory(atPath: handed, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for name in ["outbox.key", "audit.secret"] {
            let out = try ProcessRunner.run("/usr/bin/systemd-creds", ["decrypt", "--name=\(name)", store + "/yitiji-" + name, handed + "/" + name], timeout: 30)
            #expect(out.status == 0, "\(out.stderr)")
            chmod(handed + "/" + name, 0o400)
        }
        try registry.start()
        bed = try bed.restart(environment: ["CREDENTIALS_DIRECTORY": handed])
        #expect(eventually(30) { bed.curl(bed.technicianSocket, "GET", "/v1/diagnostics/outbox").1.contains(#""depth":0"#) },
                "the sealed heartbeat was opened and delivered: \(bed.curl(bed.technicianSocket, "GET", "/v1/diagnostics/outbox").1)")
        let database = try DatabaseQueue(path: registry.database)
        #expect(try database.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM kiosk_status") ?? 0 } == 1)
        #expect(!fm.fileExists(atPath: keys + "/outbox.key"), "kioskd made no new plain key")

        let diag = try ProcessRunner.run(BuiltProducts.path("kioskctl"), ["diag", "keys", "--json", "--config", bed.configDirectory,
                                                                           "--state-dir", bed.stateDirectory, "--socket", bed.technicianSocket,
                                                                           "--credential-store", store],
                                         environment: ["CUPS_SERVER": "127.0.0.1:1"], timeout: 60)
        #expect(diag.stdout.contains("sealed as systemd credentials"), "\(diag.stdout)")
    }
}
