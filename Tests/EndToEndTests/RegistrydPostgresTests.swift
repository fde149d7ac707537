import Foundation
import KioskCore
import Registry
import TestSupport
import Testing

/// registryd on PostgreSQL (a private server from `scripts/testbeds/postgres.sh`): signed reads,
/// and the relay's deliveries recorded once each.
@Suite(.serialized) struct RegistrydPostgresTests {
    @Test func servesAndRecordsOnPostgres() async throws {
        let dir = try TemporaryDirectory(prefix: "registryd-pg")
        let script = BuiltProducts.repositoryPath("scripts/testbeds/postgres.sh")
        let started = try ProcessRunner.runScript("/bin/bash", [script, "start", dir.path + "/pg"], timeout: 120)
        defer { _ = try? ProcessRunner.runScript("/bin/bash", [script, "stop", dir.path + "/pg"]); dir.remove() }
        try #require(started.status == 0, "\(started.stderr)")
        let socket = try #require(readEnvironmentFile(dir.path + "/pg/env")["YITIJI_PG_SOCKET"])
        let credentials = try KioskCredentials.generate(kioskId: "DG-0001")
        let registry = try RegistrydProcess(database: "", seed: BuiltProducts.repositoryPath("scripts/testbeds/demo-seed.json"),
                                            kiosks: [(credentials.kioskId, credentials.publicKeyBase64)],
                                            storeArguments: ["--postgres-socket", socket])
        defer { registry.stop() }
        let client = RegistryClient(configuration: RegistryClientConfiguration(baseURL: registry.baseURL, credentials: credentials))
        #expect(try await client.enterprise(uscc: "91441900100000008X").legalRepresentative == "张三")
        #expect(try await client.authorizePrint(kind: .businessLicence, uscc: "91441900100000008X", idNumber: "441900199003181234").allowed)

        let outbox = try Outbox(path: dir.path + "/outbox.sqlite", keyFile: dir.path + "/outbox.key", kioskId: "DG-0001")
        for i in 0..<50 {
            try outbox.enqueue(.ratings, RatingRecord(visitId: "visit-\(i)", level: 5, reason: nil, serviceCode: "archive-query",
                                                      formVersion: 1, ratedAt: Date()))
        }
        let relay = OutboxRelay(outbox: outbox, client: client)
        let task = Task { try await relay.run() }
        let deadline = Date().addingTimeInterval(20)
        while try outbox.status().depth > 0, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        task.cancel()
        _ = await task.result
        #expect(try outbox.status().depth == 0)
        let host = (socket as NSString).deletingLastPathComponent
        let port = String(socket.split(separator: ".").last ?? "5432")
        let counted = try ProcessRunner.run("/usr/bin/psql", ["-h", host, "-p", port, "-U", "registry", "-tAc",
                                                              "SELECT count(*), count(DISTINCT idempotency_key) FROM submission WHERE kind = 'ratings'", "registry"])
        #expect(counted.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "50|50", "\(counted.stderr)")
    }
}
