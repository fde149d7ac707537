import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KioskCore
import Registry
@testable import RegistryServer
import TestSupport
import Testing

/// The signature check and the enterprise lookup, in-process: what a signer's remembered key
/// means when the store changes under it, and answers kept only while the stored record is the same.
@Suite struct SignedReadTests {
    static let uscc = "91441900100000008X"

    /// A router over a fresh SQLite store holding the demo seed.
    static func registry(_ dir: TemporaryDirectory, keyMemory: TimeInterval) throws -> (SQLiteRegistryStore, Application<RouterResponder<RegistryRequestContext>>) {
        let store = try SQLiteRegistryStore(path: dir.path + "/registry.sqlite")
        let router = Router(context: RegistryRequestContext.self)
        var options = RegistryOptions()
        options.keyMemory = keyMemory
        RegistryRoutes.add(to: router, store: store, options: options)
        return (store, Application(router: router))
    }

    static func seed() throws -> RegistrySeed {
        try RegistrySeed.load(Data(contentsOf: URL(fileURLWithPath: BuiltProducts.repositoryPath("scripts/testbeds/demo-seed.json"))))
    }

    /// A signed GET of `path`; answers the status and the body.
    static func get(_ client: some TestClientProtocol, _ path: String, as credentials: KioskCredentials) async throws -> (Int, String) {
        var headers = HTTPFields()
        for (name, value) in credentials.headers(method: "GET", pathAndQuery: path, body: Data()) {
            headers[try #require(HTTPField.Name(name))] = value
        }
        return try await client.execute(uri: path, method: .get, headers: headers) { response in
            (Int(response.status.code), String(buffer: response.body))
        }
    }

    static func register(_ store: SQLiteRegistryStore, _ credentials: KioskCredentials) async throws {
        try await store.addKiosk(id: credentials.kioskId, publicKey: try #require(Data(base64Encoded: credentials.publicKeyBase64)), note: "")
    }

    @Test func aRemovedKioskIsRefusedOnceItsKeyIsNoLongerRemembered() async throws {
        let dir = try TemporaryDirectory(prefix: "signed-reads")
        defer { dir.remove() }
        for memory in [0, 0.2] {
            let (store, app) = try Self.registry(dir, keyMemory: memory)
            try await store.load(Self.seed())
            let kiosk = try KioskCredentials.generate(kioskId: "DG-0001")
            try await Self.register(store, kiosk)
            try await app.test(.router) { client in
                #expect(try await Self.get(client, "/v1/enterprises/\(Self.uscc)", as: kiosk).0 == 200)
                #expect(try await store.removeKiosk(id: kiosk.kioskId))
                if memory > 0 { try await Task.sleep(for: .milliseconds(Int(memory * 1000) + 50)) }
                let (status, body) = try await Self.get(client, "/v1/enterprises/\(Self.uscc)", as: kiosk)
                #expect(status == 401 && body.contains("auth.unknown-kiosk"), "\(memory) s: \(status) \(body)")
            }
        }
    }

    @Test func aNewKeyIsAcceptedAtOnceAndTheOldOneRefused() async throws {
        let dir = try TemporaryDirectory(prefix: "signed-reads")
        defer { dir.remove() }
        let (store, app) = try Self.registry(dir, keyMemory: 300)
        try await store.load(Self.seed())
        let old = try KioskCredentials.generate(kioskId: "DG-0001"), new = try KioskCredentials.generate(kioskId: "DG-0001")
        try await Self.register(store, old)
        try await app.test(.router) { client in
            #expect(try await Self.get(client, "/v1/enterprises/\(Self.uscc)", as: old).0 == 200)  // now remembered
            try await Self.register(store, new)
            #expect(try await Self.get(client, "/v1/enterprises/\(Self.uscc)", as: new).0 == 200)
            let (status, body) = try await Self.get(client, "/v1/enterprises/\(Self.uscc)", as: old)
            #expect(status == 401 && body.contains("auth.bad-signature"), "\(status) \(body)")
        }
    }

    @Test func anUnknownKioskIsNotRememberedAsUnknown() async throws {
        let dir = try TemporaryDirectory(prefix: "signed-reads")
        defer { dir.remove() }
        let (store, app) = try Self.registry(dir, keyMemory: 300)
        try await store.load(Self.seed())
        let kiosk = try KioskCredentials.generate(kioskId: "DG-0009")
        try await app.test(.router) { client in
            let (status, body) = try await Self.get(client, "/v1/enterprises/\(Self.uscc)", as: kiosk)
            #expect(status == 401 && body.contains("auth.unknown-kiosk"), "\(status) \(body)")
            try await Self.register(store, kiosk)
            #expect(try await Self.get(client, "/v1/enterprises/\(Self.uscc)", as: kiosk).0 == 200)
            // Someone else's key under a known ID is refused every time, however often it is tried.
            let impostor = try KioskCredentials.generate(kioskId: "DG-0009")
            for _ in 0..<3 { #expect(try await Self.get(client, "/v1/enterprises/\(Self.uscc)", as: impostor).0 == 401) }
        }
    }

    @Test func aLookupAnswersTheRecordAsStoredNow() async throws {
        let dir = try TemporaryDirectory(prefix: "signed-reads")
        defer { dir.remove() }
        let (store, app) = try Self.registry(dir, keyMemory: 300)
        let seed = try Self.seed()
        try await store.load(seed)
        let kiosk = try KioskCredentials.generate(kioskId: "DG-0001")
        try await Self.register(store, kiosk)
        try await app.test(.router) { client in
            let index = try #require(seed.enterprises.firstIndex { $0.enterprise.uscc == Self.uscc })
            let first = try await Self.get(client, "/v1/enterprises/\(Self.uscc)", as: kiosk)
            #expect(first.0 == 200 && first.1.contains(seed.enterprises[index].enterprise.name))
            #expect(try await Self.get(client, "/v1/enterprises/\(Self.uscc)", as: kiosk) == first)  // kept, the same bytes
            // The record replaced (by a seed load, here or in another process): the next answer is the new one.
            var renamedSeed = seed
            renamedSeed.enterprises[index].enterprise.name = "演示市更名后科技有限公司"
            try await store.load(renamedSeed)
            let renamed = try await Self.get(client, "/v1/enterprises/\(Self.uscc)", as: kiosk)
            #expect(renamed.0 == 200 && renamed.1.contains("演示市更名后科技有限公司"), "\(renamed.1)")
            let archive = try await Self.get(client, "/v1/enterprises/\(Self.uscc)/archive", as: kiosk)
            #expect(archive.0 == 200 && archive.1.contains("演示市更名后科技有限公司"))
            // An unknown code is not kept as missing: it is looked up every time.
            #expect(try await Self.get(client, "/v1/enterprises/91350100M000100Y43", as: kiosk).0 == 404)
        }
    }

    @Test func keptAnswersAreBounded() throws {
        let answers = RecordAnswers(capacity: 3)
        for i in 0..<10 {
            _ = answers.answer(key: "k\(i)", source: "s\(i)") { ByteBuffer(string: $0) }
        }
        #expect(answers.count == 3)
        // A changed source builds anew; the same one is answered from memory.
        var built = 0
        _ = answers.answer(key: "x", source: "one") { built += 1; return ByteBuffer(string: $0) }
        _ = answers.answer(key: "x", source: "one") { built += 1; return ByteBuffer(string: $0) }
        let changed = answers.answer(key: "x", source: "two") { built += 1; return ByteBuffer(string: $0) }
        #expect(built == 2 && String(buffer: changed) == "two")
        // Canonically equivalent but different bytes (é precomposed and decomposed) are different sources.
        #expect(!RecordAnswers.same("\u{e9}", "e\u{301}") && RecordAnswers.same("张三", "张三"))
    }
}
