import Foundation
import KioskCore
import Registry
import TestSupport
import Testing

/// registryd on PostgreSQL (a private server from `scripts/testbeds/postgres.sh`): signed reads,
/// and the relay's deliveries recorded once each.
@Suite(.serialized) struct RegistrydPostgresTests {
    @Test func servesAndRecordsOnPostgres() async throws {
        let postgres = try PostgresTestBed(prefix: "registryd-pg")
        defer { postgres.stop() }
        let socket = postgres.socket
        let credentials = try KioskCredentials.generate(kioskId: "DG-0001")
        let registry = try RegistrydProcess(database: "", seed: BuiltProducts.repositoryPath("scripts/testbeds/demo-seed.json"),
                                            kiosks: [(credentials.kioskId, credentials.publicKeyBase64)],
                                            storeArguments: ["--postgres-socket", socket])
        defer { registry.stop() }
        let client = RegistryClient(configuration: RegistryClientConfiguration(baseURL: registry.baseURL, credentials: credentials))
        #expect(try await client.enterprise(uscc: "91441900100000008X").legalRepresentative == "张三")
        #expect(try await client.authorizePrint(kind: .businessLicence, uscc: "91441900100000008X", idNumber: "441900199003181234").allowed)

        let outbox = try Outbox(path: postgres.path + "/outbox.sqlite", keyFile: postgres.path + "/outbox.key", kioskId: "DG-0001")
        for i in 0..<50 {
            try outbox.enqueue(.ratings, RatingRecord(visitId: "visit-\(i)", level: 5, reason: nil, serviceCode: "archive-query",
                                                      formVersion: 1, ratedAt: Date()))
        }
        let relay = OutboxRelay(outbox: outbox, client: client)
        let task = Task { try await relay.run() }
        let deadline = Date().addingTimeInterval(20)
        while try await outbox.status().depth > 0, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        task.cancel()
        _ = await task.result
        #expect(try await outbox.status().depth == 0)
        #expect(try postgres.psql("SELECT count(*), count(DISTINCT idempotency_key) FROM submission WHERE kind = 'ratings'") == "50|50")
        // Registry numbers carry the row's id in at least eight digits; a heartbeat marks its kiosk seen.
        let number = try postgres.psql("SELECT registry_number FROM submission WHERE kind = 'ratings' ORDER BY id LIMIT 1")
        #expect(number.range(of: #"^PJ-\d{8}-\d{8}$"#, options: .regularExpression) != nil, "\(number)")
        #expect(try postgres.psql("SELECT last_heartbeat_at IS NULL FROM kiosk WHERE id = 'DG-0001'") == "t", "ratings do not mark the kiosk seen")
        _ = try postgres.psql("SELECT setval('submission_id_seq', 123456788)")
        let heartbeat = try RegistryJSON.encoder().encode(Heartbeat(deviceStatus: ["reader": "ok"], outboxDepth: 0, configVersion: "1", sentAt: Date()))
        let beat = try await client.submit(kind: .heartbeats, idempotencyKey: "pg-heartbeat-0001", body: heartbeat)
        #expect(beat.registryNumber.hasPrefix("XT-") && beat.registryNumber.hasSuffix("-123456789"), "\(beat.registryNumber)")
        // Kept as the kiosk's newest state, not as a submission.
        #expect(try postgres.psql("SELECT registry_number FROM kiosk_status WHERE kiosk_id = 'DG-0001'") == beat.registryNumber)
        #expect(try postgres.psql("SELECT count(*) FROM submission WHERE kind = 'heartbeats'") == "0")
        #expect(try postgres.psql("SELECT last_heartbeat_at IS NOT NULL FROM kiosk WHERE id = 'DG-0001'") == "t")
    }

    /// The hall on PostgreSQL through a live registryd: numbers, a counter's call, a check-in, an
    /// application's progress moved by the back office, a delivery listed and marked; each key in its role.
    @Test func theHallOnPostgres() async throws {
        let postgres = try PostgresTestBed(prefix: "registryd-pg-hall")
        defer { postgres.stop() }
        let socket = postgres.socket
        let kiosk = try KioskCredentials.generate(kioskId: "PG-K01"), counter = try KioskCredentials.generate(kioskId: "PG-W01")
        let booking = try KioskCredentials.generate(kioskId: "PG-BOOK"), office = try KioskCredentials.generate(kioskId: "PG-OFFICE")
        let registry = try RegistrydProcess(database: "", kiosks: [(kiosk.kioskId, kiosk.publicKeyBase64)],
                                            storeArguments: ["--postgres-socket", socket], site: "pg-hall")
        defer { registry.stop() }
        try registry.register(counter.kioskId, publicKey: counter.publicKeyBase64, role: "counter", site: "pg-hall")
        try registry.register(booking.kioskId, publicKey: booking.publicKeyBase64, role: "booking")
        try registry.register(office.kioskId, publicKey: office.publicKeyBase64, role: "backoffice")
        func client(_ c: KioskCredentials) -> RegistryClient {
            RegistryClient(configuration: RegistryClientConfiguration(baseURL: registry.baseURL, credentials: c))
        }
        let encoder = RegistryJSON.encoder()
        let ticket = try await client(kiosk).reserveTicket(site: "pg-hall", TicketRequest(ticketId: "pg-ticket-0001", queue: "A", serviceCode: "SC-ESTATE"))
        #expect(ticket.number == "A001" && ticket.state == .reserved)
        _ = try await client(kiosk).submit(kind: .tickets, idempotencyKey: "pg-r1", body: try encoder.encode(TicketReport(
            ticketId: ticket.ticketId, site: "pg-hall", queue: "A", number: ticket.number, serviceCode: "SC-ESTATE", issuedAt: ticket.issuedAt, offline: false)))
        let now = Date()
        _ = try await client(booking).storeAppointment(Appointment(id: "pg-booking-0001", site: "pg-hall", serviceCode: "SC-FUND", queue: "A",
                                                                   idNumber: "441900199003181234", name: "张三", startsAt: HallDayTime.startOfDay(now, within: 60),
                                                                   endsAt: HallDayTime.endOfDay(now, within: 600)))
        let priority = try await client(kiosk).checkIn(site: "pg-hall", CheckInRequest(idNumber: "441900199003181234", ticketId: "pg-ticket-0002"))
        _ = try await client(kiosk).submit(kind: .tickets, idempotencyKey: "pg-r2", body: try encoder.encode(TicketReport(
            ticketId: priority.ticketId, site: "pg-hall", queue: "A", number: priority.number, serviceCode: "SC-FUND", issuedAt: priority.issuedAt, offline: false)))
        #expect(try await client(counter).callNext(site: "pg-hall", queue: "A", counter: 1, idempotencyKey: "press-1").number == priority.number)
        #expect(try await client(counter).callNext(site: "pg-hall", queue: "A", counter: 1, idempotencyKey: "press-2").number == "A001")

        let application = ApplicationSubmission(trackingNumber: "YT-PG-K01-20261203-000001", applicant: Applicant(idNumber: "441900199003181234", name: "张三"),
                                                proposedName: "演示市数据库有限公司", type: "有限责任公司", registeredCapital: "10万", address: "演示市",
                                                businessScope: "软件", submittedAt: now,
                                                delivery: DeliveryAddress(recipient: "张三", mobile: "13812345678", address: "演示市高新区创业路 277 号"))
        _ = try await client(kiosk).submit(kind: .applications, idempotencyKey: "pg-a1", body: try encoder.encode(application))
        let moved = try await client(office).setStatus(number: application.trackingNumber, StatusChange(status: .approved, note: nil), idempotencyKey: "pg-s1")
        #expect(moved.status == .approved)
        #expect(try await client(kiosk).progress(idNumber: "441900199003181234").first?.status == .approved)
        var headers = counter.headers(method: "GET", pathAndQuery: "/v1/deliveries", body: Data(), now: Date())
        headers.append(("Accept", "application/json"))
        let listed = try RawHTTPConnection.request(port: registry.port, "GET", "/v1/deliveries", headers: headers)
        #expect(listed?.status == 200 && listed?.body.contains(application.trackingNumber) == true, "\(String(describing: listed))")
        // Roles hold on PostgreSQL too.
        do {
            _ = try await client(kiosk).callNext(site: "pg-hall", queue: "A", counter: 1, idempotencyKey: "press-3")
            Issue.record("a kiosk called a number")
        } catch {
            if case .refused(let problem) = error { #expect(problem.code == "auth.wrong-role") } else { Issue.record("\(error)") }
        }
    }

    /// PostgreSQL killed while a kiosk's relay delivers and citizens look things up: registryd
    /// answers 503 `store.unavailable` at once (no request waits on a pool that cannot connect),
    /// its health says so, the relay keeps every item (a registry that is away is not the item's
    /// fault, however many times it is tried), and once the server is back registryd serves again
    /// by itself and everything is recorded exactly once.
    @Test func aDatabaseOutageIsA503AndNothingIsLost() async throws {
        let postgres = try PostgresTestBed(prefix: "registryd-pg-outage")
        defer { postgres.stop() }
        let credentials = try KioskCredentials.generate(kioskId: "DG-0002")
        let registry = try RegistrydProcess(database: "", seed: BuiltProducts.repositoryPath("scripts/testbeds/demo-seed.json"),
                                            kiosks: [(credentials.kioskId, credentials.publicKeyBase64)],
                                            storeArguments: ["--postgres-socket", postgres.socket])
        defer { registry.stop() }
        func lookup() throws -> (status: Int, body: String, seconds: Double)? {
            let path = "/v1/enterprises/91441900100000008X"
            let started = Date()
            let answer = try RawHTTPConnection.request(port: registry.port, "GET", path,
                                                       headers: credentials.headers(method: "GET", pathAndQuery: path, body: Data(), now: Date()),
                                                       timeout: 30)
            return answer.map { ($0.status, $0.body, Date().timeIntervalSince(started)) }
        }
        func health() -> Int? { (try? RawHTTPConnection.request(port: registry.port, "GET", "/v1/health", timeout: 5))??.status }
        #expect(try lookup()?.status == 200)

        var config = RegistryClientConfiguration(baseURL: registry.baseURL, credentials: credentials)
        config.breakerThreshold = 1000
        let client = RegistryClient(configuration: config)
        var policy = OutboxPolicy()
        policy.poisonThreshold = 2
        policy.backoffBase = .milliseconds(200)
        policy.backoffCap = .milliseconds(400)
        let outbox = try Outbox(path: postgres.path + "/outbox.sqlite", keyFile: postgres.path + "/outbox.key", kioskId: "DG-0002", policy: policy)
        let relay = OutboxRelay(outbox: outbox, client: client, idleInterval: .milliseconds(200))
        let task = Task { try await relay.run() }
        defer { task.cancel() }
        func rate(_ range: Range<Int>) throws {
            for i in range {
                try outbox.enqueue(.ratings, RatingRecord(visitId: "outage-\(i)", level: 4, reason: nil, serviceCode: "archive-query",
                                                          formVersion: 1, ratedAt: Date()))
            }
        }
        try rate(0..<20)

        try postgres.halt()
        try rate(20..<40)
        // Every answer comes at once: 503 from the request that met the dead connection on.
        var answers: [(status: Int, body: String, seconds: Double)] = []
        for _ in 0..<10 { if let answer = try lookup() { answers.append(answer) } }
        #expect(answers.count == 10)
        #expect(answers.allSatisfy { $0.status == 503 && $0.body.contains("store.unavailable") }, "\(answers.map(\.status))")
        #expect(answers.allSatisfy { $0.seconds < 3 }, "\(answers.map(\.seconds))")
        #expect(eventually(10) { health() == 503 })
        // The relay meets the outage more often than its poison threshold; nothing becomes a dead letter.
        #expect(await waitUntil(20) { ((try? await outbox.list(stream: .ratings)) ?? []).contains { $0.attempts >= 4 } })
        #expect(try await outbox.status().deadLetters == 0)
        #expect(try await outbox.status().depth > 0)

        try postgres.resume()
        #expect(eventually(30) { health() == 200 })
        let after = try lookup()
        #expect(after?.status == 200, "\(String(describing: after))")
        relay.wake()
        #expect(await waitUntil(60) { ((try? await outbox.status().depth) ?? 1) == 0 })
        #expect(try await outbox.status().deadLetters == 0)
        #expect(try postgres.psql("SELECT count(*), count(DISTINCT idempotency_key) FROM submission WHERE kind = 'ratings'") == "40|40")
    }
}
