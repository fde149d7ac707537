import Foundation
import KioskCore
import Registry
import TestSupport
import Testing

/// The hall routes of a real registryd on loopback with a real SQLite file, used as kiosks,
/// counters and the booking system use them, and as an attacker would: other sites, other roles,
/// malformed and oversized bodies, repeated calls.
@Suite(.serialized) struct RegistrydHallTests {
    struct Bed {
        let dir: TemporaryDirectory
        let registry: RegistrydProcess
        let kiosk: KioskCredentials
        let counter: KioskCredentials
        let booking: KioskCredentials
        let stranger: KioskCredentials   // a kiosk of another hall
        let unsited: KioskCredentials    // a kiosk registered without a site
        let office: KioskCredentials     // the back office
        func stop() { registry.stop(); dir.remove() }

        func client(_ credentials: KioskCredentials) -> RegistryClient {
            RegistryClient(configuration: RegistryClientConfiguration(baseURL: registry.baseURL, credentials: credentials))
        }

        func raw(_ credentials: KioskCredentials, _ method: String, _ target: String, body: Data = Data(), key: String? = nil) throws -> (status: Int, body: String)? {
            var headers = credentials.headers(method: method, pathAndQuery: target, body: body, idempotencyKey: key, now: Date())
            if let key { headers.append(("Idempotency-Key", key)) }
            if !body.isEmpty { headers.append(("Content-Type", "application/json")) }
            return try RawHTTPConnection.request(port: registry.port, method, target, headers: headers, body: body)
        }
    }

    static func bed() throws -> Bed {
        let dir = try TemporaryDirectory(prefix: "registry-hall")
        let kiosk = try KioskCredentials.generate(kioskId: "HALL1-K01")
        let registry = try RegistrydProcess(database: dir.path + "/registry.sqlite", kiosks: [(kiosk.kioskId, kiosk.publicKeyBase64)],
                                            site: "hall-1")
        let counter = try KioskCredentials.generate(kioskId: "HALL1-W03")
        try registry.register(counter.kioskId, publicKey: counter.publicKeyBase64, role: "counter", site: "hall-1")
        let booking = try KioskCredentials.generate(kioskId: "booking")
        try registry.register(booking.kioskId, publicKey: booking.publicKeyBase64, role: "booking")
        let stranger = try KioskCredentials.generate(kioskId: "HALL2-K01")
        try registry.register(stranger.kioskId, publicKey: stranger.publicKeyBase64, site: "hall-2")
        let unsited = try KioskCredentials.generate(kioskId: "OLD-K01")
        try registry.register(unsited.kioskId, publicKey: unsited.publicKeyBase64)
        let office = try KioskCredentials.generate(kioskId: "backoffice-1")
        try registry.register(office.kioskId, publicKey: office.publicKeyBase64, role: "backoffice")
        return Bed(dir: dir, registry: registry, kiosk: kiosk, counter: counter, booking: booking, stranger: stranger, unsited: unsited,
                   office: office)
    }

    static func problem(_ body: () async throws(RegistryClientError) -> some Any) async -> String? {
        do { _ = try await body() } catch {
            if case .refused(let problem) = error { return problem.code }
            return "\(error)"
        }
        return nil
    }

    @Test func aKioskTakesNumbersACounterCallsThemAndABookingIsCheckedIn() async throws {
        let bed = try Self.bed()
        defer { bed.stop() }
        let kiosk = bed.client(bed.kiosk), counter = bed.client(bed.counter)
        let first = try await kiosk.reserveTicket(site: "hall-1", TicketRequest(ticketId: "t-00000001", queue: "A", serviceCode: "SC-ESTATE"))
        #expect(first.number == "A001" && first.state == .reserved)
        #expect(try await kiosk.reserveTicket(site: "hall-1", TicketRequest(ticketId: "t-00000001", queue: "A", serviceCode: "SC-ESTATE")) == first)
        // Not printed, not called.
        #expect(await Self.problem { () throws(RegistryClientError) in
            try await counter.callNext(site: "hall-1", queue: "A", counter: 3, idempotencyKey: "press-1")
        } == "hall.queue-empty")
        let report = TicketReport(ticketId: first.ticketId, site: "hall-1", queue: "A", number: first.number, serviceCode: "SC-ESTATE",
                                  issuedAt: first.issuedAt, offline: false)
        _ = try await kiosk.submit(kind: .tickets, idempotencyKey: "report-1", body: try RegistryJSON.encoder().encode(report))
        #expect(try await kiosk.hallFigures(site: "hall-1").queues == [QueueFigure(queue: "A", waiting: 1, lastCalled: nil, lastCounter: nil)])
        let called = try await counter.callNext(site: "hall-1", queue: "A", counter: 3, idempotencyKey: "press-2")
        #expect(called.number == "A001" && called.counter == 3 && called.state == .called)
        // The same press again (a retry) answers the same ticket, not the next.
        #expect(try await counter.callNext(site: "hall-1", queue: "A", counter: 3, idempotencyKey: "press-2").ticketId == called.ticketId)

        // The booking system stores an appointment; the card holder checks in at the kiosk.
        // A slot open now and within today's Beijing day, whatever the hour the test runs at.
        let now = Date()
        let appointment = Appointment(id: "booking-00000001", site: "hall-1", serviceCode: "SC-FUND", queue: "B", idNumber: "441900199003181234",
                                      name: "张三", startsAt: HallDayTime.startOfDay(now, within: 60), endsAt: HallDayTime.endOfDay(now, within: 2400))
        _ = try await bed.client(bed.booking).storeAppointment(appointment)
        let checked = try await kiosk.checkIn(site: "hall-1", CheckInRequest(idNumber: "441900199003181234", ticketId: "t-00000002"))
        #expect(checked.priority && checked.number == "B001" && checked.serviceCode == "SC-FUND")
        #expect(await Self.problem { () throws(RegistryClientError) in
            try await kiosk.checkIn(site: "hall-1", CheckInRequest(idNumber: "11010519491231002X", ticketId: "t-00000003"))
        } == "appointment.not-found")

        // The console at a counter.
        let registryd = BuiltProducts.path("registryd")
        let empty = try ProcessRunner.run(registryd, ["hall", "call", "--site", "hall-1", "--queue", "A", "--counter", "2", "--db", bed.registry.database])
        #expect(empty.status == 1 && empty.stderr.contains("no printed ticket"), "\(empty.stderr)")
        let status = try ProcessRunner.run(registryd, ["hall", "status", "--site", "hall-1", "--db", bed.registry.database])
        #expect(status.status == 0 && status.stdout.contains("last called A001 to counter 3"), "\(status.stdout)")
        let bad = try ProcessRunner.run(registryd, ["hall", "call", "--site", "hall-1", "--queue", "a", "--counter", "2", "--db", bed.registry.database])
        #expect(bad.status == 64 && bad.stderr.contains("capital letter"), "\(bad.status) \(bad.stderr)")
    }

    @Test func progressIsReadByKiosksAndMovedOnlyByTheBackOffice() async throws {
        let bed = try Self.bed()
        defer { bed.stop() }
        let kiosk = bed.client(bed.kiosk), office = bed.client(bed.office)
        let tracking = "YT-HALL1-K01-20261203-000001"
        let application = ApplicationSubmission(trackingNumber: tracking, applicant: Applicant(idNumber: "441900199003181234", name: "张三"),
                                                proposedName: "演示市进度有限公司", type: "有限责任公司", registeredCapital: "人民币壹拾万元",
                                                address: "演示市", businessScope: "软件", submittedAt: Date())
        let receipt = try await kiosk.submit(kind: .applications, idempotencyKey: "a-1", body: try RegistryJSON.encoder().encode(application))
        #expect(try await kiosk.progress(number: tracking).status == .received)
        #expect(try await kiosk.progress(idNumber: "441900199003181234").map(\.registryNumber) == [receipt.registryNumber])
        let moved = try await office.setStatus(number: receipt.registryNumber, StatusChange(status: .moreMaterials, note: "住所使用证明"),
                                               idempotencyKey: "change-1")
        #expect(moved.status == .moreMaterials && moved.history.count == 2)
        // A retry of the same change is one step.
        #expect(try await office.setStatus(number: tracking, StatusChange(status: .moreMaterials, note: "住所使用证明"), idempotencyKey: "change-1") == moved)
        #expect(try await kiosk.progress(number: tracking).history.last?.note == "住所使用证明")
        let registryd = BuiltProducts.path("registryd")
        let console = try ProcessRunner.run(registryd, ["applications", "set-status", tracking, "--status", "approved", "--db", bed.registry.database])
        #expect(console.status == 0 && console.stdout.contains("approved"), "\(console.stderr)")
        let closed = try ProcessRunner.run(registryd, ["applications", "set-status", tracking, "--status", "refused", "--note", "x", "--db", bed.registry.database])
        #expect(closed.status == 1 && closed.stderr.contains("can no longer change"), "\(closed.stderr)")
        let noNote = try ProcessRunner.run(registryd, ["applications", "set-status", tracking, "--status", "refused", "--db", bed.registry.database])
        #expect(noNote.status == 64 && noNote.stderr.contains("why"), "\(noNote.stderr)")

        // Only the back office moves applications; only kiosks read them.
        let change = Data(#"{"status":"approved"}"#.utf8)
        #expect(try bed.raw(bed.kiosk, "POST", "/v1/applications/\(tracking)/status", body: change, key: "k1")?.body.contains("auth.wrong-role") == true)
        #expect(try bed.raw(bed.counter, "GET", "/v1/applications/\(tracking)/progress")?.body.contains("auth.wrong-role") == true)
        #expect(try bed.raw(bed.office, "POST", "/v1/applications/progress", body: Data(#"{"idNumber":"441900199003181234"}"#.utf8))?.status == 403)
        #expect(try RawHTTPConnection.request(port: bed.registry.port, "GET", "/v1/applications/\(tracking)/progress")?.status == 401)
        // Malformed.
        let cases: [(KioskCredentials, String, String, Data, String?, String)] = [
            (bed.office, "POST", "/v1/applications/\(tracking)/status", change, nil, "idempotency.key-missing"),
            (bed.office, "POST", "/v1/applications/\(tracking)/status", Data(#"{"status":"done"}"#.utf8), "k2", "request.invalid"),
            (bed.office, "POST", "/v1/applications/\(tracking)/status", Data(#"{"status":"more-materials"}"#.utf8), "k3", "status.invalid"),
            (bed.office, "POST", "/v1/applications/\(tracking)/status", Data(#"{"status":"received"}"#.utf8), "k4", "status.invalid"),
            (bed.office, "POST", "/v1/applications/YT-none-000000/status", change, "k5", "application.not-found"),
            (bed.kiosk, "GET", "/v1/applications/x/progress", Data(), nil, "application.number-invalid"),
            (bed.kiosk, "GET", "/v1/applications/YT-none-000000/progress", Data(), nil, "application.not-found"),
            (bed.kiosk, "POST", "/v1/applications/progress", Data(#"{"idNumber":"441900199003181235"}"#.utf8), nil, "id-number.invalid"),
            (bed.kiosk, "POST", "/v1/applications/progress", Data(repeating: 0x7B, count: 5000), nil, "request.too-large"),
        ]
        for (who, method, target, body, key, code) in cases {
            let answer = try bed.raw(who, method, target, body: body, key: key)
            #expect(answer?.body.contains(code) == true, "\(target): \(String(describing: answer))")
        }
        // Guessing tracking numbers one after another is slowed down per kiosk.
        var limited = 0
        for n in 0..<40 {
            if try bed.raw(bed.kiosk, "GET", "/v1/applications/YT-HALL1-K01-20261203-\(String(format: "%06d", n + 100))/progress")?.status == 429 { limited += 1 }
        }
        #expect(limited > 0)
        #expect(RegistrydProcess.answers(port: bed.registry.port))
    }

    @Test func deliveriesAreListedAndMarkedByTheHallStaffOfTheirSiteOnly() async throws {
        let bed = try Self.bed()
        defer { bed.stop() }
        let kiosk = bed.client(bed.kiosk)
        let address = DeliveryAddress(recipient: "张三", mobile: "13812345678", address: "演示市高新区创业路 277 号")
        let request = DeliveryRequest(deliveryId: "delivery-00000001", site: "hall-1", documentKind: "social-insurance-certificate",
                                      applicant: Applicant(idNumber: "441900199003181234", name: "张三"), address: address, requestedAt: Date())
        _ = try await kiosk.submit(kind: .deliveries, idempotencyKey: "d-1", body: try RegistryJSON.encoder().encode(request))
        let listed = try bed.raw(bed.counter, "GET", "/v1/deliveries?site=hall-1&status=pending")
        #expect(listed?.status == 200 && listed?.body.contains("13812345678") == true && listed?.body.contains("delivery-00000001") == true,
                "\(String(describing: listed))")
        // Nobody else reads addresses: not a kiosk, not the booking system, not another hall, not anyone unsigned.
        #expect(try bed.raw(bed.kiosk, "GET", "/v1/deliveries?site=hall-1")?.body.contains("auth.wrong-role") == true)
        #expect(try bed.raw(bed.booking, "GET", "/v1/deliveries?site=hall-1")?.status == 403)
        #expect(try bed.raw(bed.counter, "GET", "/v1/deliveries?site=hall-2")?.body.contains("hall.other-site") == true)
        #expect(try RawHTTPConnection.request(port: bed.registry.port, "GET", "/v1/deliveries?site=hall-1")?.status == 401)
        #expect(try bed.raw(bed.counter, "GET", "/v1/deliveries?site=hall-1&status=lost")?.body.contains("delivery.status-invalid") == true)
        #expect(try bed.raw(bed.counter, "POST", "/v1/deliveries/delivery-none-0001/posted")?.body.contains("delivery.not-found") == true)
        #expect(try bed.raw(bed.counter, "POST", "/v1/deliveries/x/posted")?.body.contains("delivery.id-invalid") == true)
        let marked = try bed.raw(bed.counter, "POST", "/v1/deliveries/delivery-00000001/posted")
        #expect(marked?.status == 200 && marked?.body.contains("\"posted\"") == true, "\(String(describing: marked))")
        // The console at the hall.
        let registryd = BuiltProducts.path("registryd")
        let list = try ProcessRunner.run(registryd, ["deliveries", "list", "--site", "hall-1", "--status", "posted", "--db", bed.registry.database])
        #expect(list.status == 0 && list.stdout.contains("delivery-00000001"), "\(list.stdout)")
        let none = try ProcessRunner.run(registryd, ["deliveries", "mark-posted", "delivery-none-0001", "--db", bed.registry.database])
        #expect(none.status == 1 && none.stderr.contains("no delivery"), "\(none.stderr)")
        #expect(RegistrydProcess.answers(port: bed.registry.port))
    }

    @Test func eachKeyActsOnlyInItsRoleAndItsOwnSite() async throws {
        let bed = try Self.bed()
        defer { bed.stop() }
        let ticket = Data(#"{"ticketId":"t-00000009","queue":"A","serviceCode":"SC-ESTATE"}"#.utf8)
        let call = Data(#"{"counter":3}"#.utf8)
        // A kiosk of another hall, or one registered without a site, takes no number here.
        #expect(try bed.raw(bed.stranger, "POST", "/v1/halls/hall-1/tickets", body: ticket)?.body.contains("hall.other-site") == true)
        #expect(try bed.raw(bed.unsited, "POST", "/v1/halls/hall-1/tickets", body: ticket)?.body.contains("hall.no-site") == true)
        // A kiosk does not call numbers; a counter reads no person and submits nothing; the booking system takes no numbers.
        #expect(try bed.raw(bed.kiosk, "POST", "/v1/halls/hall-1/queues/A/call", body: call, key: "k1")?.body.contains("auth.wrong-role") == true)
        #expect(try bed.raw(bed.counter, "GET", "/v1/persons/441900199003181234/social-insurance")?.status == 403)
        #expect(try bed.raw(bed.counter, "POST", "/v1/halls/hall-1/tickets", body: ticket)?.status == 403)
        #expect(try bed.raw(bed.booking, "POST", "/v1/halls/hall-1/tickets", body: ticket)?.status == 403)
        #expect(try bed.raw(bed.counter, "POST", "/v1/submissions", body: Data(#"{"items":[]}"#.utf8))?.status == 403)
        #expect(try bed.raw(bed.kiosk, "POST", "/v1/appointments", body: Data("{}".utf8))?.status == 403)
        // A counter of this hall calls here only.
        #expect(try bed.raw(bed.counter, "POST", "/v1/halls/hall-2/queues/A/call", body: call, key: "k2")?.body.contains("hall.other-site") == true)
        // Unsigned: nothing.
        for (method, target) in [("POST", "/v1/halls/hall-1/tickets"), ("POST", "/v1/halls/hall-1/check-ins"), ("GET", "/v1/halls/hall-1/queues"),
                                 ("POST", "/v1/halls/hall-1/queues/A/call"), ("POST", "/v1/appointments")] {
            #expect(try RawHTTPConnection.request(port: bed.registry.port, method, target, body: Data("{}".utf8))?.status == 401, "\(target)")
        }
        #expect(RegistrydProcess.answers(port: bed.registry.port))
    }

    @Test func malformedOversizedAndReplayedRequestsAreRefusedAndNothingIsCounted() async throws {
        let bed = try Self.bed()
        defer { bed.stop() }
        let cases: [(String, String, Data, String?, String)] = [
            ("POST", "/v1/halls/hall-1/tickets", Data("not json".utf8), nil, "request.invalid"),
            ("POST", "/v1/halls/hall-1/tickets", Data(#"{"ticketId":"short","queue":"A","serviceCode":"SC-ESTATE"}"#.utf8), nil, "ticket.invalid"),
            ("POST", "/v1/halls/hall-1/tickets", Data(#"{"ticketId":"t-00000001","queue":"AA","serviceCode":"SC-ESTATE"}"#.utf8), nil, "ticket.invalid"),
            ("POST", "/v1/halls/hall-1/tickets", Data(#"{"ticketId":"t-00000001","queue":"A","serviceCode":"sc'; drop"}"#.utf8), nil, "ticket.invalid"),
            ("POST", "/v1/halls/hall-1/tickets", Data(repeating: 0x20, count: 5000), nil, "request.too-large"),
            ("POST", "/v1/halls/hall-1/check-ins", Data(#"{"idNumber":"123","ticketId":"t-00000001"}"#.utf8), nil, "id-number.invalid"),
            ("POST", "/v1/halls/hall%2D1/tickets", Data("{}".utf8), nil, "request.path-invalid"),
        ]
        for (method, target, body, key, code) in cases {
            let answer = try bed.raw(bed.kiosk, method, target, body: body, key: key)
            #expect(answer?.body.contains(code) == true, "\(target): \(String(describing: answer))")
        }
        let counterCases: [(String, Data, String)] = [
            ("/v1/halls/hall-1/queues/a/call", Data(#"{"counter":3}"#.utf8), "call.invalid"),
            ("/v1/halls/hall-1/queues/A/call", Data(#"{"counter":0}"#.utf8), "call.invalid"),
            ("/v1/halls/hall-1/queues/A/call", Data(#"{"counter":"3"}"#.utf8), "request.invalid"),
        ]
        #expect(try bed.raw(bed.counter, "POST", "/v1/halls/hall-1/queues/A/call", body: Data(#"{"counter":3}"#.utf8))?
            .body.contains("idempotency.key-missing") == true)
        for (target, body, code) in counterCases {
            let answer = try bed.raw(bed.counter, "POST", target, body: body, key: "press-x")
            #expect(answer?.body.contains(code) == true, "\(target): \(String(describing: answer))")
        }
        // The same signed request sent twice: the second is a replay.
        let body = Data(#"{"ticketId":"t-00000042","queue":"A","serviceCode":"SC-ESTATE"}"#.utf8)
        var headers = bed.kiosk.headers(method: "POST", pathAndQuery: "/v1/halls/hall-1/tickets", body: body, now: Date())
        headers.append(("Content-Type", "application/json"))
        #expect(try RawHTTPConnection.request(port: bed.registry.port, "POST", "/v1/halls/hall-1/tickets", headers: headers, body: body)?.status == 201)
        #expect(try RawHTTPConnection.request(port: bed.registry.port, "POST", "/v1/halls/hall-1/tickets", headers: headers, body: body)?.status == 401)
        // A report for a number the registry never gave, or in another kiosk's name, is refused (and dead-lettered by the kiosk).
        let encoder = RegistryJSON.encoder()
        let invented = TicketReport(ticketId: "t-00000099", site: "hall-1", queue: "A", number: "A777", serviceCode: "SC-ESTATE", issuedAt: Date(), offline: false)
        #expect(await Self.problem { () throws(RegistryClientError) in
            try await bed.client(bed.kiosk).submit(kind: .tickets, idempotencyKey: "r-1", body: (try? encoder.encode(invented)) ?? Data())
        } == "ticket.report-invalid")
        let notOffline = TicketReport(ticketId: "t-00000098", site: "hall-1", queue: "A", number: "A778", serviceCode: "SC-ESTATE", issuedAt: Date(), offline: true)
        #expect(await Self.problem { () throws(RegistryClientError) in
            try await bed.client(bed.kiosk).submit(kind: .tickets, idempotencyKey: "r-2", body: (try? encoder.encode(notOffline)) ?? Data())
        } == "submission.invalid")
        // Only the one printed… none was reported printed: nobody waits.
        #expect(try await bed.client(bed.counter).hallFigures(site: "hall-1").queues.allSatisfy { $0.waiting == 0 })

        // A bad appointments file stores nothing.
        let file = bed.dir.path + "/day.json"
        try Data(#"[{"id":"booking-00000001","site":"hall-1","serviceCode":"SC-FUND","queue":"B","idNumber":"441900199003181234","name":"张三","startsAt":"2026-12-04T01:00:00Z","endsAt":"2026-12-04T01:30:00Z"},{"id":"booking-00000002","site":"hall-1","serviceCode":"SC-FUND","queue":"B","idNumber":"441900199003181235","name":"李四","startsAt":"2026-12-04T01:00:00Z","endsAt":"2026-12-04T01:30:00Z"}]"#.utf8)
            .write(to: URL(fileURLWithPath: file))
        let refused = try ProcessRunner.run(BuiltProducts.path("registryd"), ["appointments", "import", file, "--db", bed.registry.database])
        #expect(refused.status == 2 && refused.stderr.contains("item 1") && refused.stderr.contains("idNumber"), "\(refused.stderr)")
        let csv = bed.dir.path + "/day.csv"
        try Data("id,site,serviceCode,queue,idNumber,name,startsAt,endsAt\nbooking-00000003,hall-1,SC-FUND,B,441900199003181234,张三,2026-12-04T01:00:00Z,2026-12-04T01:30:00Z\n".utf8)
            .write(to: URL(fileURLWithPath: csv))
        let fromCSV = try ProcessRunner.run(BuiltProducts.path("registryd"), ["appointments", "import", csv, "--db", bed.registry.database])
        #expect(fromCSV.status == 0 && fromCSV.stdout.contains("1 stored"), "\(fromCSV.stdout) \(fromCSV.stderr)")
        #expect(RegistrydProcess.answers(port: bed.registry.port))
    }
}
