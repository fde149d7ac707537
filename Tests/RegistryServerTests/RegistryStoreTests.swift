import Foundation
import GRDB
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
        // A key new in a batch and sent again in it: the same receipt; with another body, 409.
        let twice = try await store.submit(kioskId: "DG-0001", [
            try item(.ratings, key: "k5", rating("v5")),
            try item(.ratings, key: "k5", rating("v5")),
            try item(.ratings, key: "k5", rating("v6")),
        ], now: now)
        guard case .success(let fifth)?? = twice.first, case .success(let repeated)?? = twice.dropFirst().first else {
            Issue.record("not recorded once: \(twice)")
            return
        }
        #expect(fifth == repeated)
        if case .failure(let problem)?? = twice.last { #expect(problem.code == "idempotency.key-reused") } else { Issue.record("\(twice)") }
        // A visit new in a batch, rated again in it under other keys: the same receipt for the same
        // body (a resend whose key was lost), a refusal for another rating.
        let visitTwice = try await store.submit(kioskId: "DG-0001", [
            try item(.ratings, key: "k6", rating("v7")),
            try item(.ratings, key: "k7", rating("v7")),
            try item(.ratings, key: "k8", rating("v7", level: 2)),
        ], now: now)
        guard case .success(let rated)?? = visitTwice.first, case .success(let resent)?? = visitTwice.dropFirst().first else {
            Issue.record("the visit was not recorded once: \(visitTwice)")
            return
        }
        #expect(rated == resent)
        if case .failure(let problem)?? = visitTwice.last { #expect(problem.code == "rating.duplicate-visit") } else { Issue.record("\(visitTwice)") }
        // The same key from another kiosk is another request.
        #expect(try await store.submit(kioskId: "DG-0002", [try item(.ratings, key: "k1", rating("v1"))], now: now).first??.isSuccess == true)
        #expect(try await store.forgetIdempotencyKeys(before: now.addingTimeInterval(-3600)) == 0)

        try await exerciseHeartbeats(store, now: now)

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

    /// Heartbeats are kept as the kiosk's newest state: a number each from the submissions'
    /// sequence, no submission row or kept key, the same receipt for a resend of the newest, a
    /// late older one answered but not kept, and a clock running ahead pins nothing.
    static func exerciseHeartbeats(_ store: any RegistryStore, now: Date) async throws {
        func beat(_ devices: [String: String], depth: Int = 0, version: String = "fleet=3", sent: Date) -> Heartbeat {
            Heartbeat(deviceStatus: devices, outboxDepth: depth, configVersion: version, sentAt: Date(timeIntervalSince1970: sent.timeIntervalSince1970.rounded(.down)))
        }
        func newest() async throws -> Heartbeat? { try await store.kiosks().first { $0.id == "DG-0001" }?.lastHeartbeat }
        func number(_ result: Result<SubmissionReceipt, Problem>??) throws -> Int {
            let receipt = try #require(try result??.get())
            return try #require(Int(receipt.registryNumber.split(separator: "-").last ?? ""))
        }
        let first = beat(["reader": "ok", "printer.a4": "ok"], sent: now)
        let sent = try await store.submit(kioskId: "DG-0001", [try item(.heartbeats, key: "hb-1", first)], now: now)
        let receipt = try #require(try sent.first??.get())
        #expect(receipt.registryNumber.hasPrefix("XT-"))
        #expect(try await newest() == first)
        #expect(try await store.kiosks().first { $0.id == "DG-0001" }?.lastHeartbeatAt != nil)
        // The same heartbeat again: the same receipt; another body under its key, or a rating's key: 409.
        #expect(try await store.submit(kioskId: "DG-0001", [try item(.heartbeats, key: "hb-1", first)], now: now.addingTimeInterval(5)).first??.get() == receipt)
        var changed = first
        changed.outboxDepth = 7
        #expect(code(try #require(try await store.submit(kioskId: "DG-0001", [try item(.heartbeats, key: "hb-1", changed)], now: now).first ?? nil)) == "idempotency.key-reused")
        #expect(code(try #require(try await store.submit(kioskId: "DG-0001", [try item(.heartbeats, key: "k1", changed)], now: now).first ?? nil)) == "idempotency.key-reused")
        // A newer one replaces the state; an older one arriving late is answered and not kept.
        let second = beat(["reader": "ok", "printer.a4": "online/paper-out/toner-low"], depth: 250, sent: now.addingTimeInterval(60))
        let late = beat(["reader": "missing"], version: "fleet=2", sent: now.addingTimeInterval(-600))
        let numbers = [try number(try await store.submit(kioskId: "DG-0001", [try item(.heartbeats, key: "hb-2", second)], now: now.addingTimeInterval(60)).first),
                       try number(try await store.submit(kioskId: "DG-0001", [try item(.heartbeats, key: "hb-0", late)], now: now.addingTimeInterval(61)).first)]
        #expect(try await newest() == second)
        // In a batch with a rating: both recorded, numbers from one sequence, never the same.
        let third = beat(["reader": "ok"], sent: now.addingTimeInterval(120))
        let batch = try await store.submit(kioskId: "DG-0001", [try item(.heartbeats, key: "hb-3", third), try item(.ratings, key: "k-hb", rating("v-hb")),
                                                                try item(.heartbeats, key: "hb-3", third)], now: now.addingTimeInterval(120))
        let batchNumbers = [try number(batch.first), try number(batch.dropFirst().first)]
        #expect(try batch.last??.get() == batch.first??.get())
        let firstNumber = try number(sent.first)
        #expect(Set(numbers + batchNumbers).count == 4 && numbers[0] > firstNumber, "\(numbers) \(batchNumbers)")
        #expect(try await newest() == third)
        // What would act on an operator's terminal, or not fit a line, is refused and keeps nothing.
        for (index, devices) in [["printer.a4": "\u{1B}]0;owned\u{07}"], ["reader\n": "ok"], ["reader": ""],
                                 [String(repeating: "d", count: 65): "ok"], ["reader": "ok\u{202E}"]].enumerated() {
            let refused = try await store.submit(kioskId: "DG-0001", [try item(.heartbeats, key: "hb-bad-\(index)", beat(devices, sent: now.addingTimeInterval(121)))],
                                                 now: now.addingTimeInterval(121))
            #expect(code(try #require(refused.first ?? nil)) == "submission.invalid", "\(devices)")
        }
        #expect(code(try #require(try await store.submit(kioskId: "DG-0001", [try item(.heartbeats, key: "hb-bad-version", beat(["reader": "ok"], version: "3\u{1B}[2J", sent: now.addingTimeInterval(121)))],
                                                         now: now.addingTimeInterval(121)).first ?? nil)) == "submission.invalid")
        #expect(try await newest() == third)
        // A kiosk whose clock runs a year ahead is kept as of its arrival: the next heartbeat replaces it.
        let ahead = beat(["reader": "ok"], version: "ahead", sent: now.addingTimeInterval(365 * 86_400))
        #expect(try await store.submit(kioskId: "DG-0001", [try item(.heartbeats, key: "hb-ahead", ahead)], now: now.addingTimeInterval(180)).first??.isSuccess == true)
        let fourth = beat(["reader": "ok"], version: "fleet=4", sent: now.addingTimeInterval(240))
        #expect(try await store.submit(kioskId: "DG-0001", [try item(.heartbeats, key: "hb-4", fourth)], now: now.addingTimeInterval(240)).first??.isSuccess == true)
        #expect(try await newest()?.configVersion == "fleet=4")
        // An hour of heartbeats keeps no key: only the ratings' are there to forget (four before, one here).
        for minute in 5..<65 {
            _ = try await store.submit(kioskId: "DG-0001", [try item(.heartbeats, key: "hb-\(minute)", beat(["reader": "ok"], sent: now.addingTimeInterval(Double(minute) * 60)))],
                                       now: now.addingTimeInterval(Double(minute) * 60))
        }
        #expect(try await store.forgetIdempotencyKeys(before: now.addingTimeInterval(3 * 3600)) == 5)
        #expect(try await newest()?.sentAt == beat([:], sent: now.addingTimeInterval(64 * 60)).sentAt)
        // A kiosk removed and registered again under its ID starts unheard.
        let key = try #require(try await store.kioskKey(id: "DG-0001"))
        #expect(try await store.removeKiosk(id: "DG-0001"))
        try await store.addKiosk(id: "DG-0001", publicKey: key, note: "南城")
        #expect(try await newest() == nil)
        #expect(try await store.kiosks().first { $0.id == "DG-0001" }?.lastHeartbeatAt == nil)
    }

    /// Name search through the index of character pairs answers what reading every name answers:
    /// the same enterprises in the same order, for short, long, rare, common and absent queries,
    /// and a renamed enterprise under its new name only.
    /// SQLite's `LIKE` ignores the case of ASCII letters (`caseFolded`), PostgreSQL's does not.
    static func exerciseNameSearch(_ store: any RegistryStore, caseFolded: Bool) async throws {
        var seed = try RegistrySeed.load(Data(contentsOf: URL(fileURLWithPath: seedPath)))
        let template = try #require(seed.enterprises.first)
        let parts = ["云端", "聚源", "华南", "ABC", "云", "端云", "科技", "%_"]
        for i in 0..<160 {
            var record = template
            record.enterprise.uscc = String(format: "91440000MA%08d", i)
            record.enterprise.name = "测试市" + parts[i % 8] + parts[(i / 8) % 8] + (i % 3 == 0 ? "有限公司" : "商行") + (i % 5 == 0 ? "AbC" : "")
            seed.enterprises.append(record)
        }
        try await store.load(seed)
        let names = seed.enterprises.map(\.enterprise.name)
        for query in ["云端", "端云", "云", "司", "ABC", "C商", "AbC", "有限公司", "测试市云端科技有限公司", "云端科技有限公司AbC", "端云华南商行", "不存在",
                      "测试市云端云端云端云端科技", "%", "%_", "_云_端_", "市ABC聚"] {
            let literal = query.replacingOccurrences(of: "%", with: "").replacingOccurrences(of: "_", with: "")
            for limit in [3, 100] {
                func folded(_ text: String) -> String { caseFolded ? String(text.map { $0.isASCII ? Character($0.lowercased()) : $0 }) : text }
                let expected = names.filter { literal.isEmpty || folded($0).contains(folded(literal)) }
                    .sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }.prefix(limit)
                let found = try await store.searchEnterprises(name: query, limit: limit).map(\.enterprise.name)
                #expect(found == Array(expected), "\(query) limit \(limit)")
            }
        }
        // Renamed by a later load: found by the new name, not by the old.
        var renamed = template
        renamed.enterprise.uscc = String(format: "91440000MA%08d", 7)
        renamed.enterprise.name = "测试市改名后贸易商行"
        try await store.load(RegistrySeed(enterprises: [renamed], persons: []))
        #expect(try await store.searchEnterprises(name: "改名后", limit: 5).map(\.enterprise.uscc) == [renamed.enterprise.uscc])
        #expect(try await store.searchEnterprises(name: names[8 + 7 - 8], limit: 5).map(\.enterprise.uscc).contains(renamed.enterprise.uscc) == false)
    }

    static func code<T>(_ result: Result<T, Problem>) -> String? {
        if case .failure(let problem) = result { return problem.code }
        return nil
    }

    /// The hall every store must keep: numbers per site, queue and day; reserved tickets not
    /// counted; priority first; offline numbers added at their time; check-ins in their window.
    static func exerciseHall(_ store: any RegistryStore & HallStore) async throws {
        let key = { try #require(Data(base64Encoded: try KioskCredentials.generate(kioskId: "k").publicKeyBase64)) }
        try await store.addPrincipal(id: "HALL-K1", publicKey: try key(), note: "", role: .kiosk, site: "hall-1")
        try await store.addPrincipal(id: "HALL-K2", publicKey: try key(), note: "", role: .kiosk, site: "hall-2")
        await #expect(throws: StoreError.self) { try await store.addPrincipal(id: "W1", publicKey: try key(), note: "", role: .counter, site: nil) }
        #expect(try await store.principal(id: "HALL-K1") == Principal(publicKey: try #require(try await store.kioskKey(id: "HALL-K1")), role: .kiosk, site: "hall-1"))
        // Noon of today in Beijing: the appointments below span an hour, which must not cross the
        // hall's midnight whatever the hour the test runs at.
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .kiosk
        let now = calendar.startOfDay(for: Date()).addingTimeInterval(12 * 3600)
        func reserve(_ id: String, _ queue: String = "A", kiosk: String = "HALL-K1", site: String = "hall-1") async throws -> Result<HallTicket, Problem> {
            try await store.reserveTicket(TicketRequest(ticketId: id, queue: queue, serviceCode: "SC-ESTATE"), site: site, kioskId: kiosk, now: now)
        }
        func printed(_ t: HallTicket, kiosk: String = "HALL-K1", offline: Bool = false, key: String? = nil) async throws -> Result<SubmissionReceipt, Problem>? {
            let report = TicketReport(ticketId: t.ticketId, site: t.site, queue: t.queue, number: t.number, serviceCode: t.serviceCode,
                                      issuedAt: t.issuedAt, offline: offline)
            return try await store.submit(kioskId: kiosk, [try item(.tickets, key: key ?? "t-" + t.ticketId, report)], now: now).first ?? nil
        }
        let first = try await reserve("ticket-0001").get()
        #expect(first.number == "A001" && first.state == .reserved && first.ahead == 0)
        #expect(try await reserve("ticket-0001").get() == first)                       // the same id: the same ticket
        #expect(code(try await reserve("ticket-0001", "B")) == "ticket.id-reused")     // another ticket under it
        #expect(try await reserve("ticket-0002", "B").get().number == "B001")          // each queue counts alone
        let second = try await reserve("ticket-0003").get()
        #expect(second.number == "A002" && second.ahead == 0)                          // the first was never printed
        #expect(try await reserve("ticket-0004", kiosk: "HALL-K2", site: "hall-2").get().number == "A001")  // each site alone
        if case .success = try await printed(first) {} else { Issue.record("report refused") }
        if case .success = try await printed(first) {} else { Issue.record("a resent report is accepted") }
        #expect(try await store.ticket(id: "ticket-0003", now: now)?.ahead == 1)
        if case .success = try await printed(second) {} else { Issue.record("report refused") }
        // Another kiosk may not report this kiosk's ticket, nor a ticket for a site it does not stand at.
        if case .failure(let p)?? = try await store.submit(kioskId: "HALL-K2", [try item(.tickets, key: "x1", TicketReport(
            ticketId: "ticket-0003", site: "hall-1", queue: "A", number: "A002", serviceCode: "SC-ESTATE", issuedAt: now, offline: false))], now: now).first {
            #expect(p.code == "ticket.report-invalid")
        } else { Issue.record("a report from another site was taken") }
        // A kiosk offline gave AK001 a minute before: it joins the queue at its time of issue.
        let offline = HallTicket(ticketId: "offline-0001", site: "hall-1", queue: "A", number: "AK001", serviceCode: "SC-ESTATE",
                                 issuedAt: now.addingTimeInterval(-60), priority: false, state: .waiting, ahead: 0)
        if case .success = try await printed(offline, offline: true) {} else { Issue.record("offline report refused") }
        var clash = offline
        clash.ticketId = "offline-0002"
        if case .failure(let p)?? = try await printed(clash, offline: true) { #expect(p.code == "ticket.report-invalid") } else { Issue.record("a number given twice") }
        var invented = first
        invented.ticketId = "invented-01"
        if case .failure(let p)?? = try await printed(invented) { #expect(p.code == "ticket.report-invalid") } else { Issue.record("an invented ticket was taken") }
        #expect(try await store.hallFigures(site: "hall-1", now: now).queues.map(\.waiting) == [3, 0])

        // Appointments: today at hall-1 from 30 minutes on; one at hall-2; one tomorrow.
        let person = "441900199003181234"
        let slot = Appointment(id: "booking-0001", site: "hall-1", serviceCode: "SC-ESTATE", queue: "A", idNumber: person, name: "张三",
                               startsAt: now.addingTimeInterval(20 * 60), endsAt: now.addingTimeInterval(50 * 60))
        var bad = slot
        bad.endsAt = bad.startsAt
        let stored = try await store.storeAppointments([slot, slot, bad], now: now)
        #expect(stored.count == 3 && (try? stored[0].get()) == false && (try? stored[1].get()) == false && code(stored[2]) == "appointment.invalid")
        #expect(code(try await store.checkIn(CheckInRequest(idNumber: "11010519491231002X", ticketId: "check-0001"), site: "hall-1", kioskId: "HALL-K1", now: now)) == "appointment.not-found")
        #expect(code(try await store.checkIn(CheckInRequest(idNumber: person, ticketId: "check-0001"), site: "hall-2", kioskId: "HALL-K2", now: now)) == "appointment.other-site")
        let early = try await store.checkIn(CheckInRequest(idNumber: person, ticketId: "check-0001"), site: "hall-1", kioskId: "HALL-K1",
                                            now: now.addingTimeInterval(-20 * 60))
        #expect(code(early) == "appointment.too-early")
        if case .failure(let p) = early { #expect(p.facts?["startsAt"] != nil) }
        #expect(code(try await store.checkIn(CheckInRequest(idNumber: person, ticketId: "check-0001"), site: "hall-1", kioskId: "HALL-K1",
                                             now: now.addingTimeInterval(51 * 60))) == "appointment.too-late")
        let checked = try await store.checkIn(CheckInRequest(idNumber: person, ticketId: "check-0001"), site: "hall-1", kioskId: "HALL-K1", now: now).get()
        #expect(checked.priority && checked.number == "A003" && checked.ahead == 0)   // priority: nobody is ahead
        #expect(try await store.checkIn(CheckInRequest(idNumber: person, ticketId: "check-0002"), site: "hall-1", kioskId: "HALL-K1", now: now).get() == checked)
        var moved = slot
        moved.startsAt = moved.startsAt.addingTimeInterval(600)
        #expect(code(try await store.storeAppointments([moved], now: now)[0]) == "appointment.checked-in")

        // Calls: nothing printed is called; the checked-in citizen once printed goes first; a repeated call answers the same.
        if case .success = try await printed(checked) {} else { Issue.record("check-in ticket report refused") }
        #expect(try await store.callNext(site: "hall-1", queue: "A", counter: 3, caller: "W3", key: "c1", now: now).get().number == "A003")
        #expect(try await store.callNext(site: "hall-1", queue: "A", counter: 3, caller: "W3", key: "c1", now: now).get().number == "A003")
        #expect(try await store.callNext(site: "hall-1", queue: "A", counter: 3, caller: "W3", key: "c2", now: now).get().number == "AK001")
        #expect(try await store.callNext(site: "hall-1", queue: "A", counter: 2, caller: "W2", key: "c3", now: now).get().number == "A001")
        #expect(try await store.callNext(site: "hall-1", queue: "A", counter: 2, caller: "W2", key: "c4", now: now).get().number == "A002")
        #expect(code(try await store.callNext(site: "hall-1", queue: "A", counter: 2, caller: "W2", key: "c5", now: now)) == "hall.queue-empty")
        #expect(code(try await store.callNext(site: "hall-1", queue: "B", counter: 2, caller: "W2", key: nil, now: now)) == "hall.queue-empty")
        let figures = try await store.hallFigures(site: "hall-1", now: now)
        #expect(figures.queues.first?.lastCalled == "A002" && figures.queues.first?.lastCounter == 2 && figures.queues.first?.waiting == 0)

        // Numbers a kiosk gave offline within one second (times travel in whole seconds), reported
        // out of order and with ticket ids in the opposite order: called in their own order.
        let sameSecond = now.addingTimeInterval(-30)
        for (id, number) in [("offline-aa", "CK1000"), ("offline-bb", "CK002"), ("offline-zz", "CK001"), ("offline-cc", "CK999")] {
            let ticket = HallTicket(ticketId: id, site: "hall-1", queue: "C", number: number, serviceCode: "SC-ESTATE", issuedAt: sameSecond,
                                    priority: false, state: .waiting, ahead: 0)
            if case .success = try await printed(ticket, offline: true) {} else { Issue.record("offline report \(number) refused") }
        }
        #expect(try await store.ticket(id: "offline-bb", now: now)?.ahead == 1)
        #expect(try await store.ticket(id: "offline-aa", now: now)?.ahead == 3)
        var calledInOrder: [String] = []
        for call in 1...4 {
            calledInOrder.append(try await store.callNext(site: "hall-1", queue: "C", counter: 1, caller: "W1", key: "c-\(call)", now: now).get().number)
        }
        #expect(calledInOrder == ["CK001", "CK002", "CK999", "CK1000"])
    }

    /// Applications' progress every store must keep: received on arrival, moved on by the back
    /// office with a note where one is needed, idempotent under a key, closed once decided.
    static func exerciseProgress(_ store: any RegistryStore & ProgressStore) async throws {
        let person = "441900199003181234"
        let application = ApplicationSubmission(
            trackingNumber: "YT-DG-0009-20261203-000001", applicant: Applicant(idNumber: person, name: "张三"),
            proposedName: "东莞市进度测试有限公司", type: "有限责任公司", registeredCapital: "人民币壹拾万元", address: "东莞市", businessScope: "软件",
            submittedAt: Date(timeIntervalSince1970: 1_790_000_000))
        let now = Date()
        guard case .success(let receipt)?? = try await store.submit(kioskId: "DG-0009", [try item(.applications, key: "p1", application)], now: now).first else {
            Issue.record("application not recorded"); return
        }
        let received = try #require(try await store.progress(number: application.trackingNumber))
        #expect(received.registryNumber == receipt.registryNumber && received.status == .received && received.history.count == 1)
        #expect(received.proposedName == "东莞市进度测试有限公司")
        #expect(try await store.progress(number: receipt.registryNumber) == received)
        #expect(try await store.progress(idNumber: person.lowercased()).map(\.trackingNumber).contains(application.trackingNumber))
        #expect(try await store.progress(idNumber: "11010519491231002X").isEmpty)
        #expect(try await store.progress(number: "YT-nothing-0001") == nil)

        #expect(try await store.application(number: receipt.registryNumber) == application)
        #expect(try await store.application(number: "YT-nothing-0001") == nil)

        // Approval issues the licence: a valid code, the record with the applicant as legal representative.
        var second = application
        second.trackingNumber = "YT-DG-0009-20261203-000002"
        second.proposedName = "东莞市核准测试科技有限公司"
        _ = try await store.submit(kioskId: "DG-0009", [try item(.applications, key: "p2", second)], now: now)
        let licence = try await LicenceIssuance.approve(number: second.trackingNumber, region: "441900", authority: "东莞市市场监督管理局", by: "officer-2",
                                                        store: store, progress: store, now: now).get()
        let issued = try CreditCode(licence.enterprise.uscc)
        #expect(try await store.enterprise(uscc: issued.value)?.legalRepresentativeIdNumber == person)
        #expect(try await store.progress(number: second.trackingNumber)?.status == .approved)
        #expect(try await store.progress(number: second.trackingNumber)?.history.last?.note?.contains(issued.value) == true)
        guard case .failure = try await LicenceIssuance.approve(number: second.trackingNumber, region: "441900", authority: "x", by: "o", store: store,
                                                                progress: store) else { Issue.record("approved twice"); return }

        let more = StatusChange(status: .moreMaterials, note: "住所使用证明")
        let moved = try await store.setStatus(number: application.trackingNumber, more, by: "officer-1", key: "s1", now: now).get()
        #expect(moved.status == .moreMaterials && moved.history.last?.note == "住所使用证明" && moved.history.count == 2)
        #expect(try await store.setStatus(number: receipt.registryNumber, more, by: "officer-1", key: "s1", now: now).get() == moved)
        #expect(code(try await store.setStatus(number: receipt.registryNumber, StatusChange(status: .approved, note: nil), by: "officer-1",
                                               key: "s1", now: now)) == "idempotency.key-reused")
        let approved = try await store.setStatus(number: receipt.registryNumber, StatusChange(status: .approved, note: nil), by: "officer-1",
                                                 key: "s2", now: now).get()
        #expect(approved.status == .approved && approved.history.map(\.status) == [.received, .moreMaterials, .approved])
        #expect(code(try await store.setStatus(number: receipt.registryNumber, StatusChange(status: .refused, note: "x"), by: "officer-1",
                                               key: "s3", now: now)) == "application.final")
        #expect(code(try await store.setStatus(number: "SQ-nothing-0001", more, by: "officer-1", key: nil, now: now)) == "application.not-found")
    }

    /// Results by post every store must keep: an application's delivery with the application, a
    /// certificate's request on its own, per site, marked posted once.
    static func exerciseDeliveries(_ store: any RegistryStore & DeliveryStore) async throws {
        let key = try #require(Data(base64Encoded: try KioskCredentials.generate(kioskId: "k").publicKeyBase64))
        try await store.addPrincipal(id: "DG-0010", publicKey: key, note: "", role: .kiosk, site: "hall-10")
        let address = DeliveryAddress(recipient: "张三", mobile: "13812345678", address: "东莞市南城区鸿福路 100 号")
        let application = ApplicationSubmission(
            trackingNumber: "YT-DG-0010-20261203-000001", applicant: Applicant(idNumber: "441900199003181234", name: "张三"),
            proposedName: "东莞市邮寄测试有限公司", type: "有限责任公司", registeredCapital: "人民币壹拾万元", address: "东莞市", businessScope: "软件",
            submittedAt: Date(timeIntervalSince1970: 1_790_000_000), delivery: address)
        let certificate = DeliveryRequest(deliveryId: "delivery-0000001", site: "elsewhere", documentKind: "social-insurance-certificate",
                                          applicant: Applicant(idNumber: "441900199003181234", name: "张三"), address: address,
                                          requestedAt: Date(timeIntervalSince1970: 1_790_000_100))
        var bad = certificate
        bad.deliveryId = "delivery-0000002"
        bad.address.mobile = "12345678901"
        let now = Date()
        let results = try await store.submit(kioskId: "DG-0010", [try item(.applications, key: "d1", application), try item(.deliveries, key: "d2", certificate),
                                                                   try item(.deliveries, key: "d3", bad)], now: now)
        #expect(results.count == 3 && results[0]?.isSuccess == true && results[1]?.isSuccess == true)
        if case .failure(let p)?? = results.last { #expect(p.code == "submission.invalid" && p.detail.contains("mobile")) } else { Issue.record("a bad mobile was taken") }
        let pending = try await store.deliveries(site: "hall-10", status: .pending)
        #expect(pending.map(\.deliveryId) == ["YT-DG-0010-20261203-000001", "delivery-0000001"], "\(pending)")   // at the kiosk's registered site
        #expect(pending.first?.kind == .application && pending.first?.reference.hasPrefix("SQ-") == true && pending.first?.address == address)
        #expect(try await store.deliveries(site: "elsewhere", status: nil).isEmpty)
        #expect(code(try await store.markPosted(id: "delivery-0000001", site: "hall-11", by: "w1", now: now)) == "hall.other-site")
        let posted = try await store.markPosted(id: "delivery-0000001", site: "hall-10", by: "王五", now: now).get()
        #expect(posted.status == .posted && posted.postedBy == "王五")
        #expect(try await store.markPosted(id: "delivery-0000001", site: nil, by: "another", now: now.addingTimeInterval(60)).get().postedBy == "王五")
        #expect(code(try await store.markPosted(id: "delivery-none", site: nil, by: "w1", now: now)) == "delivery.not-found")
        #expect(try await store.deliveries(site: "hall-10", status: .posted).map(\.deliveryId) == ["delivery-0000001"])
    }

    /// A retiree's yearly confirmation marks the year once, whichever kiosk sends it first;
    /// someone who receives no pension is not marked; a resend is the same receipt.
    static func exercisePension(_ store: any RegistryStore) async throws {
        try await store.load(try RegistrySeed.load(Data(contentsOf: URL(fileURLWithPath: seedPath))))
        let key = try #require(Data(base64Encoded: try KioskCredentials.generate(kioskId: "k").publicKeyBase64))
        for id in ["DG-0020", "DG-0021"] { try await store.addPrincipal(id: id, publicKey: key, note: "", role: .kiosk, site: "hall-20") }
        let retiree = Applicant(idNumber: "11010519491231002X", name: "李四")
        let now = Date()
        let year = CalendarDate.today(now: now).year
        #expect(try await store.person(idNumber: retiree.idNumber)?.pension?.monthlyAmount == Money("3268.40"))
        #expect(try await store.person(idNumber: retiree.idNumber)?.pensionConfirmed == nil)
        let first = PensionConfirmation(confirmationId: "RZ-confirm-0001", applicant: retiree, year: year, confirmedAt: now.addingTimeInterval(-60), liveness: "blink")
        var results = try await store.submit(kioskId: "DG-0020", [try item(.pensionConfirmations, key: "p1", first)], now: now)
        let receipt = try #require(try results.first??.get())
        #expect(receipt.registryNumber.hasPrefix("RZ-"))
        let mark = try #require(try await store.person(idNumber: retiree.idNumber)?.pensionConfirmed)
        #expect(mark == PensionConfirmationMark(year: year, confirmedOn: CalendarDate.today(now: now.addingTimeInterval(-60))))
        // The same again (a resend) is the same receipt; another kiosk's later one changes nothing.
        results = try await store.submit(kioskId: "DG-0020", [try item(.pensionConfirmations, key: "p1", first)], now: now.addingTimeInterval(5))
        #expect(try results.first??.get() == receipt)
        var second = first
        second.confirmationId = "RZ-confirm-0002"
        second.confirmedAt = now
        results = try await store.submit(kioskId: "DG-0021", [try item(.pensionConfirmations, key: "p2", second)], now: now.addingTimeInterval(10))
        #expect(results.first??.isSuccess == true)
        #expect(try await store.person(idNumber: retiree.idNumber)?.pensionConfirmed == mark)
        // Someone who receives no pension, a year that is not the confirmation's own, and bad bodies.
        var working = first
        working.confirmationId = "RZ-confirm-0003"
        working.applicant = Applicant(idNumber: "441900199003181234", name: "张三")
        var wrongYear = first
        wrongYear.confirmationId = "RZ-confirm-0004"
        wrongYear.applicant = Applicant(idNumber: "441900196203128717", name: "罗磊")
        wrongYear.year = year + 1
        var noBlink = first
        noBlink.confirmationId = "RZ-confirm-0005"
        noBlink.liveness = "none"
        var badId = first
        badId.confirmationId = "RZ-confirm-0006"
        badId.applicant.idNumber = "110105194912310021"
        results = try await store.submit(kioskId: "DG-0020", [try item(.pensionConfirmations, key: "p3", working), try item(.pensionConfirmations, key: "p4", wrongYear),
                                                              try item(.pensionConfirmations, key: "p5", noBlink), try item(.pensionConfirmations, key: "p6", badId)], now: now)
        #expect(results[0]?.isSuccess == true && results[1]?.isSuccess == true)
        #expect(try await store.person(idNumber: "441900199003181234")?.pensionConfirmed == nil)
        #expect(try await store.person(idNumber: "441900196203128717")?.pensionConfirmed == nil)
        for (index, word) in [(2, "liveness"), (3, "idNumber")] {
            if case .failure(let problem)?? = results[index] {
                #expect(problem.code == "submission.invalid" && problem.detail.contains(word), "\(problem)")
            } else { Issue.record("item \(index) was taken") }
        }

        // A lost social security card: the report naming another number stops nothing; the one
        // naming the holder's card stops it, once; one sent offline (no number) stops the current card.
        let card = try #require(try await store.person(idNumber: retiree.idNumber)?.securityCard)
        #expect(card.lostOn == nil && SecurityCard.isNumber(card.number))
        let wrong = CardLossReport(reportId: "GS-loss-00000001", applicant: retiree, cardNumber: "Z99999999", reportedAt: now)
        var right = wrong
        right.reportId = "GS-loss-00000002"
        right.cardNumber = card.number
        var offline = wrong
        offline.reportId = "GS-loss-00000003"
        offline.cardNumber = nil
        offline.applicant = Applicant(idNumber: "441900196203128717", name: "罗磊")
        var garbled = wrong
        garbled.reportId = "GS-loss-00000004"
        garbled.cardNumber = "a1"
        results = try await store.submit(kioskId: "DG-0020", [try item(.cardLosses, key: "l1", wrong), try item(.cardLosses, key: "l2", right),
                                                              try item(.cardLosses, key: "l3", offline), try item(.cardLosses, key: "l4", garbled)], now: now)
        #expect(results[0]?.isSuccess == true && results[1]?.isSuccess == true && results[2]?.isSuccess == true)
        #expect(try results[1]?.get().registryNumber.hasPrefix("GS-") == true)
        if case .failure(let problem)?? = results[3] { #expect(problem.detail.contains("cardNumber")) } else { Issue.record("a garbled card number was taken") }
        let lost = try #require(try await store.person(idNumber: retiree.idNumber)?.securityCard)
        #expect(lost.number == card.number && lost.lostOn == CalendarDate.today(now: now))
        #expect(try await store.person(idNumber: "441900196203128717")?.securityCard?.lostOn == CalendarDate.today(now: now))
        #expect(try await store.person(idNumber: "441900199003181234")?.securityCard?.lostOn == nil)
        results = try await store.submit(kioskId: "DG-0020", [try item(.cardLosses, key: "l2", right)], now: now.addingTimeInterval(30))
        #expect(try results.first??.get().registryNumber.hasPrefix("GS-") == true, "a resend answers its receipt")
    }

    @Test func sqlite() async throws {
        let dir = try TemporaryDirectory(prefix: "store")
        defer { dir.remove() }
        try await Self.exercise(try SQLiteRegistryStore(path: dir.path + "/r.sqlite"))
        try await Self.exerciseHall(try SQLiteRegistryStore(path: dir.path + "/hall.sqlite"))
        try await Self.exerciseProgress(try SQLiteRegistryStore(path: dir.path + "/progress.sqlite"))
        try await Self.exerciseDeliveries(try SQLiteRegistryStore(path: dir.path + "/deliveries.sqlite"))
        try await Self.exercisePension(try SQLiteRegistryStore(path: dir.path + "/pension.sqlite"))
        try await Self.exerciseOpening(try SQLiteRegistryStore(path: dir.path + "/opening.sqlite"))
        try await Self.exerciseNameSearch(try SQLiteRegistryStore(path: dir.path + "/names.sqlite"), caseFolded: true)
    }

    /// A SQLite registry from before the name index gets it when it is next opened.
    @Test func aRegistryFromBeforeTheNameIndexGetsItWhenOpened() async throws {
        let dir = try TemporaryDirectory(prefix: "store-names")
        defer { dir.remove() }
        let path = dir.path + "/r.sqlite"
        let store = try SQLiteRegistryStore(path: path)
        try await store.load(try RegistrySeed.load(Data(contentsOf: URL(fileURLWithPath: Self.seedPath))))
        let before = try await store.searchEnterprises(name: "云端", limit: 100)
        try await store.queue.write { db in
            try db.execute(sql: "DROP TABLE enterprise_gram; DELETE FROM grdb_migrations WHERE identifier = 'v13-enterprise-grams'")
        }
        let reopened = try SQLiteRegistryStore(path: path)
        #expect(try await reopened.searchEnterprises(name: "云端", limit: 100) == before && before.count >= 4)
        #expect(try await reopened.queue.read { try Int.fetchOne($0, sql: "SELECT count(DISTINCT uscc) FROM enterprise_gram") } == 36)
    }

    @Test func postgres() async throws {
        let postgres = try await offThePool { try PostgresTestBed() }
        defer { postgres.stop() }
        let socket = postgres.socket
        let store = PostgresRegistryStore(client: PostgresRegistryStore.makeClient(unixSocketPath: socket, username: "registry", database: "registry"))
        let pool = Task { await store.run() }
        defer { pool.cancel() }
        try await store.migrate()
        try await store.migrate()  // idempotent
        // Another replica starting (or a `registryd` command) while a transaction holds a table:
        // the schema is already current, so it takes no table lock and does not wait.
        let other = PostgresRegistryStore(client: PostgresRegistryStore.makeClient(unixSocketPath: socket, username: "registry", database: "registry"))
        let otherPool = Task { await other.run() }
        defer { otherPool.cancel() }
        let holding = Task {
            try await store.client.withTransaction(logger: store.logger) { connection in
                try await connection.query("LOCK TABLE kiosk IN ACCESS EXCLUSIVE MODE", logger: store.logger)
                try await Task.sleep(for: .seconds(3))
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        let started = ContinuousClock.now
        try await other.migrate()
        #expect(ContinuousClock.now - started < .seconds(2), "migrate waited on a table lock")
        try await holding.value
        try await Self.exercise(store)
        try await Self.exerciseNameSearch(store, caseFolded: false)  // before other exercises add enterprises
        // A database from before the name index gets it at the next start.
        let before = try await store.searchEnterprises(name: "云端", limit: 100)
        try await store.client.query("DROP TABLE enterprise_gram", logger: store.logger)
        try await store.client.query("UPDATE registry_schema SET digest = 'older'", logger: store.logger)
        try await store.migrate()
        #expect(try await store.searchEnterprises(name: "云端", limit: 100) == before && before.count > 10)
        try await Self.exerciseHall(store)
        try await Self.exerciseProgress(store)
        try await Self.exerciseDeliveries(store)
        try await Self.exercisePension(store)
        try await Self.exerciseOpening(store)
    }
}

extension Result {
    var isSuccess: Bool { if case .success = self { return true } else { return false } }
}
