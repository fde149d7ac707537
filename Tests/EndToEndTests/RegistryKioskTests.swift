import Foundation
import GRDB
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import KioskCore
import Registry
import TestSupport
import Testing

/// The registry client and registryd together on loopback with a real SQLite file: signatures,
/// idempotent submissions, print authorisation.
@Suite(.serialized) struct RegistryKioskTests {
    static let seed = BuiltProducts.repositoryPath("scripts/testbeds/demo-seed.json")
    static let uscc = "91441900100000008X"
    static let legalRepresentative = "441900199003181234"
    static let someoneElse = "441900196203128717"

    struct Bed {
        let dir: TemporaryDirectory
        let registry: RegistrydProcess
        let credentials: KioskCredentials
        func client(_ credentials: KioskCredentials? = nil) -> RegistryClient {
            var config = RegistryClientConfiguration(baseURL: registry.baseURL, credentials: credentials ?? self.credentials)
            config.deadline = .seconds(5)
            return RegistryClient(configuration: config)
        }
        func stop() { registry.stop(); dir.remove() }
    }

    static func bed() throws -> Bed {
        let dir = try TemporaryDirectory(prefix: "registry-e2e")
        let credentials = try KioskCredentials.generate(kioskId: "DG-0001")
        let registry = try RegistrydProcess(database: dir.path + "/registry.sqlite", seed: seed,
                                            kiosks: [(credentials.kioskId, credentials.publicKeyBase64)])
        return Bed(dir: dir, registry: registry, credentials: credentials)
    }

    /// A raw request with chosen headers, to send what the client never would.
    static func raw(_ url: String, method: String = "GET", headers: [(String, String)] = []) throws -> (Int, String) {
        var request = URLRequest(url: try #require(URL(string: url)))
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let semaphore = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: (Int, String)?
        URLSession.shared.dataTask(with: request) { data, response, _ in
            if let http = response as? HTTPURLResponse { result = (http.statusCode, String(decoding: data ?? Data(), as: UTF8.self)) }
            semaphore.signal()
        }.resume()
        _ = semaphore.wait(timeout: .now() + 10)
        return try #require(result)
    }

    static func refusalCode(_ body: () async throws(RegistryClientError) -> Void) async -> String? {
        do { try await body(); return nil } catch {
            if case .refused(let problem) = error { return problem.code }
            return "\(error)"
        }
    }

    @Test func signedRequestsAreServedAndOthersRefused() async throws {
        let bed = try Self.bed()
        defer { bed.stop() }
        let client = bed.client()
        #expect(try await client.enterprise(uscc: Self.uscc).legalRepresentative == "张三")
        #expect(try await client.search(name: "云端").isEmpty == false)
        #expect(try await client.search(name: "锦程35").first?.status == "注销")
        let archive = try await client.archive(uscc: Self.uscc)
        #expect(!archive.archive.isEmpty)
        #expect(try await client.socialInsurance(idNumber: Self.legalRepresentative).name == "张三")
        #expect(try await client.health().status == .ok)

        let stranger = try KioskCredentials.generate(kioskId: "DG-9999")
        #expect(await Self.refusalCode { () async throws(RegistryClientError) in _ = try await bed.client(stranger).enterprise(uscc: Self.uscc) } == "auth.unknown-kiosk")
        let impostor = try KioskCredentials.generate(kioskId: "DG-0001")  // the right ID, another key
        #expect(await Self.refusalCode { () async throws(RegistryClientError) in _ = try await bed.client(impostor).enterprise(uscc: Self.uscc) } == "auth.bad-signature")

        let path = "/v1/enterprises/\(Self.uscc)"
        var (status, body) = try Self.raw(bed.registry.baseURL + path)
        #expect(status == 401 && body.contains("auth.missing"))
        (status, body) = try Self.raw(bed.registry.baseURL + path,
                                      headers: bed.credentials.headers(method: "GET", pathAndQuery: path, body: Data(), now: Date().addingTimeInterval(-600)))
        #expect(status == 401 && body.contains("auth.clock-skew"))
        (status, body) = try Self.raw(bed.registry.baseURL + "/v1/persons/\(Self.legalRepresentative)/social-insurance")
        #expect(status == 401 && !body.contains("张三"))
        (status, body) = try Self.raw(bed.registry.baseURL + "/v1/health")
        #expect(status == 200 && body.contains("serverTime"))
        // The archive carries no ID number.
        (status, body) = try Self.raw(bed.registry.baseURL + path + "/archive",
                                      headers: bed.credentials.headers(method: "GET", pathAndQuery: path + "/archive", body: Data()))
        #expect(status == 200 && !body.contains(Self.legalRepresentative) && !body.contains("legalRepresentativeIdNumber"))
    }

    @Test func submissionsAreIdempotent() async throws {
        let bed = try Self.bed()
        defer { bed.stop() }
        let client = bed.client()
        let encoder = RegistryJSON.encoder()
        let rating = try encoder.encode(RatingRecord(visitId: "visit-1", level: 5, reason: nil, serviceCode: "archive-query", formVersion: 1, ratedAt: Date()))
        let first = try await client.submit(kind: .ratings, idempotencyKey: "key-1", body: rating)
        let again = try await client.submit(kind: .ratings, idempotencyKey: "key-1", body: rating)
        #expect(first == again && first.registryNumber.hasPrefix("PJ-"))
        let other = try encoder.encode(RatingRecord(visitId: "visit-2", level: 1, reason: "太慢", serviceCode: "archive-query", formVersion: 1, ratedAt: Date()))
        #expect(await Self.refusalCode { () async throws(RegistryClientError) in _ = try await client.submit(kind: .ratings, idempotencyKey: "key-1", body: other) } == "idempotency.key-reused")
        // One rating per visit: the same rating under a new key is the same receipt; another for the visit is refused.
        #expect(try await client.submit(kind: .ratings, idempotencyKey: "key-2", body: rating) == first)
        let secondOpinion = try encoder.encode(RatingRecord(visitId: "visit-1", level: 2, reason: "慢", serviceCode: "archive-query", formVersion: 1, ratedAt: Date()))
        #expect(await Self.refusalCode { () async throws(RegistryClientError) in _ = try await client.submit(kind: .ratings, idempotencyKey: "key-5", body: secondOpinion) } == "rating.duplicate-visit")
        let badLevel = try encoder.encode(RatingRecord(visitId: "visit-3", level: 6, reason: nil, serviceCode: "x", formVersion: 1, ratedAt: Date()))
        #expect(await Self.refusalCode { () async throws(RegistryClientError) in _ = try await client.submit(kind: .ratings, idempotencyKey: "key-3", body: badLevel) } == "submission.invalid")
        let application = try encoder.encode(ApplicationSubmission(
            trackingNumber: "YT-DG-0001-20261123-000001", applicant: Applicant(idNumber: Self.legalRepresentative, name: "张三"),
            proposedName: "东莞市测试有限公司", type: "有限责任公司", registeredCapital: "人民币壹拾万元", address: "东莞市", businessScope: "软件",
            submittedAt: Date()))
        let receipt = try await client.submit(kind: .applications, idempotencyKey: "app-1", body: application)
        #expect(receipt.registryNumber.hasPrefix("SQ-"))
        // A batch: the answered key answers the same, the new ones in order.
        let results = try await client.submitBatch([
            BatchItem(kind: .applications, idempotencyKey: "app-1", body: application),
            BatchItem(kind: .ratings, idempotencyKey: "key-4", body: other),
        ])
        #expect(results[0].receipt == receipt && results[1].receipt != nil)
    }

    @Test func onlyTheLegalRepresentativeMayPrint() async throws {
        let bed = try Self.bed()
        defer { bed.stop() }
        let client = bed.client()
        let grant = try await client.authorizePrint(kind: .businessLicence, uscc: Self.uscc, idNumber: Self.legalRepresentative)
        #expect(grant.allowed && grant.uscc == Self.uscc)
        #expect(try await client.authorizePrint(kind: .archive, uscc: Self.uscc, idNumber: Self.legalRepresentative).allowed)
        for kind in PrintKind.allCases {
            #expect(await Self.refusalCode { () async throws(RegistryClientError) in
                _ = try await client.authorizePrint(kind: kind, uscc: Self.uscc, idNumber: Self.someoneElse)
            } == "print.not-entitled")
        }
        #expect(await Self.refusalCode { () async throws(RegistryClientError) in
            _ = try await client.authorizePrint(kind: .archive, uscc: "91350100M000100Y43", idNumber: Self.legalRepresentative)
        } == "enterprise.not-found")
    }

    /// kioskd registers its document key at the registry by itself, so that codes it prints can
    /// be checked by anyone.
    @Test func kioskdRegistersItsDocumentKey() throws {
        let bed = try KioskStack()
        defer { bed.stop() }
        let database = try DatabaseQueue(path: bed.registry.database)
        #expect(eventually(20) {
            (try? database.read { try String.fetchOne($0, sql: "SELECT kiosk_id FROM document_key") }) == KioskStack.kioskId
        }, "\(bed.kioskd.process.log.suffix(1500))")
        // The registry stores the key before kioskd has its answer and logs it.
        #expect(eventually(10) { bed.kioskd.process.log.contains("document key registered") })
    }

    @Test func kiosksAreListedAndRemoved() throws {
        let dir = try TemporaryDirectory(prefix: "registry-kiosks")
        defer { dir.remove() }
        let db = dir.path + "/r.sqlite"
        let key = try KioskCredentials.generate(kioskId: "DG-0002").publicKeyBase64
        let registryd = BuiltProducts.path("registryd")
        #expect(try ProcessRunner.run(registryd, ["kiosk", "add", "DG-0002", "--public-key", key, "--note", "南城大厅", "--db", db]).status == 0)
        let list = try ProcessRunner.run(registryd, ["kiosk", "list", "--db", db])
        #expect(list.stdout.contains("DG-0002") && list.stdout.contains(key))
        let bad = try ProcessRunner.run(registryd, ["kiosk", "add", "DG-0003", "--public-key", "AAAA", "--db", db])
        #expect(bad.status != 0 && bad.stderr.contains("32"))
        // Replacing a key and removing a kiosk are confirmed.
        let other = try KioskCredentials.generate(kioskId: "DG-0002").publicKeyBase64
        let replace = try ProcessRunner.run(registryd, ["kiosk", "add", "DG-0002", "--public-key", other, "--db", db])
        #expect(replace.status != 0 && replace.stderr.contains("--replace"), "\(replace.stderr)")
        #expect(try ProcessRunner.run(registryd, ["kiosk", "list", "--db", db]).stdout.contains(key))
        #expect(try ProcessRunner.run(registryd, ["kiosk", "add", "DG-0002", "--public-key", key, "--db", db]).stdout.contains("already registered"))
        let unconfirmed = try ProcessRunner.run(registryd, ["kiosk", "remove", "DG-0002", "--db", db])
        #expect(unconfirmed.status != 0 && unconfirmed.stderr.contains("--yes"), "\(unconfirmed.stderr)")
        #expect(try ProcessRunner.run(registryd, ["kiosk", "add", "DG-0002", "--public-key", other, "--replace", "--db", db]).status == 0)
        #expect(try ProcessRunner.run(registryd, ["kiosk", "remove", "DG-0002", "--yes", "--db", db]).status == 0)
        #expect(try ProcessRunner.run(registryd, ["kiosk", "list", "--db", db]).stdout.isEmpty)
    }

    /// A technician's view of the fleet from its heartbeats: one row per kiosk however many it
    /// sends, the newest state shown, a late older heartbeat not shown, a kiosk never heard flagged.
    @Test func theFleetIsShownAsItsHeartbeatsTellIt() async throws {
        let bed = try Self.bed()
        defer { bed.stop() }
        let quiet = try KioskCredentials.generate(kioskId: "DG-0009")
        try bed.registry.register(quiet.kioskId, publicKey: quiet.publicKeyBase64)
        let client = bed.client(), encoder = RegistryJSON.encoder()
        let newest = Heartbeat(deviceStatus: ["reader": "ok", "printer.a4": "online/paper-out/toner-full"], outboxDepth: 250,
                               configVersion: "fleet=3", sentAt: Date())
        let older = Heartbeat(deviceStatus: ["reader": "ok"], outboxDepth: 0, configVersion: "fleet=2", sentAt: Date().addingTimeInterval(-120))
        let first = try await client.submit(kind: .heartbeats, idempotencyKey: "hb-newest", body: try encoder.encode(newest))
        let late = try await client.submit(kind: .heartbeats, idempotencyKey: "hb-older", body: try encoder.encode(older))
        #expect(late.registryNumber != first.registryNumber && late.registryNumber.hasPrefix("XT-"))
        #expect(try await client.submit(kind: .heartbeats, idempotencyKey: "hb-newest", body: try encoder.encode(newest)) == first)
        var changed = newest
        changed.outboxDepth = 1
        let changedBody = try encoder.encode(changed)
        #expect(await Self.refusalCode { () async throws(RegistryClientError) in
            _ = try await client.submit(kind: .heartbeats, idempotencyKey: "hb-newest", body: changedBody)
        } == "idempotency.key-reused")
        let registryd = BuiltProducts.path("registryd"), db = bed.registry.database
        let status = try ProcessRunner.run(registryd, ["kiosk", "status", "--db", db])
        let lines = status.stdout.split(separator: "\n").map(String.init)
        #expect(status.status == 0 && lines.count == 3, "\(status.stdout) \(status.stderr)")
        let shown = lines.first { $0.hasPrefix("DG-0001\t") } ?? ""
        #expect(shown.contains("\theard ") && shown.contains("\tconfig fleet=3\toutbox 250 BACKLOG\tprinter.a4 online/paper-out/toner-full"), "\(shown)")
        #expect(lines.contains("DG-0009\t-\tNEVER heard\tconfig -\toutbox -\t-"), "\(lines)")
        #expect(lines.last == "2 kiosks: 1 heard within 5 min, 0 silent, 1 never heard; 1 with a device not ok; 1 with 100 or more items waiting")
        let json = try ProcessRunner.run(registryd, ["kiosk", "status", "--attention", "--backlog", "300", "--json", "--db", db])
        let decoded = try RegistryJSON.decoder().decode(FleetStatusView.self, from: Data(json.stdout.utf8))
        #expect(decoded.kiosks.map(\.id) == ["DG-0001", "DG-0009"] && decoded.backlog == 300, "\(json.stdout)")
        // What a technician might mistype is refused with what to give.
        for (arguments, says) in [(["--silent-after", "0"], "--silent-after is 1 minute"), (["--silent-after", "0.5"], "--silent-after is 1 minute"),
                                  (["--silent-after", "nan"], "--silent-after is 1 minute"), (["--backlog=0"], "--backlog is at least 1"),
                                  (["--silent-after", "soon"], "silent-after")] {
            let refused = try ProcessRunner.run(registryd, ["kiosk", "status", "--db", db] + arguments)
            #expect(refused.status != 0 && refused.stderr.contains(says), "\(arguments): \(refused.stderr)")
        }
        // Heartbeats leave one row per kiosk: no submission, no kept key.
        let queue = try DatabaseQueue(path: db)
        let counts = try await queue.read { db in
            [try Int.fetchOne(db, sql: "SELECT count(*) FROM kiosk_status") ?? -1,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM submission WHERE kind = 'heartbeats'") ?? -1,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM idempotency WHERE kind = 'heartbeats'") ?? -1]
        }
        #expect(counts == [1, 0, 0])
    }

    /// What `registryd kiosk status --json` prints, as a script reads it.
    struct FleetStatusView: Decodable {
        struct Kiosk: Decodable { let id: String }
        let kiosks: [Kiosk]
        let backlog: Int
    }

    @Test func aRollOutsKeyListIsImportedWholeOrNotAtAll() throws {
        let dir = try TemporaryDirectory(prefix: "registry-import")
        defer { dir.remove() }
        let db = dir.path + "/r.sqlite"
        let registryd = BuiltProducts.path("registryd")
        let keys = try (1...3).map { try KioskCredentials.generate(kioskId: "HALL2-0\($0)") }
        let list = "# hall 2, roll-out 1\n" + keys.map { "\($0.kioskId) \($0.publicKeyBase64) hall-2" }.joined(separator: "\n") + "\n"
        try list.write(toFile: dir.path + "/hall-2.txt", atomically: true, encoding: .utf8)
        let first = try ProcessRunner.run(registryd, ["kiosk", "import", dir.path + "/hall-2.txt", "--note", "roll-out 1", "--db", db])
        #expect(first.status == 0 && first.stdout.contains("imported 3 kiosk(s): 3 new, 0 re-keyed, 0 updated, 0 unchanged"), "\(first.stderr)")
        let listed = try ProcessRunner.run(registryd, ["kiosk", "list", "--db", db]).stdout
        #expect(keys.allSatisfy { listed.contains("\($0.kioskId)\tkiosk\thall-2\t\($0.publicKeyBase64)") && listed.contains("roll-out 1") }, "\(listed)")
        // Again from standard input: nothing changes.
        let again = try ProcessRunner.run(registryd, ["kiosk", "import", "-", "--db", db], stdin: Data(list.utf8))
        #expect(again.stdout.contains("3 unchanged"), "\(again.stderr)")
        // One bad line, or one kiosk that would get another key, and nothing of the list is registered.
        let newcomer = try KioskCredentials.generate(kioskId: "HALL2-04")
        let rekeyed = try KioskCredentials.generate(kioskId: "HALL2-01")
        for (text, says) in [("\(newcomer.kioskId) \(newcomer.publicKeyBase64)\nHALL2-05 AAAA\n", "line 2: the public key must be base64 of 32"),
                             ("\(newcomer.kioskId) \(newcomer.publicKeyBase64)\n\(rekeyed.kioskId) \(rekeyed.publicKeyBase64)\n", "--replace")] {
            let refused = try ProcessRunner.run(registryd, ["kiosk", "import", "-", "--db", db], stdin: Data(text.utf8))
            #expect(refused.status != 0 && refused.stderr.contains(says) && refused.stderr.contains("nothing was registered"), "\(refused.stderr)")
            #expect(!(try ProcessRunner.run(registryd, ["kiosk", "list", "--db", db]).stdout.contains("HALL2-04")))
        }
        let replaced = try ProcessRunner.run(registryd, ["kiosk", "import", "-", "--replace", "--db", db],
                                             stdin: Data("\(rekeyed.kioskId) \(rekeyed.publicKeyBase64)\n".utf8))
        #expect(replaced.stdout.contains("1 re-keyed"), "\(replaced.stderr)")
        let after = try ProcessRunner.run(registryd, ["kiosk", "list", "--db", db]).stdout
        #expect(after.contains("HALL2-01\tkiosk\thall-2\t\(rekeyed.publicKeyBase64)"), "the site is kept: \(after)")
        let missing = try ProcessRunner.run(registryd, ["kiosk", "import", dir.path + "/none.txt", "--db", db])
        #expect(missing.status != 0 && missing.stderr.contains("cannot read"), "\(missing.stderr)")
    }
}
