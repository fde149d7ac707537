import Foundation
import KioskCore
import Registry
@testable import RegistryServer
import TestSupport
import Testing

/// The two stores behind `RegistryStore` behave alike: SQLite, and PostgreSQL on a private server
/// (`scripts/testbeds/postgres.sh`).
@Suite(.serialized) struct RegistryStoreTests {
    static let seedPath = BuiltProducts.repositoryPath("scripts/testbeds/demo-seed.json")

    static func item(_ kind: SubmissionKind, key: String, _ value: some Encodable) throws -> StoredSubmission {
        try RegistryRoutes.prepare(kind: kind, key: key, body: RegistryJSON.encoder().encode(value))
    }

    static func rating(_ visit: String, level: Int = 4) -> RatingRecord {
        RatingRecord(visitId: visit, level: level, reason: nil, serviceCode: "archive-query", formVersion: 1,
                     ratedAt: Date(timeIntervalSince1970: 1_790_000_000))
    }

    /// The behaviour every store must have.
    static func exercise(_ store: any RegistryStore) async throws {
        try await store.load(try RegistrySeed.load(Data(contentsOf: URL(fileURLWithPath: seedPath))))
        try await store.load(try RegistrySeed.load(Data(contentsOf: URL(fileURLWithPath: seedPath))))  // again: replaces
        #expect(try await store.enterprise(uscc: "91441900100000008X")?.legalRepresentativeIdNumber == "441900199003181234")
        #expect(try await store.enterprise(uscc: "91350100M000100Y43") == nil)
        #expect(try await store.searchEnterprises(name: "云端", limit: 5).isEmpty == false)
        #expect(try await store.searchEnterprises(name: "聚源11", limit: 5).map(\.status) == ["注销"])  // hits carry their status
        #expect(try await store.searchEnterprises(name: "%", limit: 5).count == 5)  // wildcards are not special
        #expect(try await store.person(idNumber: "441900199003181234")?.name == "张三")

        let key = try KioskCredentials.generate(kioskId: "DG-0001").publicKeyBase64
        try await store.addKiosk(id: "DG-0001", publicKey: try #require(Data(base64Encoded: key)), note: "南城")
        #expect(try await store.kioskKey(id: "DG-0001")?.base64EncodedString() == key)
        #expect(try await store.kiosks().map(\.id) == ["DG-0001"])
        await #expect(throws: StoreError.self) { try await store.addKiosk(id: "bad id", publicKey: Data(count: 32), note: "") }

        let now = Date()
        let first = try await store.submit(kioskId: "DG-0001", [try item(.ratings, key: "k1", rating("v1"))], now: now)
        guard case .success(let receipt)?? = first.first else { Issue.record("not recorded: \(first)"); return }
        #expect(receipt.registryNumber.hasPrefix("PJ-"))
        let batch = try await store.submit(kioskId: "DG-0001", [
            try item(.ratings, key: "k1", rating("v1")),           // same key, same body: the same receipt
            try item(.ratings, key: "k2", rating("v1", level: 2)), // the visit is rated already
            try item(.ratings, key: "k3", rating("v3", level: 9)), // invalid
            try item(.ratings, key: "k1", rating("v9")),           // the key with another body: 409, and stop
            try item(.ratings, key: "k4", rating("v4")),           // not attempted
        ], now: now)
        #expect(batch.count == 5)
        if case .success(let again)?? = batch.first { #expect(again == receipt) } else { Issue.record("\(batch)") }
        let codes = batch.dropFirst().map { result -> String? in
            if case .failure(let problem)? = result { return problem.code }
            return nil
        }
        #expect(codes == ["rating.duplicate-visit", "submission.invalid", "idempotency.key-reused", nil])
        // The same key from another kiosk is another request.
        #expect(try await store.submit(kioskId: "DG-0002", [try item(.ratings, key: "k1", rating("v1"))], now: now).first??.isSuccess == true)
        #expect(try await store.forgetIdempotencyKeys(before: now.addingTimeInterval(-3600)) == 0)
        #expect(try await store.forgetIdempotencyKeys(before: now.addingTimeInterval(1)) == 2)

        // Keys forgotten, a kiosk offline for longer resends: the original receipt, never a second
        // application or rating; another body under the same tracking number or visit is refused.
        let application = ApplicationSubmission(
            trackingNumber: "YT-DG-0001-20261123-000001", applicant: Applicant(idNumber: "441900199003181234", name: "张三"),
            proposedName: "东莞市测试有限公司", type: "有限责任公司", registeredCapital: "人民币壹拾万元", address: "东莞市", businessScope: "软件",
            submittedAt: Date(timeIntervalSince1970: 1_790_000_000))
        let applied = try await store.submit(kioskId: "DG-0001", [try item(.applications, key: "a1", application)], now: now)
        guard case .success(let original)?? = applied.first else { Issue.record("not recorded: \(applied)"); return }
        #expect(try await store.forgetIdempotencyKeys(before: now.addingTimeInterval(1)) == 1)
        let late = try await store.submit(kioskId: "DG-0001", [try item(.applications, key: "a1-again", application),
                                                                try item(.ratings, key: "k1-again", rating("v1"))], now: now.addingTimeInterval(9 * 86400))
        if case .success(let again)?? = late.first { #expect(again == original) } else { Issue.record("\(late)") }
        if case .success(let again)?? = late.last { #expect(again == receipt) } else { Issue.record("\(late)") }
        var changed = application
        changed.proposedName = "东莞市另一家有限公司"
        let clash = try await store.submit(kioskId: "DG-0001", [try item(.applications, key: "a2", changed)], now: now)
        if case .failure(let problem)?? = clash.first { #expect(problem.code == "submission.tracking-reused") } else { Issue.record("\(clash)") }
        // Document keys: one owner each, idempotent for it, refused to another kiosk, bounded per kiosk.
        let documentKey = Data((0..<32).map { UInt8($0) })
        let keyId = RegisteredDocumentKey.keyId(of: documentKey)
        #expect(try await store.registerDocumentKey(kioskId: "DG-0001", publicKey: documentKey, at: now, limit: 2) == .registered)
        #expect(try await store.registerDocumentKey(kioskId: "DG-0001", publicKey: documentKey, at: now, limit: 2) == .alreadyRegistered)
        #expect(try await store.registerDocumentKey(kioskId: "DG-0002", publicKey: documentKey, at: now, limit: 2) == .takenBy("DG-0001"))
        #expect(try await store.registerDocumentKey(kioskId: "DG-0001", publicKey: Data(repeating: 9, count: 32), at: now, limit: 2) == .registered)
        #expect(try await store.registerDocumentKey(kioskId: "DG-0001", publicKey: Data(repeating: 8, count: 32), at: now, limit: 2) == .tooMany(2))
        let listed = try await store.documentKeys(keyId: keyId)
        #expect(listed.map(\.kioskId) == ["DG-0001"] && listed.first?.publicKey == documentKey.base64EncodedString())
        #expect(try await store.documentKeys(keyId: "00000000").isEmpty)
        #expect(try await store.removeKiosk(id: "DG-0001"))
        #expect(try await store.kioskKey(id: "DG-0001") == nil)
    }

    @Test func sqlite() async throws {
        let dir = try TemporaryDirectory(prefix: "store")
        defer { dir.remove() }
        try await Self.exercise(try SQLiteRegistryStore(path: dir.path + "/r.sqlite"))
    }

    @Test func postgres() async throws {
        let dir = try TemporaryDirectory(prefix: "pg")
        let script = BuiltProducts.repositoryPath("scripts/testbeds/postgres.sh")
        let started = try ProcessRunner.runScript("/bin/bash", [script, "start", dir.path + "/pg"], timeout: 120)
        defer { _ = try? ProcessRunner.runScript("/bin/bash", [script, "stop", dir.path + "/pg"]); dir.remove() }
        try #require(started.status == 0, "\(started.stderr)")
        let env = readEnvironmentFile(dir.path + "/pg/env")
        let socket = try #require(env["YITIJI_PG_SOCKET"])
        let store = PostgresRegistryStore(client: PostgresRegistryStore.makeClient(unixSocketPath: socket, username: "registry", database: "registry"))
        let pool = Task { await store.run() }
        defer { pool.cancel() }
        try await store.migrate()
        try await store.migrate()  // idempotent
        try await Self.exercise(store)
    }
}

extension Result {
    var isSuccess: Bool { if case .success = self { return true } else { return false } }
}
