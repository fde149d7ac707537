import Foundation
import KioskAPI
import KioskCore
@testable import KioskDaemon
import Registry
import TestSupport
import Testing

/// kioskd's hall services through its citizen client (bad requests on its routes in process), with a
/// real cupsd's receipt printer and a registry in memory: a printed ticket is reported once, an
/// unprinted one never, a retry gives nothing new, offline numbers come from the kiosk's own block,
/// and bad requests are refused.
@Suite(.serialized) struct HallDeskTests {
    static func kiosk() async throws -> (CupsTestBed, FakeGateway, DaemonHarness) {
        let cups = try await offThePool { try CupsTestBed() }
        do {
            let gateway = try FakeGateway()
            let harness = try await DaemonHarness(gateway: gateway, cups: cups)
            try await waitFor("printers polled") { await harness.daemon.state.printers["receipt"] != nil }
            return (cups, gateway, harness)
        } catch {
            cups.stop()
            throw error
        }
    }

    @Test func aPrintedTicketIsReportedOnceAndARetryGivesNothingNew() async throws {
        let (cups, gateway, harness) = try await Self.kiosk()
        defer { cups.stop() }
        let first = try await harness.client.takeTicket(serviceCode: "SC-ESTATE", requestId: "ticket-request-0001")
        #expect(first.number == "A001" && first.printed && first.ahead == 0 && !first.approximate && first.service.zh == "不动产登记")
        let again = try await harness.client.takeTicket(serviceCode: "SC-ESTATE", requestId: "ticket-request-0001")
        #expect(again.number == "A001")
        #expect(await waitUntil(10) { cups.printed("receipt").count == 1 })
        #expect(await gateway.ticketReports.map(\.number) == ["A001", "A001"])   // the registry takes a repeated report as one
        #expect(await gateway.ticketReports.allSatisfy { !$0.offline && $0.site == "demo-hall" })

        // Out of paper: the ticket is not printed, so not reported, so never counted.
        try cups.fault("receipt", "media-empty")
        let unprinted = try await harness.client.takeTicket(serviceCode: "SC-FUND", requestId: "ticket-request-0002")
        #expect(!unprinted.printed && unprinted.messageKey != "ticket.take", "\(unprinted)")
        #expect(await gateway.ticketReports.count == 2)
        try cups.fault("receipt", "media-ok")

        // The registry unreachable: the kiosk's own letter, the last known figure, said as approximate.
        await gateway.setReachable(false)
        let offline = try await harness.client.takeTicket(serviceCode: "SC-ESTATE", requestId: "ticket-request-0003")
        #expect(offline.number == "AK001" && offline.offline && offline.approximate && offline.ahead == 1, "\(offline)")
        let next = try await harness.client.takeTicket(serviceCode: "SC-ESTATE", requestId: "ticket-request-0004")
        #expect(next.number == "AK002" && next.ahead == 2, "\(next)")
        // Back online, a retry of an offline number stays that number.
        await gateway.setReachable(true)
        #expect(try await harness.client.takeTicket(serviceCode: "SC-ESTATE", requestId: "ticket-request-0003").number == "AK001")
        let reports = await gateway.ticketReports
        #expect(reports.filter(\.offline).map(\.number).sorted() == ["AK001", "AK001", "AK002"])
        #expect(!harness.log.text.contains("441900199003181234"))
        // A guide prints on the receipt printer, once per request.
        let before = cups.printed("receipt").count
        #expect(try await harness.client.printGuide(serviceCode: "SC-ESTATE", requestId: "guide-request-0001").messageKey == "guide.printed")
        #expect(try await harness.client.printGuide(serviceCode: "SC-ESTATE", requestId: "guide-request-0001").messageKey == "guide.printed")
        #expect(await waitUntil(10) { cups.printed("receipt").count == before + 1 }, "\(cups.printed("receipt"))")
        try await Task.sleep(for: .seconds(1))
        #expect(cups.printed("receipt").count == before + 1)
        await harness.stop()
    }

    @Test func checkInNeedsTheCardAndSaysWhyNot() async throws {
        let (cups, gateway, harness) = try await Self.kiosk()
        defer { cups.stop() }
        do {
            _ = try await harness.client.checkIn(requestId: "check-request-0001")
            Issue.record("checked in without a card")
        } catch let error as CitizenAPIError { #expect(error.messageKey == "card.needed") }
        try await harness.placeCard()
        var problem = Problem(statusCode: 422, code: "appointment.too-early", title: "", detail: "early")
        problem.facts = ["startsAt": "2026-12-04T02:00:00Z", "endsAt": "2026-12-04T02:30:00Z"]
        await gateway.setCheckIn(.refused(problem))
        do {
            _ = try await harness.client.checkIn(requestId: "check-request-0002")
            Issue.record("checked in too early")
        } catch let error as CitizenAPIError {
            #expect(error.messageKey == "checkin.early" && error.values == ["start": "10:00", "end": "10:30"], "\(error)")
        }
        await gateway.setReachable(false)
        do {
            _ = try await harness.client.checkIn(requestId: "check-request-0003")
            Issue.record("checked in offline")
        } catch let error as CitizenAPIError { #expect(error.messageKey == "checkin.offline") }
        await gateway.setReachable(true)
        await gateway.setCheckIn(.ticket(HallTicket(ticketId: "check-request-0004", site: "demo-hall", queue: "B", number: "B001",
                                                     serviceCode: "SC-FUND", issuedAt: Date(), priority: true, state: .reserved, ahead: 0)))
        let ticket = try await harness.client.checkIn(requestId: "check-request-0004")
        #expect(ticket.priority && ticket.number == "B001" && ticket.printed && ticket.service.en == "Housing provident fund withdrawal")
        #expect(!harness.log.text.contains("441900199003181234"))
        await harness.stop()
    }

    @Test func progressShowsTheRegistrysStatusAndWhatIsNotYetDelivered() async throws {
        let gateway = try FakeGateway()
        let harness = try await DaemonHarness(gateway: gateway)
        do {
            _ = try await harness.client.myApplications()
            Issue.record("applications listed without a card")
        } catch let error as CitizenAPIError { #expect(error.messageKey == "card.needed") }
        try await harness.placeCard()
        await gateway.setReachable(false)
        let receipt = try await harness.client.submitApplication(ApplicationForm(proposedName: "演示市未送达有限公司", type: "有限责任公司",
                                                                                  registeredCapital: "10万", address: "演示市", businessScope: "软件"))
        let mine = try await harness.client.myApplications()
        #expect(mine.map(\.statusKey) == ["progress.notDelivered"] && mine.first?.proposedName == "演示市未送达有限公司", "\(mine)")
        #expect(try await harness.client.progress(trackingNumber: receipt.trackingNumber).delivered == false)
        await gateway.setReachable(true)
        let now = Date()
        await gateway.setProgress([ApplicationProgress(
            trackingNumber: "YT-demo-kiosk-01-20261203-000009", registryNumber: "SQ-20261203-00000009", proposedName: "演示市进度有限公司",
            submittedAt: now, status: .refused,
            history: [StatusEntry(status: .received, note: nil, at: now), StatusEntry(status: .refused, note: "名称与在先企业近似", at: now)])])
        let shown = try await harness.client.progress(trackingNumber: "YT-demo-kiosk-01-20261203-000009")
        #expect(shown.statusKey == "progress.refused" && shown.note == "名称与在先企业近似" && shown.history.count == 2 && shown.delivered)
        do {
            _ = try await harness.client.progress(trackingNumber: "YT-demo-kiosk-01-20261203-000404")
            Issue.record("an unknown number was answered")
        } catch let error as CitizenAPIError { #expect(error.messageKey == "progress.none") }
        for body in [#"{"trackingNumber":"YT/../../etc"}"#, #"{"trackingNumber":"x"}"#, #"{"trackingNumber":"YT-1 OR 1=1"}"#] {
            let (code, answer) = try await harness.citizen(.post, "/v1/progress", body: body)
            #expect(code == 400 && answer.contains("progress.invalid"), "\(body): \(code) \(answer)")
        }
        #expect(!harness.log.text.contains("441900199003181234"))
        await harness.stop()
    }

    @Test func resultsByPostAreQueuedWithTheSubmissionAndNeverLogged() async throws {
        let (cups, gateway, harness) = try await Self.kiosk()
        defer { cups.stop() }
        try await harness.placeCard()
        let address = DeliveryAddress(recipient: "张三丰", mobile: "13812345678", address: "演示市高新区创业路 277 号")
        let form = ApplicationForm(proposedName: "演示市邮寄有限公司", type: "有限责任公司", registeredCapital: "10万", address: "演示市",
                                   businessScope: "软件", delivery: address)
        let receipt = try await harness.client.submitApplication(form)
        #expect(receipt.postedTo == address.masked && receipt.postedTo?.mobile == "138****5678")
        #expect(await gateway.applications.first?.delivery == address)
        let request = DocumentRequest(kind: "social-insurance-certificate")
        #expect(try await harness.client.checkFace().passed, "the certificate is the holder's: posted only after a face match")
        let posted = try await harness.client.requestDelivery(request, address: address, requestId: "delivery-request-0001")
        let again = try await harness.client.requestDelivery(request, address: address, requestId: "delivery-request-0001")
        #expect(posted == again && posted.postedTo?.recipient == "张**")
        #expect(await gateway.deliveryRequests.count == 1)
        #expect(await gateway.deliveryRequests.first?.site == "demo-hall")
        #expect(await waitUntil(10) { cups.printed("receipt").count == 2 })
        // Bad numbers and addresses are refused with the field named.
        for (mobile, place, key) in [("12345678901", "演示市高新区创业路 277 号", "delivery.mobile"), ("1381234567", "演示市高新区", "delivery.mobile"),
                                     ("13812345678", "演示市", "delivery.address")] {
            let body = #"{"request":{"kind":"social-insurance-certificate"},"address":{"recipient":"张三","mobile":"\#(mobile)","address":"\#(place)"},"requestId":"delivery-request-0009"}"#
            let (code, answer) = try await harness.citizen(.post, "/v1/deliveries", body: body)
            #expect(code == 400 && answer.contains(key), "\(mobile) \(place): \(code) \(answer)")
        }
        let licence = #"{"request":{"kind":"business-licence","uscc":"91441900100000008X"},"address":{"recipient":"张三","mobile":"13812345678","address":"演示市高新区创业路"},"requestId":"delivery-request-0010"}"#
        #expect(try await harness.citizen(.post, "/v1/deliveries", body: licence).0 == 400)
        #expect(await gateway.deliveryRequests.count == 1)
        // Never in the logs, in clear or otherwise.
        let log = harness.log.text
        #expect(!log.contains("13812345678") && !log.contains("创业路") && !log.contains("张三丰"), "\(log.suffix(2000))")
        await harness.stop()
    }

    @Test func badTicketRequestsAreRefusedWithAReason() async throws {
        let gateway = try FakeGateway()
        let harness = try await DaemonHarness(gateway: gateway)
        let cases: [(String, String, Int, String)] = [
            ("/v1/tickets", "not json", 400, "invalid JSON"),
            ("/v1/tickets", #"{"serviceCode":"SC-ESTATE"}"#, 400, "invalid JSON"),
            ("/v1/tickets", #"{"serviceCode":"SC-ESTATE","requestId":"short"}"#, 400, "requestId"),
            ("/v1/tickets", #"{"serviceCode":"sc estate","requestId":"ticket-request-0001"}"#, 400, "serviceCode"),
            ("/v1/tickets", #"{"serviceCode":"SC-ARCHIVE","requestId":"ticket-request-0001"}"#, 422, "not a counter service"),
            ("/v1/tickets", #"{"serviceCode":"SC-NOPE","requestId":"ticket-request-0001"}"#, 422, "not a counter service"),
            ("/v1/tickets", #"{"serviceCode":"SC-ESTATE","requestId":"ticket/../../x"}"#, 400, "requestId"),
            ("/v1/tickets", "{\"serviceCode\":\"SC-ESTATE\",\"requestId\":\"" + String(repeating: "a", count: 70_000) + "\"}", 413, "request body"),
            ("/v1/check-ins", #"{"requestId":"check-request-0001"}"#, 422, "card.needed"),
            ("/v1/check-ins", #"{}"#, 400, "invalid JSON"),
            ("/v1/guides/print", #"{"serviceCode":"SC-NOPE","requestId":"guide-request-0001"}"#, 422, "not a service"),
            ("/v1/guides/print", #"{"serviceCode":"SC-ESTATE","requestId":"x"}"#, 400, "requestId"),
        ]
        for (path, body, status, says) in cases {
            let (code, answer) = try await harness.citizen(.post, path, body: body)
            #expect(code == status && answer.contains(says), "\(path) \(body.prefix(60)): \(code) \(answer)")
        }
        let (reports, tickets) = (await gateway.ticketReports, await gateway.tickets)
        #expect(reports.isEmpty && tickets.isEmpty)
        await harness.stop()
    }
}
