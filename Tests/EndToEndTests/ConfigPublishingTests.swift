import Crypto
import Foundation
import KioskConfig
import Registry
import TestSupport
import Testing

/// Central operations publish signed configuration through a real registryd; a real kioskd learns
/// of it over its long poll, applies it, and reports back.
@Suite(.serialized) struct ConfigPublishingTests {
    static let kioskId = "demo-kiosk-01"
    let signers = Signers()

    final class Bed {
        let directory: TemporaryDirectory
        let reader: EmulatedUSBReader
        let cups: CupsTestBed
        let registry: RegistrydProcess
        let kioskd: KioskdTestBed

        init(root: Data) throws {
            directory = try TemporaryDirectory(prefix: "publish")
            reader = try EmulatedUSBReader()
            cups = try CupsTestBed()
            let credentials = try KioskCredentials.generate(kioskId: ConfigPublishingTests.kioskId)
            registry = try RegistrydProcess(database: directory.path + "/registry.sqlite",
                                            seed: BuiltProducts.repositoryPath("scripts/testbeds/demo-seed.json"),
                                            kiosks: [(ConfigPublishingTests.kioskId, credentials.publicKeyBase64)])
            try credentials.write(to: directory.path + "/kiosk.key")
            let url = registry.baseURL
            kioskd = try KioskdTestBed(environment: reader.environment.merging(cups.environment) { $1 },
                                       adjust: { $0.replacingOccurrences(of: "http://127.0.0.1:8480", with: url) },
                                       stateFiles: ["kiosk.key": try Data(contentsOf: URL(fileURLWithPath: directory.path + "/kiosk.key"))],
                                       configFiles: ["keys/root.json": root])
            _ = eventually(15) { self.kioskd.curl(self.kioskd.technicianSocket, "GET", "/v1/status").1.contains(#""readerPresent":true"#) }
        }

        /// `registryd config …` on the registry's database.
        func registryd(_ arguments: [String]) throws -> ProcessResult {
            try ProcessRunner.run(BuiltProducts.path("registryd"), ["config"] + arguments + ["--db", registry.database], timeout: 60)
        }

        func publish(_ bundle: Data, target: String, stage: Int = 100) throws -> ProcessResult {
            let file = directory.path + "/bundle-\(UUID().uuidString).json"
            try bundle.write(to: URL(fileURLWithPath: file))
            return try registryd(["publish", file, "--target", target, "--stage", String(stage)])
        }

        func config() -> String { kioskd.curl(kioskd.technicianSocket, "GET", "/v1/config").1 }

        func stop() {
            kioskd.stop()
            registry.stop()
            cups.stop()
            reader.stop()
            kioskd.remove()
            directory.remove()
        }
    }

    func texts(_ old: String, _ new: String) throws -> Data {
        let text = try String(contentsOfFile: BuiltProducts.repositoryPath("kiosk-config/texts.yaml"), encoding: .utf8)
        return Data(text.replacingOccurrences(of: old, with: new).utf8)
    }

    @Test func publishedBundlesReachTheKioskAtOnceAndBadOnesAreRolledBackOrRefused() throws {
        let bed = try Bed(root: try signers.signedRoot(signers.rootMetadata(), by: signers.rootKeys))
        defer { bed.stop() }
        #expect(bed.config().contains(#""trustedRoot":true"#), "\(bed.config())")

        // A fleet bundle: published, learnt of over the open poll, applied, reported.
        let fleet = try signers.bundle(version: 1, files: ["texts.yaml": try texts("请将身份证放在读卡区", "请将居民身份证放在读卡区")])
        let started = Date()
        let published = try bed.publish(fleet, target: "fleet")
        #expect(published.status == 0, "\(published.stderr)")
        #expect(eventually(20) { bed.config().contains(#""fleet":1"#) }, "\(bed.config())\n\(bed.kioskd.process.log.suffix(1500))")
        let applied = Date().timeIntervalSince(started)
        #expect(applied < 20)
        let citizen = bed.kioskd.curl(bed.kioskd.citizenSocket, "GET", "/v1/interface").1
        #expect(citizen.contains("请将居民身份证放在读卡区"))
        #expect(eventually(20) { ((try? bed.registryd(["status"]).stdout) ?? "").contains("committed") },
                "\((try? bed.registryd(["status"]).stdout) ?? "")")

        // A site bundle whose printer queue does not exist: applied, unhealthy, rolled back by itself.
        let kiosk = try String(contentsOfFile: BuiltProducts.repositoryPath("kiosk-config/kiosk.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "http://127.0.0.1:8480", with: bed.registry.baseURL)
            .replacingOccurrences(of: "queue: a4", with: "queue: no-such-queue")
        let site = try signers.bundle(version: 1, target: BundleTarget(scope: .site, id: "demo-hall"), files: ["kiosk.yaml": Data(kiosk.utf8)])
        #expect(try bed.publish(site, target: "site:demo-hall").status == 0)
        #expect(eventually(30) { ((try? bed.registryd(["status"]).stdout) ?? "").contains("rolledBack") },
                "\((try? bed.registryd(["status"]).stdout) ?? "")")
        #expect(!bed.config().contains("site:demo-hall\":1"))
        #expect(bed.kioskd.curl(bed.kioskd.technicianSocket, "GET", "/v1/status").1.contains(#""queue":"a4""#))

        // Not published at all: an older version, a bundle signed for another target than named,
        // an unsigned file.
        #expect(try bed.publish(fleet, target: "fleet").status != 0)
        #expect(try bed.publish(fleet, target: "site:demo-hall").status != 0)
        #expect(try bed.publish(Data("{}".utf8), target: "fleet").status != 0)

        // Signed with a key the kiosk does not trust: published, refused by the kiosk, reported.
        let rogue = try signers.bundle(version: 2, files: ["texts.yaml": try texts("请将身份证放在读卡区", "伪造")],
                                       signer: Curve25519.Signing.PrivateKey())
        #expect(try bed.publish(rogue, target: "fleet").status == 0)
        #expect(eventually(20) { ((try? bed.registryd(["status"]).stdout) ?? "").contains("rejected") },
                "\((try? bed.registryd(["status"]).stdout) ?? "")")
        #expect(bed.kioskd.curl(bed.kioskd.citizenSocket, "GET", "/v1/interface").1.contains("请将居民身份证放在读卡区"))

        // A bundle for another kiosk is never announced to this one.
        let other = try signers.bundle(version: 1, target: BundleTarget(scope: .kiosk, id: "other-kiosk"),
                                       files: ["texts.yaml": try texts("请将身份证放在读卡区", "别的机器")])
        #expect(try bed.publish(other, target: "kiosk:other-kiosk").status == 0)
        Thread.sleep(forTimeInterval: 2)
        #expect(!bed.config().contains("other-kiosk"), "\(bed.config())")
        let list = try bed.registryd(["list"]).stdout
        #expect(list.contains("kiosk:other-kiosk") && list.contains("fleet"))
    }
}
