import Foundation
import KioskConfig
import TestSupport
import Testing

/// Nothing installed trusts a demonstration key, and a real kiosk has a tested way to its own keys.
@Suite(.serialized) struct DemoKeyTests {
    let kioskd = BuiltProducts.path("kioskd")

    /// The embedded configuration as is (the demonstration fleet's root and document key) and the
    /// demonstration signing key: kioskd refuses with EX_CONFIG and names each file, unless --demo.
    @Test func kioskdRefusesDemonstrationKeysWithoutDemo() throws {
        let dir = try TemporaryDirectory(prefix: "demo-keys")
        defer { dir.remove() }
        let state = dir.path + "/state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: BuiltProducts.repositoryPath("scripts/testbeds/demo-document-signing.key"),
                                         toPath: state + "/document-signing.key")
        let r = try ProcessRunner.run(kioskd, ["--config", BuiltProducts.repositoryPath("kiosk-config"), "--state", state,
                                               "--runtime", dir.path + "/run"], timeout: 60)
        #expect(r.status == 78, "\(r.stderr)")
        for named in ["keys/root.json", "keys/demo-documents.pub", "document-signing.key", "--demo"] {
            #expect(r.stderr.contains(named), "\(named) not named: \(r.stderr)")
        }
    }

    /// A real kiosk: the fleet's own root in keys/, `kioskd --enrol` making the registry and
    /// document keys (mode 0600, in the state directory): kioskd starts without --demo.
    @Test func aKioskWithItsOwnKeysStartsWithoutDemo() throws {
        let signers = Signers()
        let root = try signers.signedRoot(signers.rootMetadata(), by: signers.rootKeys)
        let bed = try KioskdTestBed(configFiles: ["keys/root.json": root], demo: false)
        defer { _ = bed.stop(); bed.directory.remove() }
        let enrolment = try #require(bed.enrolment)
        #expect(enrolment.contains("registryd kiosk add demo-kiosk-01 --public-key "), "\(enrolment)")
        #expect(enrolment.contains("document signing key: "), "\(enrolment)")
        for key in ["document-signing.key", "kiosk.key"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: bed.stateDirectory + "/" + key)
            #expect((attributes[.posixPermissions] as? Int) == 0o600, "\(key)")
        }
        #expect(!FileManager.default.fileExists(atPath: bed.configDirectory + "/document-signing.key"))
        #expect(DemoKeys.findings(configDirectory: URL(fileURLWithPath: bed.configDirectory), stateDirectory: URL(fileURLWithPath: bed.stateDirectory),
                                  documentSigningKeyPublic: nil).isEmpty)
        let (status, _) = bed.curl(bed.technicianSocket, "GET", "/v1/status")
        #expect(status == 200)
    }

    /// The install script never lays the demonstration keys on a kiosk.
    @Test func theInstallScriptLeavesTheDemonstrationKeysOut() throws {
        let dir = try TemporaryDirectory(prefix: "install-keys")
        defer { dir.remove() }
        let result = try ProcessRunner.run(BuiltProducts.repositoryPath("scripts/install.sh"),
                                           ["--destdir", dir.path, "--from", BuiltProducts.directory.path], timeout: 120)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir.path + "/etc/yitiji/kiosk.yaml"))
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/etc/yitiji/keys/root.json"))
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/etc/yitiji/keys/demo-documents.pub"))
    }
}
