import Crypto
import Foundation
import GRDB
import KioskConfig
import Registry
import TestSupport
import Testing

/// Central operations publish signed configuration through a real registryd; a real kioskd learns
/// of it over its long poll, applies it, and reports back.
@Suite(.serialized) struct ConfigPublishingTests {
    let signers = Signers()

    /// `registryd config …` on the stack's registry database.
    func registryd(_ bed: KioskStack, _ arguments: [String]) throws -> ProcessResult {
        try ProcessRunner.run(BuiltProducts.path("registryd"), ["config"] + arguments + ["--db", bed.registry.database], timeout: 60)
    }

    func publish(_ bed: KioskStack, _ bundle: Data, target: String, stage: Int = 100) throws -> ProcessResult {
        let file = bed.directory.path + "/bundle-\(UUID().uuidString).json"
        try bundle.write(to: URL(fileURLWithPath: file))
        return try registryd(bed, ["publish", file, "--target", target, "--stage", String(stage)])
    }

    func texts(_ old: String, _ new: String) throws -> Data {
        let text = try String(contentsOfFile: BuiltProducts.repositoryPath("kiosk-config/texts.yaml"), encoding: .utf8)
        return Data(text.replacingOccurrences(of: old, with: new).utf8)
    }

    /// Writes a private key as registryd reads it.
    func keyFile(_ key: Curve25519.Signing.PrivateKey, in directory: TemporaryDirectory, _ name: String) throws -> String {
        let path = directory.path + "/" + name
        try key.rawRepresentation.base64EncodedString().write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    struct DiagRow: Decodable { let id: String; let status: String; let detail: String; let action: String }
    struct DiagBody: Decodable { let checks: [DiagRow] }

    /// `kioskctl diag config --json` on the stack's kiosk: its `freshness` row.
    func freshness(_ bed: KioskStack) -> DiagRow? {
        let arguments = ["diag", "config", "--json", "--config", bed.kioskd.configDirectory, "--state-dir", bed.kioskd.stateDirectory,
                         "--socket", bed.kioskd.technicianSocket]
        guard let r = try? ProcessRunner.run(BuiltProducts.path("kioskctl"), arguments, environment: ["CUPS_SERVER": "127.0.0.1:1"], timeout: 60),
              let body = try? JSONDecoder().decode(DiagBody.self, from: Data(r.stdout.utf8)) else { return nil }
        return body.checks.first { $0.id == "freshness" }
    }

    /// Freeze: every feed answer carries a statement signed with the registry's timestamp key.
    /// When statements stop coming, or come signed with a key the fleet root does not name (an
    /// impostor, or a replay of old answers), the kiosk says it is frozen in `diag` and in its
    /// metrics once its window passes, and fresh again when the real registry answers.
    @Test func aFrozenFeedIsReportedInDiagAndMetrics() throws {
        let keys = try TemporaryDirectory(prefix: "timestamp")
        defer { keys.remove() }
        let genuine = try keyFile(signers.timestamp, in: keys, "timestamp.key")
        let impostor = try keyFile(Curve25519.Signing.PrivateKey(), in: keys, "impostor.key")
        let bed = try KioskStack(configFiles: ["keys/root.json": try signers.signedRoot(signers.rootMetadata(), by: signers.rootKeys)],
                                 timestampKey: genuine,
                                 kioskYAML: { $0.replacingOccurrences(of: "  keyFile: kiosk.key", with: "  keyFile: kiosk.key\n  freezeWindowSeconds: 4") })
        defer { bed.stop() }
        #expect(eventually(20) { self.freshness(bed)?.status == "ok" }, "\(String(describing: freshness(bed)))\n\(bed.kioskd.process.log.suffix(1500))")
        #expect(freshness(bed)?.detail.contains("fresh: last signed statement") == true)
        #expect(bed.metrics().contains("yitiji_config_feed_frozen 0"))
        #expect(bed.metrics().contains("yitiji_config_feed_statement_age_seconds"))

        // An impostor answers in the registry's place.
        bed.registry.kill()
        bed.registry.timestampKey = impostor
        try bed.registry.start(seedAgain: false)
        #expect(eventually(30) {
            let row = self.freshness(bed)
            return row?.status == "fail" && row?.detail.contains("frozen") == true && row?.detail.contains("not a trusted timestamp key") == true
        }, "\(String(describing: freshness(bed)))")
        #expect(bed.metrics().contains("yitiji_config_feed_frozen 1"))
        #expect(bed.kioskd.process.log.contains("configuration feed statement refused"))

        // Cut off: no registry at all keeps it frozen.
        bed.registry.kill()
        Thread.sleep(forTimeInterval: 1)
        #expect(freshness(bed)?.status == "fail")

        // The real registry again: fresh.
        bed.registry.timestampKey = genuine
        try bed.registry.start(seedAgain: false)
        #expect(eventually(40) { self.freshness(bed)?.status == "ok" }, "\(String(describing: freshness(bed)))")
        #expect(bed.metrics().contains("yitiji_config_feed_frozen 0"))
    }

    @Test func registrydRefusesAnUnusableTimestampKey() throws {
        let dir = try TemporaryDirectory(prefix: "timestamp-key")
        defer { dir.remove() }
        try "not a key".write(toFile: dir.path + "/bad.key", atomically: true, encoding: .utf8)
        for key in [dir.path + "/bad.key", dir.path + "/missing.key"] {
            let r = try ProcessRunner.run(BuiltProducts.path("registryd"), ["--db", dir.path + "/r.sqlite", "--listen", "127.0.0.1:\(freeLoopbackPort())",
                                                                           "--timestamp-key", key], timeout: 30)
            #expect(r.status == 78 && r.stderr.contains("--timestamp-key"), "\(r.stderr)")
        }
    }

    /// Central operations move the kiosk to another registry: once the bundle is committed, new
    /// submissions go there, without a restart.
    @Test func aBundleThatMovesTheRegistryTakesEffectWithoutARestart() throws {
        let bed = try KioskStack(configFiles: ["keys/root.json": try signers.signedRoot(signers.rootMetadata(withTimestamp: false), by: signers.rootKeys)])
        defer { bed.stop() }
        let key = try KioskCredentials.load(kioskId: KioskStack.kioskId, keyFile: bed.directory.path + "/kiosk.key")
        let moved = try RegistrydProcess(database: bed.directory.path + "/registry-2.sqlite",
                                         seed: BuiltProducts.repositoryPath("scripts/testbeds/demo-seed.json"),
                                         kiosks: [(KioskStack.kioskId, key.publicKeyBase64)])
        defer { moved.stop() }
        let kiosk = try String(contentsOfFile: BuiltProducts.repositoryPath("kiosk-config/kiosk.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "http://127.0.0.1:8480", with: moved.baseURL)
        let site = try signers.bundle(version: 1, target: BundleTarget(scope: .site, id: "demo-hall"), files: ["kiosk.yaml": Data(kiosk.utf8)])
        #expect(try publish(bed, site, target: "site:demo-hall").status == 0)
        let escaped = moved.baseURL.replacingOccurrences(of: "/", with: "\\/")  // as JSONEncoder writes it
        #expect(eventually(30) { bed.technician("GET", "/v1/config").1.contains(#""registryURL":"\#(escaped)""#) },
                "\(bed.technician("GET", "/v1/config").1)\n\(bed.kioskd.process.log.suffix(1500))")
        #expect(eventually(10) { bed.kioskd.process.log.contains("registry moved") })

        try bed.reader.control("place resident")
        #expect(eventually(10) { bed.citizen("GET", "/v1/status").1.contains("张*") })
        #expect(bed.citizen("POST", "/v1/ratings", #"{"level":5,"serviceCode":"SC-APPLY","formVersion":1}"#).0 == 204)
        try bed.reader.control("remove")
        let database = try DatabaseQueue(path: moved.database)
        func ratings() -> Int {
            (try? database.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM submission WHERE kind = 'ratings'") ?? 0 }) ?? 0
        }
        #expect(eventually(20) { ratings() == 1 }, "the rating reached the registry the kiosk was moved to")
        #expect(try bed.submissions("ratings").isEmpty, "and not the one it left")
    }

    @Test func publishedBundlesReachTheKioskAtOnceAndBadOnesAreRolledBackOrRefused() throws {
        let bed = try KioskStack(configFiles: ["keys/root.json": try signers.signedRoot(signers.rootMetadata(withTimestamp: false), by: signers.rootKeys)])
        func config() -> String { bed.technician("GET", "/v1/config").1 }
        defer { bed.stop() }
        #expect(config().contains(#""trustedRoot":true"#), "\(config())")

        // A fleet bundle: inspected and tried first (nothing published), then published, learnt
        // of over the open poll, applied, reported.
        let fleet = try signers.bundle(version: 1, files: ["texts.yaml": try texts("请将身份证放在读卡区", "请将居民身份证放在读卡区")])
        let fleetFile = bed.directory.path + "/fleet-1.json", rootFile = bed.directory.path + "/root.json"
        try fleet.write(to: URL(fileURLWithPath: fleetFile))
        try signers.signedRoot(signers.rootMetadata(withTimestamp: false), by: signers.rootKeys).write(to: URL(fileURLWithPath: rootFile))
        let inspected = try ProcessRunner.run(BuiltProducts.path("registryd"), ["config", "inspect", fleetFile, "--root", rootFile], timeout: 30)
        #expect(inspected.status == 0 && inspected.stdout.contains("fleet v1") && inspected.stdout.contains("texts.yaml")
                && inspected.stdout.contains("meet root v1"), "\(inspected.stdout) \(inspected.stderr)")
        let otherRoot = Signers()
        try otherRoot.signedRoot(otherRoot.rootMetadata(), by: otherRoot.rootKeys).write(to: URL(fileURLWithPath: rootFile))
        let refused = try ProcessRunner.run(BuiltProducts.path("registryd"), ["config", "inspect", fleetFile, "--root", rootFile], timeout: 30)
        #expect(refused.status == 1 && refused.stdout.contains("not accepted"), "\(refused.stdout)")
        #expect(try ProcessRunner.run(BuiltProducts.path("registryd"), ["config", "inspect", rootFile], timeout: 30).status == 2)
        let dry = try registryd(bed, ["publish", fleetFile, "--target", "fleet", "--dry-run"])
        #expect(dry.status == 0 && dry.stdout.contains("would reach 1 of 1") && dry.stdout.contains(KioskStack.kioskId), "\(dry.stdout)")
        #expect(try registryd(bed, ["list"]).stdout.contains("no bundles published"))
        let started = Date()
        let published = try publish(bed, fleet, target: "fleet")
        #expect(published.status == 0, "\(published.stderr)")
        #expect(eventually(20) { config().contains(#""fleet":1"#) }, "\(config())\n\(bed.kioskd.process.log.suffix(1500))")
        let applied = Date().timeIntervalSince(started)
        #expect(applied < 20)
        // The generation is current on disk before its health check ends; the interface follows on commit.
        #expect(eventually(15) { bed.citizen("GET", "/v1/interface").1.contains("请将居民身份证放在读卡区") })
        #expect(eventually(20) { ((try? registryd(bed, ["status"]).stdout) ?? "").contains("committed") },
                "\((try? registryd(bed, ["status"]).stdout) ?? "")")
        let progress = try registryd(bed, ["status", "--bundle", "1"])
        #expect(progress.stdout.contains("1 applied, 0 failed, 0 waiting") && progress.stdout.contains("applied  \(KioskStack.kioskId)"),
                "\(progress.stdout) \(progress.stderr)")

        // A site bundle whose printer queue does not exist: applied, unhealthy, rolled back by itself.
        let kiosk = try String(contentsOfFile: BuiltProducts.repositoryPath("kiosk-config/kiosk.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "http://127.0.0.1:8480", with: bed.registry.baseURL)
            .replacingOccurrences(of: "queue: a4", with: "queue: no-such-queue")
        let site = try signers.bundle(version: 1, target: BundleTarget(scope: .site, id: "demo-hall"), files: ["kiosk.yaml": Data(kiosk.utf8)])
        #expect(try publish(bed, site, target: "site:demo-hall").status == 0)
        #expect(eventually(30) { ((try? registryd(bed, ["status"]).stdout) ?? "").contains("rolledBack") },
                "\((try? registryd(bed, ["status"]).stdout) ?? "")")
        #expect(!config().contains("site:demo-hall\":1"))
        #expect(bed.technician("GET", "/v1/status").1.contains(#""queue":"a4""#))

        // Not published at all: an older version, a bundle signed for another target than named,
        // an unsigned file.
        #expect(try publish(bed, fleet, target: "fleet").status != 0)
        #expect(try publish(bed, fleet, target: "site:demo-hall").status != 0)
        #expect(try publish(bed, Data("{}".utf8), target: "fleet").status != 0)

        // Signed with a key the kiosk does not trust: published, refused by the kiosk, reported.
        let rogue = try signers.bundle(version: 2, files: ["texts.yaml": try texts("请将身份证放在读卡区", "伪造")],
                                       signer: Curve25519.Signing.PrivateKey())
        #expect(try publish(bed, rogue, target: "fleet").status == 0)
        #expect(eventually(20) { ((try? registryd(bed, ["status"]).stdout) ?? "").contains("rejected") },
                "\((try? registryd(bed, ["status"]).stdout) ?? "")")
        #expect(bed.citizen("GET", "/v1/interface").1.contains("请将居民身份证放在读卡区"))

        // A bundle for another kiosk is never announced to this one.
        let other = try signers.bundle(version: 1, target: BundleTarget(scope: .kiosk, id: "other-kiosk"),
                                       files: ["texts.yaml": try texts("请将身份证放在读卡区", "别的机器")])
        #expect(try publish(bed, other, target: "kiosk:other-kiosk").status == 0)
        // A bundle for this kiosk published after it: once that is applied, the kiosk has had an
        // answer from after the other kiosk's publish, and it did not name that bundle.
        let own = try signers.bundle(version: 1, target: BundleTarget(scope: .kiosk, id: KioskStack.kioskId),
                                     files: ["texts.yaml": try texts("请将身份证放在读卡区", "请将居民身份证放在读卡区")])
        #expect(try publish(bed, own, target: "kiosk:\(KioskStack.kioskId)").status == 0)
        #expect(eventually(20) { config().contains(#""kiosk:\#(KioskStack.kioskId)":1"#) }, "\(config())")
        #expect(!config().contains("other-kiosk"), "\(config())")
        let list = try registryd(bed, ["list"]).stdout
        #expect(list.contains("kiosk:other-kiosk") && list.contains("fleet"))
    }
}
