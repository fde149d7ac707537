import Foundation
import GRDB
import KioskCore
@testable import Registry
import TestSupport
import Testing

/// The outbox on its own: ordering, policies, technician operations, durability, encryption.
@Suite struct OutboxTests {
    static let idNumber = "441900199003181234"
    static let name = "张三"

    static func draft(_ name: String = "东莞市云端测试科技有限公司") -> ApplicationDraft {
        ApplicationDraft(applicant: Applicant(idNumber: idNumber, name: Self.name), proposedName: name, type: "有限责任公司",
                         registeredCapital: "人民币壹佰万元", address: "广东省东莞市南城街道1号", businessScope: "软件开发")
    }

    static func rating(_ visit: String, level: Int = 5) -> RatingRecord {
        RatingRecord(visitId: visit, level: level, reason: nil, serviceCode: "archive-query", formVersion: 1, ratedAt: Date())
    }

    func open(_ dir: TemporaryDirectory, policy: OutboxPolicy = OutboxPolicy()) throws -> Outbox {
        try Outbox(path: dir.path + "/outbox.sqlite", keyFile: dir.path + "/outbox.key", kioskId: "DG-0001", policy: policy)
    }

    @Test func itemsComeOutInOrderPerStreamWithTrackingNumbers() async throws {
        let dir = try TemporaryDirectory(prefix: "outbox")
        defer { dir.remove() }
        let outbox = try open(dir)
        var tickets: [OutboxTicket] = []
        for i in 0..<5 {
            tickets.append(try outbox.enqueueApplication(Self.draft("企业\(i)")))
            try outbox.enqueue(.ratings, Self.rating("v\(i)"))
        }
        let head = try await outbox.head(of: .applications, limit: 10)
        #expect(head.items.map(\.id) == tickets.map(\.id))
        #expect(try await outbox.head(of: .ratings, limit: 10).items.count == 5)
        let numbers = tickets.compactMap(\.trackingNumber)
        #expect(numbers.count == 5 && Set(numbers).count == 5)
        let first = try #require(numbers.first)
        #expect(first.hasPrefix("YT-DG-0001-") && first.hasSuffix("-000001"), "\(first)")
        #expect(try await outbox.applicationState(trackingNumber: first) == .queued)
    }

    @Test func offlineHallNumbersAreOnePerTicketAndStopAtTheBlocksEnd() async throws {
        let dir = try TemporaryDirectory(prefix: "outbox")
        defer { dir.remove() }
        let outbox = try open(dir)
        let first = try await outbox.offlineSequence(ticketId: "t-1", day: "20261204", queue: "A")
        #expect(first == 1)
        // Asked again (a retried key press, a restart): the same number, not the next.
        #expect(try await outbox.offlineSequence(ticketId: "t-1", day: "20261204", queue: "A") == 1)
        #expect(try await outbox.offlineSequence(ticketId: "t-2", day: "20261204", queue: "A") == 2)
        // Another queue and another day start their own count.
        #expect(try await outbox.offlineSequence(ticketId: "t-3", day: "20261204", queue: "B") == 1)
        #expect(try await outbox.offlineSequence(ticketId: "t-4", day: "20261205", queue: "A") == 1)
        #expect(await outbox.hasOfflineSequence(ticketId: "t-2"))
        #expect(!(await outbox.hasOfflineSequence(ticketId: "t-9")))
        try await outbox.database.write { db in
            try db.execute(sql: "INSERT INTO kiosk_offline_number (ticket_id, day, queue, seq) VALUES ('t-last', '20261204', 'A', ?)",
                           arguments: [Outbox.offlineNumbersPerQueue])
        }
        await #expect(throws: OutboxError.self) {
            try await outbox.offlineSequence(ticketId: "t-over", day: "20261204", queue: "A")
        }
        let figure = KnownQueueFigure(waiting: 7, day: "20261204", offlineSince: 3)
        try await outbox.saveQueueFigure("A", figure)
        try await outbox.saveQueueFigure("A", KnownQueueFigure(waiting: 8, day: "20261204", offlineSince: 3))
        #expect(await outbox.queueFigure("A")?.waiting == 8)
        #expect(await outbox.queueFigure("B") == nil)
    }

    /// A kiosk upgraded with the day's offline numbers in its outbox file (kioskd made the tables
    /// itself before) keeps them, and the submission log nothing read is dropped.
    @Test func anUpgradedOutboxKeepsTheDaysOfflineNumbers() async throws {
        let dir = try TemporaryDirectory(prefix: "outbox")
        defer { dir.remove() }
        do {
            let old = try DatabaseQueue(path: dir.path + "/outbox.sqlite")
            try await old.write { db in
                try db.execute(sql: """
                    CREATE TABLE kiosk_submission (outbox_id INTEGER NOT NULL, stream TEXT NOT NULL, tracking_number TEXT,
                        visit_id TEXT, created_at REAL NOT NULL);
                    CREATE TABLE kiosk_offline_number (ticket_id TEXT PRIMARY KEY, day TEXT NOT NULL, queue TEXT NOT NULL,
                        seq INTEGER NOT NULL, UNIQUE (day, queue, seq));
                    INSERT INTO kiosk_offline_number VALUES ('t-1', '20261204', 'A', 1), ('t-2', '20261204', 'A', 2);
                    """)
            }
            // The outbox's own first tables, as an older kiosk has them.
            try Outbox.migrator().migrate(old, upTo: "outbox-v1")
        }
        let outbox = try open(dir)
        #expect(try await outbox.offlineSequence(ticketId: "t-3", day: "20261204", queue: "A") == 3)
        #expect(await outbox.hasOfflineSequence(ticketId: "t-1"))
        let tables = try await outbox.database.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'kiosk_%' ORDER BY name")
        }
        #expect(tables == ["kiosk_offline_number", "kiosk_queue_figure"])
    }

    @Test func anEnqueuedItemSurvivesReopening() async throws {
        let dir = try TemporaryDirectory(prefix: "outbox")
        defer { dir.remove() }
        var ticket: OutboxTicket?
        do {
            let outbox = try open(dir)
            ticket = try outbox.enqueueApplication(Self.draft())
        }
        // A new process opening the same files (the previous connection was never closed cleanly
        // when it was killed; WAL with synchronous=FULL has the commit on disk once enqueue returns).
        let reopened = try open(dir)
        let tracking = try #require(ticket?.trackingNumber)
        #expect(try await reopened.applicationState(trackingNumber: tracking) == .queued)
        let shown = try await reopened.show(id: try #require(ticket?.id))
        #expect(shown.payload.contains("东莞市云端测试科技有限公司"))
        #expect(!shown.payload.contains(Self.idNumber) && !shown.payload.contains(Self.name))  // masked for technicians
    }

    @Test func aTechnicianSeesNoPersonalDataOfAnyItem() async throws {
        let dir = try TemporaryDirectory(prefix: "outbox")
        defer { dir.remove() }
        let outbox = try open(dir)
        let holder = Applicant(idNumber: Self.idNumber, name: Self.name)
        let address = DeliveryAddress(recipient: "张三丰", mobile: "13812345678", address: "东莞市南城区鸿福路 100 号")
        let delivery = try outbox.enqueue(.deliveries, DeliveryRequest(deliveryId: "delivery-0000001", site: "hall-1",
                                                                       documentKind: "social-insurance-certificate", applicant: holder,
                                                                       address: address, requestedAt: Date()))
        let loss = try outbox.enqueue(.cardLosses, CardLossReport(reportId: "GS-loss-00000001", applicant: holder, cardNumber: "A12345678",
                                                                  reportedAt: Date()))
        let certificate = VerificationRecord(code: "C0DE", kind: "social-insurance-certificate",
                                             fields: [["name", Self.name], ["idNumber", Self.idNumber], ["region", "东莞市"]],
                                             sha256: String(repeating: "ab", count: 32))
        let printed = try outbox.enqueue(.printRecords, PrintRecord(visitId: "visit-1", documentKind: "social-insurance-certificate", uscc: nil,
                                                                    verificationCode: "C0DE", outcome: "completed", pages: 1, printedAt: Date(),
                                                                    verification: certificate))
        #expect(try await outbox.show(id: printed.id).payload.contains("东莞市"))
        for ticket in [delivery, loss, printed] {
            let shown = try await outbox.show(id: ticket.id).payload
            #expect(shown.contains("delivery-0000001") || shown.contains("GS-loss-00000001") || shown.contains("C0DE"), "\(shown)")
            for secret in [Self.idNumber, Self.name, "张三丰", "13812345678", "鸿福路", "A12345678"] {
                #expect(!shown.contains(secret), "\(secret) shown: \(shown)")
            }
        }
    }

    @Test func trackingNumbersAreNeverReusedAcrossReopeningAndPurges() async throws {
        let dir = try TemporaryDirectory(prefix: "outbox")
        defer { dir.remove() }
        var numbers: [String] = []
        do {
            let outbox = try open(dir)
            numbers.append(try #require(try outbox.enqueueApplication(Self.draft()).trackingNumber))
            let second = try outbox.enqueueApplication(Self.draft())
            numbers.append(try #require(second.trackingNumber))
            try await outbox.purge(id: second.id, who: "tech-07", why: "citizen withdrew it")
        }
        let reopened = try open(dir)
        numbers.append(try #require(try reopened.enqueueApplication(Self.draft()).trackingNumber))
        #expect(numbers.map { String($0.suffix(6)) } == ["000001", "000002", "000003"])
        // The size policy counts what is there after reopening.
        #expect(try await reopened.status().streams.first { $0.stream == .applications }?.depth == 2)
    }

    @Test func backoffStaysWithinItsBounds() {
        var policy = OutboxPolicy()
        policy.backoffBase = .seconds(1)
        policy.backoffCap = .seconds(60)
        #expect(OutboxPolicy.ceiling(afterAttempts: 1, base: .seconds(1), cap: .seconds(60)) == .seconds(1))
        #expect(OutboxPolicy.ceiling(afterAttempts: 4, base: .seconds(1), cap: .seconds(60)) == .seconds(8))
        #expect(OutboxPolicy.ceiling(afterAttempts: 40, base: .seconds(1), cap: .seconds(60)) == .seconds(60))
        for attempts in 1...20 {
            let ceiling = OutboxPolicy.ceiling(afterAttempts: attempts, base: .seconds(1), cap: .seconds(60))
            let samples = (0..<200).map { _ in policy.backoff(afterAttempts: attempts) }
            #expect(samples.allSatisfy { $0 >= .zero && $0 <= ceiling })
            if attempts > 3 { #expect(samples.contains { $0 < ceiling / 2 }) }  // full jitter, not a fixed wait
        }
    }

    @Test func anExpiredItemBecomesADeadLetterWithItsReason() async throws {
        let dir = try TemporaryDirectory(prefix: "outbox")
        defer { dir.remove() }
        var policy = OutboxPolicy()
        policy.ttl = 3600
        let outbox = try open(dir, policy: policy)
        let ticket = try outbox.enqueueApplication(Self.draft())
        #expect(try await outbox.expire(now: Date().addingTimeInterval(60)) == 0)
        #expect(try await outbox.expire(now: Date().addingTimeInterval(7200)) == 1)
        let tracking = try #require(ticket.trackingNumber)
        guard case .deadLetter(let reason) = try await outbox.applicationState(trackingNumber: tracking) else {
            Issue.record("not a dead letter"); return
        }
        #expect(reason.contains("expired"))
        #expect(try await outbox.status().deadLetters == 1)
    }

    @Test func aPoisonItemBecomesADeadLetterAfterTheThreshold() async throws {
        let dir = try TemporaryDirectory(prefix: "outbox")
        defer { dir.remove() }
        var policy = OutboxPolicy()
        policy.poisonThreshold = 3
        policy.backoffBase = .milliseconds(1)
        let outbox = try open(dir, policy: policy)
        let ticket = try outbox.enqueue(.printRecords, PrintRecord(visitId: "v", documentKind: "business-licence", uscc: nil,
                                                                    verificationCode: nil, outcome: "completed", pages: 1, printedAt: Date()))
        // Connection failures do not count towards poison…
        for _ in 0..<5 {
            let item = try #require(try await outbox.head(of: .printRecords, limit: 1, now: Date().addingTimeInterval(3600)).items.first)
            try await outbox.record([(item, .failed(error: "unreachable", refusal: false))])
        }
        #expect(try await outbox.list(stream: .printRecords).first?.attempts == 5)
        // …refusals do.
        for _ in 0..<3 {
            let item = try #require(try await outbox.head(of: .printRecords, limit: 1, now: Date().addingTimeInterval(3600)).items.first)
            try await outbox.record([(item, .failed(error: "500 internal", refusal: true))])
        }
        let dead = try await outbox.list(deadLetters: true)
        #expect(dead.map(\.id) == [ticket.id])
        #expect(dead.first?.deadReason?.hasPrefix("poison") == true)
    }

    @Test func aFailedHeadHoldsItsStreamButNotOthers() async throws {
        let dir = try TemporaryDirectory(prefix: "outbox")
        defer { dir.remove() }
        var policy = OutboxPolicy()
        policy.backoffBase = .seconds(100)
        policy.backoffCap = .seconds(100)
        let outbox = try open(dir, policy: policy)
        try outbox.enqueue(.ratings, Self.rating("a"))
        try outbox.enqueue(.ratings, Self.rating("b"))
        try outbox.enqueueApplication(Self.draft())
        let head = try #require(try await outbox.head(of: .ratings, limit: 5).items.first)
        // Force a long wait: at least a millisecond is certain only with a retry ceiling; record until it lands in the future.
        var waiting = false
        for _ in 0..<20 where !waiting {
            try await outbox.record([(head, .failed(error: "timeout", refusal: false))])
            waiting = try await outbox.head(of: .ratings, limit: 5).items.isEmpty
        }
        #expect(waiting)  // the whole ratings stream waits behind its head
        #expect(try await outbox.head(of: .applications, limit: 5).items.count == 1)
    }

    /// A row damaged on disk (or sealed under another key) becomes a dead letter with the
    /// reason; the items behind it are delivered, and the stream is not held.
    @Test func aRowThatCannotBeDecryptedIsADeadLetterAndTheOthersFlow() async throws {
        let dir = try TemporaryDirectory(prefix: "outbox-undecryptable")
        defer { dir.remove() }
        let outbox = try open(dir)
        var ids: [Int64] = []
        for i in 0..<3 { ids.append(try outbox.enqueue(.ratings, Self.rating("v\(i)")).id) }
        let damaged = ids[1]
        try await outbox.database.write { db in
            try db.execute(sql: "UPDATE outbox_item SET payload = ? WHERE id = ?", arguments: [Data(repeating: 7, count: 40), damaged])
        }
        let head = try await outbox.head(of: .ratings, limit: 10)
        #expect(head.items.map(\.id) == [ids[0], ids[2]])
        let dead = try await outbox.list(stream: .ratings, deadLetters: true)
        #expect(dead.map(\.id) == [ids[1]])
        #expect(dead.first?.deadReason?.contains("cannot be decrypted") == true)
        #expect(try await outbox.status().streams.first { $0.stream == .ratings }?.deadLetters == 1)
    }

    /// Its key lost, an outbox with sealed items refuses to open and names the file; it never
    /// makes a new key over them. An empty one may start afresh.
    @Test func aMissingKeyWithSealedRowsIsAnError() throws {
        let dir = try TemporaryDirectory(prefix: "outbox-lost-key")
        defer { dir.remove() }
        do {
            let outbox = try open(dir)
            try outbox.enqueue(.ratings, Self.rating("v1"))
        }
        try FileManager.default.removeItem(atPath: dir.path + "/outbox.key")
        #expect {
            try open(dir)
        } throws: { error in
            "\(error)".contains(dir.path + "/outbox.key is missing") && "\(error)".contains("1 item(s)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/outbox.key"), "a new key was made over sealed rows")
        let empty = try TemporaryDirectory(prefix: "outbox-fresh")
        defer { empty.remove() }
        _ = try open(empty)
        #expect(FileManager.default.fileExists(atPath: empty.path + "/outbox.key"))
    }

    /// Technician reads (status, lists, items) and the relay's reads all at once, many more than
    /// the concurrency pool has threads: none may wait for a database reader on a pool thread
    /// while the readers are held by reads that need a pool thread to give them back.
    @Test func readsFromEverySideAtOnceNeverDeadlock() async throws {
        let dir = try TemporaryDirectory(prefix: "outbox")
        defer { dir.remove() }
        let outbox = try open(dir)
        try outbox.enqueueApplication(Self.draft())
        for i in 0..<3 { try outbox.enqueue(.ratings, Self.rating("v\(i)")) }
        try await abortingOnDeadlock(after: 60, "concurrent outbox reads") {
            for _ in 0..<20 {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for i in 0..<48 {
                        group.addTask {
                            switch i % 4 {
                            case 0: _ = try await outbox.status()
                            case 1: _ = try await outbox.list(deadLetters: i % 8 == 1)
                            default: _ = try await outbox.head(of: SubmissionKind.allCases[i % SubmissionKind.allCases.count], limit: 10)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
        }
        #expect(try await outbox.status().depth == 4)
    }

    @Test func sizePolicies() async throws {
        let dir = try TemporaryDirectory(prefix: "outbox")
        defer { dir.remove() }
        var policy = OutboxPolicy()
        policy.ratingCap = 3
        policy.applicationHardCap = 2
        let outbox = try open(dir, policy: policy)
        for i in 0..<3 { try outbox.enqueue(.ratings, Self.rating("v\(i)")) }
        #expect(throws: OutboxError.full(stream: .ratings, limit: 3)) { try outbox.enqueue(.ratings, Self.rating("v9")) }
        for _ in 0..<2 { try outbox.enqueueApplication(Self.draft()) }
        #expect(throws: OutboxError.full(stream: .applications, limit: 2)) { try outbox.enqueueApplication(Self.draft()) }
        for depth in 0..<5 {
            try outbox.enqueue(.heartbeats, Heartbeat(deviceStatus: ["reader": "ok"], outboxDepth: depth, configVersion: "1", sentAt: Date()))
        }
        let beats = try await outbox.list(stream: .heartbeats)
        #expect(beats.count == 1)  // coalesced to the newest
        let newest = try await outbox.show(id: try #require(beats.first?.id)).payload
        #expect(newest.contains("\"outboxDepth\":4"))
        #expect(throws: OutboxError.invalidArgument("applications are queued with enqueueApplication")) {
            try outbox.enqueue(.applications, Self.rating("x"))
        }
    }

    @Test func retryAndPurgeAreAudited() async throws {
        let dir = try TemporaryDirectory(prefix: "outbox")
        defer { dir.remove() }
        let outbox = try open(dir)
        let a = try outbox.enqueueApplication(Self.draft())
        let b = try outbox.enqueue(.ratings, Self.rating("v"))
        let item = try #require(try await outbox.head(of: .applications, limit: 1).items.first)
        try await outbox.record([(item, .rejected(reason: "refused by the registry: 422 submission.invalid"))])
        #expect(try await outbox.list(deadLetters: true).map(\.id) == [a.id])
        await #expect(throws: OutboxError.invalidArgument("say who you are and why (both are kept in the audit trail)")) {
            try await outbox.retry(id: a.id, who: "", why: "")
        }
        try await outbox.retry(id: a.id, who: "tech-07", why: "registry fixed its validation")
        #expect(try await outbox.list(stream: .applications).map(\.id) == [a.id])
        #expect(try await outbox.list(deadLetters: true).isEmpty)
        try await outbox.purge(id: b.id, who: "tech-07", why: "test rating")
        await #expect(throws: OutboxError.notFound(b.id)) { try await outbox.purge(id: b.id, who: "tech-07", why: "again") }
        let trail = try await outbox.auditTrail()
        #expect(trail.map(\.action) == ["purge", "retry"])
        #expect(trail.allSatisfy { $0.who == "tech-07" })
    }

    /// The depths kept in memory (what the heartbeat asks every 100 ms) agree with the database
    /// after every kind of change: enqueue, a coalesced heartbeat, delivery, refusal, dead letter,
    /// retry, purge and reopening.
    @Test func depthsKeptInMemoryFollowTheDatabase() async throws {
        let dir = try TemporaryDirectory(prefix: "outbox-depths")
        defer { dir.remove() }
        var outbox = try open(dir)
        func agrees(_ step: String) async throws {
            let status = try await outbox.status()
            for stream in status.streams {
                #expect(outbox.depth(of: stream.stream) == stream.depth, "\(step): \(stream.stream)")
            }
            #expect(outbox.depth() == status.depth, "\(step): all streams")
        }
        try await agrees("empty")
        let application = try outbox.enqueueApplication(Self.draft())
        let first = try outbox.enqueue(.ratings, Self.rating("a"))
        try outbox.enqueue(.ratings, Self.rating("b"))
        for _ in 0..<3 { try outbox.enqueue(.heartbeats, Heartbeat(deviceStatus: [:], outboxDepth: 0, configVersion: "embedded", sentAt: Date())) }
        try await agrees("enqueued, heartbeats coalesced")
        #expect(outbox.depth(of: .heartbeats) == 1 && outbox.depth() == 4)
        let heartbeat = try #require(try await outbox.head(of: .heartbeats, limit: 1).items.first)
        try await outbox.record([(heartbeat, .delivered(registryNumber: ""))])
        try await agrees("heartbeat delivered")
        let rating = try #require(try await outbox.head(of: .ratings, limit: 1).items.first)
        try await outbox.record([(rating, .failed(error: "timeout", refusal: false))])
        try await agrees("rating failed once")
        let head = try #require(try await outbox.head(of: .applications, limit: 1).items.first)
        try await outbox.record([(head, .rejected(reason: "refused by the registry: 422 submission.invalid"))])
        try await agrees("application a dead letter")
        try await outbox.retry(id: application.id, who: "tech-07", why: "fixed")
        try await agrees("application retried")
        try await outbox.purge(id: first.id, who: "tech-07", why: "test rating")
        try await agrees("rating purged")
        outbox = try open(dir)
        try await agrees("reopened")
        #expect(outbox.depth(of: .applications) == 1 && outbox.depth(of: .ratings) == 1 && outbox.depth() == 2)
    }

    @Test func noPersonalDataIsOnDiskInClear() throws {
        let dir = try TemporaryDirectory(prefix: "outbox")
        defer { dir.remove() }
        let outbox = try open(dir)
        for _ in 0..<20 { try outbox.enqueueApplication(Self.draft()) }
        var info = stat()
        #expect(stat(dir.path + "/outbox.key", &info) == 0 && info.st_mode & 0o777 == 0o600)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("outbox.sqlite") }
        #expect(files.contains("outbox.sqlite-wal"))
        for file in files {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: dir.path + "/" + file))
            for secret in [Self.idNumber, Self.name, "441900********1234"] {
                #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(secret) in \(file)")
            }
        }
        // A key readable by others is refused.
        chmod(dir.path + "/outbox.key", 0o644)
        #expect(throws: OutboxError.self) { _ = try open(dir) }
    }
}
