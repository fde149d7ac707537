import Foundation
import KioskCore
@testable import Registry
import TestSupport
import Testing

/// The query cache answers with the registry's data, and with its own (and its age) when the
/// registry cannot be reached; it keeps public data only.
@Suite struct QueryCacheTests {
    static func record() throws -> EnterpriseRecord {
        let day = try #require(CalendarDate(year: 2020, month: 1, day: 2))
        return EnterpriseRecord(
        enterprise: Enterprise(uscc: "91441900100000008X", name: "东莞市云端测试科技有限公司", type: "有限责任公司", legalRepresentative: "张三",
                               registeredCapital: "人民币壹佰万元", establishedOn: day,
                               termFrom: day, termUntil: nil, address: "东莞市",
                               businessScope: "软件", authority: "东莞市市场监督管理局", issuedOn: day),
        legalRepresentativeIdNumber: "441900199003181234", status: "存续", archive: [])
    }

    @Test func servesCachedPublicDataWhenTheRegistryIsDown() async throws {
        let dir = try TemporaryDirectory(prefix: "cache")
        defer { dir.remove() }
        let up = Counter()
        // The registry answers the full record (as a careless one might): only the public part is kept.
        let full = try RegistryJSON.encoder().encode(try Self.record())
        let server = try LoopbackHTTPServer { _ in up.next() < 2 ? .reply(status: 200, body: full) : .reset }
        defer { server.stop() }
        var config = RegistryClientConfiguration(baseURL: server.baseURL, credentials: try KioskCredentials.generate(kioskId: "k"))
        config.maxAttempts = 1
        let client = RegistryClient(configuration: config)
        let cache = try QueryCache(path: dir.path + "/cache.sqlite")
        let fresh = try await cache.archive(uscc: "91441900100000008X", via: client)
        #expect(!fresh.fromCache && fresh.value.status == "存续")
        _ = try await cache.enterprise(uscc: "91441900100000008X", via: client)
        let cached = try await cache.archive(uscc: "91441900100000008X", via: client)
        #expect(cached.fromCache && cached.value.enterprise.name == "东莞市云端测试科技有限公司" && cached.ageSeconds() < 60)
        let licence = try await cache.enterprise(uscc: "91441900100000008X", via: client)
        #expect(licence.fromCache)
        // Nothing cached for an unknown enterprise: the failure is the registry's.
        await #expect(throws: RegistryClientError.self) { _ = try await cache.enterprise(uscc: "91350100M000100Y43", via: client) }
        // Too old is not shown.
        #expect(await cache.archive(uscc: "91441900100000008X", now: Date().addingTimeInterval(31 * 24 * 3600)) == nil)
        for file in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: dir.path + "/" + file))
            #expect(bytes.range(of: Data("441900199003181234".utf8)) == nil, "\(file)")
        }
    }
}
