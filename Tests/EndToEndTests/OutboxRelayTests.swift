import Foundation
import GRDB
import KioskCore
import Registry
import TestSupport
import Testing

/// The outbox relay delivering to a live registryd: normally, after the registry was down the
/// whole time items were queued, and while registryd is SIGKILLed and restarted again and again.
@Suite(.serialized) struct OutboxRelayTests {
    static let seed = BuiltProducts.repositoryPath("scripts/testbeds/demo-seed.json")

    struct Bed {
        let dir: TemporaryDirectory
        let registry: RegistrydProcess
        let outbox: Outbox
        let relay: OutboxRelay
    }

    static func bed(startRegistry: Bool = true, batchSize: Int = 200) throws -> Bed {
        let dir = try TemporaryDirectory(prefix: "relay-e2e")
        let credentials = try KioskCredentials.generate(kioskId: "DG-0001")
        let registry = try RegistrydProcess(database: dir.path + "/registry.sqlite", seed: seed,
                                            kiosks: [(credentials.kioskId, credentials.publicKeyBase64)], start: startRegistry)
        var policy = OutboxPolicy()
        policy.backoffBase = .milliseconds(20)
        policy.backoffCap = .milliseconds(200)
        policy.batchSize = batchSize
        let outbox = try Outbox(path: dir.path + "/outbox.sqlite", keyFile: dir.path + "/outbox.key", kioskId: "DG-0001", policy: policy)
        var config = RegistryClientConfiguration(baseURL: registry.baseURL, credentials: credentials)
        config.deadline = .seconds(3)
        config.attemptTimeout = .seconds(2)
        config.maxAttempts = 1
        config.breakerCooldown = .milliseconds(100)
        let relay = OutboxRelay(outbox: outbox, client: RegistryClient(configuration: config), idleInterval: .milliseconds(500))
        return Bed(dir: dir, registry: registry, outbox: outbox, relay: relay)
    }

    /// Queues `count` applications, ratings and print records (and a heartbeat), interleaved.
    static func fill(_ outbox: Outbox, count: Int) throws -> [String] {
        var tracking: [String] = []
        for i in 0..<count {
            let ticket = try outbox.enqueueApplication(ApplicationDraft(
                applicant: Applicant(idNumber: "441900199003181234", name: "张三"), proposedName: "测试企业\(i)", type: "有限责任公司",
                registeredCapital: "人民币壹拾万元", address: "东莞市", businessScope: "软件"))
            tracking.append(ticket.trackingNumber ?? "")
            try outbox.enqueue(.ratings, RatingRecord(visitId: String(format: "visit-%06d", i), level: 1 + i % 5, reason: nil,
                                                      serviceCode: "archive-query", formVersion: 1, ratedAt: Date()))
            try outbox.enqueue(.printRecords, PrintRecord(visitId: String(format: "visit-%06d", i), documentKind: "business-licence",
                                                          uscc: "91441900100000008X", verificationCode: nil, outcome: "completed", pages: 1,
                                                          printedAt: Date()))
        }
        try outbox.enqueue(.heartbeats, Heartbeat(deviceStatus: ["reader": "ok"], outboxDepth: count * 3, configVersion: "1", sentAt: Date()))
        return tracking
    }

    /// Runs the relay until the outbox is empty (or `timeout`), with `meanwhile` alongside.
    static func drain(_ bed: Bed, timeout: Double = 60, meanwhile: @escaping @Sendable () async throws -> Void = {}) async throws {
        let relay = bed.relay
        let task = Task { try await relay.run() }
        defer { task.cancel() }
        try await meanwhile()
        let deadline = Date().addingTimeInterval(timeout)
        while try await bed.outbox.status().depth > 0, Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        task.cancel()
        _ = await task.result
    }

    /// Every item arrived exactly once and in order per stream.
    static func verify(_ bed: Bed, tracking: [String], count: Int) async throws {
        #expect(try await bed.outbox.status().depth == 0)
        #expect(try await bed.outbox.status().deadLetters == 0)
        let registry = try DatabaseQueue(path: bed.registry.database)
        try await registry.read { db in
            for kind in ["applications", "ratings", "print-records"] {
                #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM submission WHERE kind = ?", arguments: [kind]) == count, "\(kind)")
                #expect(try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT idempotency_key) FROM submission WHERE kind = ?", arguments: [kind]) == count)
            }
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM kiosk_status WHERE registry_number LIKE 'XT-%'") == 1)
            let delivered = try String.fetchAll(db, sql: "SELECT tracking_number FROM submission WHERE kind = 'applications' ORDER BY id")
            #expect(delivered == tracking)  // each once, in the order queued
            let visits = try String.fetchAll(db, sql: "SELECT visit_id FROM submission WHERE kind = 'ratings' ORDER BY id")
            #expect(visits == visits.sorted() && Set(visits).count == count)
        }
        for number in [tracking.first, tracking.last].compactMap({ $0 }) {
            let registryNumber = try await bed.outbox.registryNumber(trackingNumber: number)
            let recorded = try await registry.read { db in
                try String.fetchOne(db, sql: "SELECT registry_number FROM submission WHERE tracking_number = ?", arguments: [number])
            }
            #expect(registryNumber != nil && registryNumber == recorded)
        }
    }

    @Test func drainsToALiveRegistry() async throws {
        let bed = try Self.bed()
        defer { bed.registry.stop(); bed.dir.remove() }
        let tracking = try Self.fill(bed.outbox, count: 300)
        try await Self.drain(bed, timeout: 30)
        try await Self.verify(bed, tracking: tracking, count: 300)
    }

    @Test func anEnqueueWakesTheRelayAndARefusedItemIsADeadLetterAtOnce() async throws {
        let dir = try TemporaryDirectory(prefix: "relay-wake")
        defer { dir.remove() }
        let credentials = try KioskCredentials.generate(kioskId: "DG-0001")
        let registry = try RegistrydProcess(database: dir.path + "/registry.sqlite", kiosks: [(credentials.kioskId, credentials.publicKeyBase64)])
        defer { registry.stop() }
        let outbox = try Outbox(path: dir.path + "/outbox.sqlite", keyFile: dir.path + "/outbox.key", kioskId: "DG-0001")
        let relay = OutboxRelay(outbox: outbox, client: RegistryClient(configuration: RegistryClientConfiguration(baseURL: registry.baseURL, credentials: credentials)),
                                idleInterval: .seconds(60))
        let task = Task { try await relay.run() }
        defer { task.cancel() }
        #expect(await waitUntil(10) { relay.isIdle })  // nothing to send: idle for up to a minute
        func rating(_ visit: String, _ level: Int) -> RatingRecord {
            RatingRecord(visitId: visit, level: level, reason: nil, serviceCode: "archive-query", formVersion: 1, ratedAt: Date())
        }
        let bad = try outbox.enqueue(.ratings, rating("v1", 9))  // the registry refuses a level 9 for good
        let good = try outbox.enqueue(.ratings, rating("v2", 5))
        let start = Date()
        while try await outbox.status().depth > 0, Date().timeIntervalSince(start) < 5 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(Date().timeIntervalSince(start) < 2)
        let dead = try await outbox.list(deadLetters: true)
        #expect(dead.map(\.id) == [bad.id])
        #expect(dead.first?.deadReason?.contains("submission.invalid") == true)
        #expect(try await outbox.list().isEmpty && good.id > bad.id)  // the item behind it went on
    }

    @Test func deliversEverythingOnceTheRegistryComesUp() async throws {
        let bed = try Self.bed(startRegistry: false)
        defer { bed.registry.stop(); bed.dir.remove() }
        let relay = bed.relay
        let task = Task { try await relay.run() }
        let tracking = try Self.fill(bed.outbox, count: 100)  // the registry is down the whole time
        // The relay tried and failed: the head of a stream holds the error.
        #expect(await waitUntil(10) { ((try? await bed.outbox.status())?.streams.contains { $0.lastError != nil }) == true })
        #expect(try await bed.outbox.status().depth == 301)
        try bed.registry.start()
        let deadline = Date().addingTimeInterval(30)
        while try await bed.outbox.status().depth > 0, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        task.cancel()
        _ = await task.result
        try await Self.verify(bed, tracking: tracking, count: 100)
    }

    @Test func everyItemIsRecordedOnceThoughTheRegistryIsKilledAgainAndAgain() async throws {
        let bed = try Self.bed(batchSize: 25)
        defer { bed.registry.stop(); bed.dir.remove() }
        let tracking = try Self.fill(bed.outbox, count: 400)
        let registry = bed.registry
        let outbox = bed.outbox
        let kills = KillCount()
        try await Self.drain(bed, timeout: 60) {
            for _ in 0..<6 {
                try await Task.sleep(for: .milliseconds(Int.random(in: 40...120)))
                if try await outbox.status().depth == 0 { break }
                registry.kill()
                kills.add()
                try registry.start(seedAgain: false)
            }
        }
        #expect(kills.value >= 3)  // killed while items were still being delivered
        try await Self.verify(bed, tracking: tracking, count: 400)
    }
}

final class KillCount: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func add() { lock.withLock { count += 1 } }
}
