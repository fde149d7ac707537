import Foundation
import KioskAPI
import KioskCore
@testable import KioskDaemon
@testable import Registry
import Testing
import TestSupport

/// kioskd keeps the contract `openapi/local-api.yaml` states: every operation of both sockets is
/// asked on a running kioskd (a registry in memory and a real cupsd for the citizen's services and
/// configuration, kioskd's own outbox for the queue and heartbeat), its successes and its main
/// refusals, and each answer is held to the document by `scripts/check-exchanges.py`: a listed
/// status, the listed content type, a JSON body with no field the document does not name, and a
/// request body the document describes.
@Suite(.serialized) struct LocalAPIContractTests {
    @Test func everyOperationAnswersAsTheDocumentSays() async throws {
        let log = ExchangeLog()
        try await citizenServicesAndConfiguration(log)
        try await outboxAndHeartbeat(log)
        let result = try log.check(against: "openapi/local-api.yaml")
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }

    /// The citizen socket with and without a card, and the technician's maintenance, audit,
    /// configuration and diagnostics, on a kiosk with a registry in memory and printers.
    func citizenServicesAndConfiguration(_ log: ExchangeLog) async throws {
        let cups = try await offThePool { try CupsTestBed() }
        defer { cups.stop() }
        let signers = Signers()
        let gateway = try FakeGateway()
        let harness = try await DaemonHarness(gateway: gateway, cups: cups,
                                              trustedRoot: try signers.signedRoot(signers.rootMetadata(), by: signers.rootKeys))
        try await waitFor("printers polled") {
            let printers = await harness.daemon.state.printers
            return printers["a4"] != nil && printers["receipt"] != nil
        }
        let wire = Wire(harness: harness, log: log)
        let uscc = await gateway.record.enterprise.uscc
        try await gateway.prepareForEveryService()

        // Without a card.
        try await wire.call(.citizen, "GET", "/v1/interface", expect: 200)
        try await wire.call(.citizen, "GET", "/v1/status", expect: 200)
        try await wire.call(.technician, "GET", "/v1/status", expect: 200)
        try await wire.call(.citizen, "POST", "/v1/touch", expect: 204)
        let query = try #require("演示".addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed))
        try await wire.call(.citizen, "GET", "/v1/enterprises?q=\(query)", expect: 200)
        try await wire.call(.citizen, "GET", "/v1/enterprises?q=x", expect: 400)
        try await wire.call(.citizen, "GET", "/v1/enterprises/\(uscc)", expect: 200)
        try await wire.call(.citizen, "GET", "/v1/enterprises/not-a-code", expect: 400)
        try await wire.call(.citizen, "GET", "/v1/enterprises/911111111111111111", expect: 422)
        try await wire.call(.citizen, "POST", "/v1/tickets", #"{"serviceCode":"SC-ESTATE","requestId":"contract-ticket-0001"}"#, expect: 200)
        try await wire.call(.citizen, "POST", "/v1/tickets", #"{"serviceCode":"SC-ESTATE","requestId":"short"}"#, expect: 400)
        try await wire.call(.citizen, "POST", "/v1/tickets", #"{"serviceCode":"SC-ARCHIVE","requestId":"contract-ticket-0002"}"#, expect: 422)
        try await wire.call(.citizen, "POST", "/v1/guides/print", #"{"serviceCode":"SC-ESTATE","requestId":"contract-guide-0001"}"#, expect: 200)
        try await wire.call(.citizen, "POST", "/v1/guides/print", #"{"serviceCode":"SC-NOPE","requestId":"contract-guide-0002"}"#, expect: 422)
        try await wire.call(.citizen, "POST", "/v1/progress", #"{"trackingNumber":"\#(Self.tracked)"}"#, expect: 200)
        try await wire.call(.citizen, "POST", "/v1/progress", #"{"trackingNumber":"YT/../../etc"}"#, expect: 400)
        try await wire.call(.citizen, "POST", "/v1/progress", #"{"trackingNumber":"YT-demo-kiosk-01-20261203-000404"}"#, expect: 422)
        try await wire.call(.citizen, "POST", "/v1/progress/print", #"{"trackingNumber":"\#(Self.tracked)","requestId":"contract-progress-0001"}"#,
                            expect: 200)
        try await wire.call(.citizen, "POST", "/v1/progress/print", #"{"trackingNumber":"\#(Self.tracked)","requestId":"x"}"#, expect: 400)
        try await wire.call(.citizen, "POST", "/v1/name-checks", #"{"proposedName":"演示市测试科技有限公司"}"#, expect: 200)
        try await wire.call(.citizen, "POST", "/v1/name-checks", #"{"proposedName":""}"#, expect: 400)
        try await wire.call(.citizen, "POST", "/v1/check-ins", #"{"requestId":"contract-check-0001"}"#, expect: 422)
        try await wire.call(.citizen, "GET", "/v1/progress/mine", expect: 422)
        try await wire.call(.citizen, "POST", "/v1/face-checks", expect: 422)

        // The technician: maintenance, audit, diagnostics; no outbox on this kiosk.
        try await wire.call(.technician, "POST", "/v1/maintenance", #"{"on":true}"#, expect: 400)
        try await wire.firstEvent(.technician, "/v1/events") {
            try await wire.call(.technician, "POST", "/v1/maintenance", #"{"on":true,"reason":"更换打印纸"}"#, expect: 200)
        }
        try await wire.call(.citizen, "GET", "/v1/status", expect: 200)
        try await wire.call(.citizen, "POST", "/v1/tickets", #"{"serviceCode":"SC-ESTATE","requestId":"contract-ticket-0003"}"#, expect: 422)
        try await wire.call(.technician, "POST", "/v1/maintenance", #"{"on":false}"#, expect: 200)
        try await wire.call(.technician, "GET", "/v1/audit?limit=20", expect: 200)
        try await wire.call(.technician, "GET", "/v1/audit?limit=0", expect: 400)
        try await wire.call(.technician, "GET", "/v1/diagnostics/reader", expect: 200)
        try await wire.call(.technician, "GET", "/v1/diagnostics/verifier", expect: 200)
        try await wire.call(.technician, "GET", "/v1/diagnostics/outbox", expect: 404)
        try await wire.call(.technician, "GET", "/v1/diagnostics/heartbeat", expect: 404)
        try await wire.call(.technician, "GET", "/v1/queue", expect: 404)
        try await wire.call(.technician, "GET", "/v1/queue/items", expect: 404)

        // Configuration: the embedded default, a bundle handed over, its difference, a rollback.
        try await wire.call(.technician, "GET", "/v1/config", expect: 200)
        try await wire.call(.technician, "GET", "/v1/config/diff", expect: 200)
        try await wire.call(.technician, "POST", "/v1/config/rollback", #"{"reason":"nothing to return to"}"#, expect: 409)
        try await wire.call(.technician, "POST", "/v1/config/rollback", #"{"reason":" "}"#, expect: 400)
        let texts = try String(contentsOfFile: BuiltProducts.repositoryPath("kiosk-config/texts.yaml"), encoding: .utf8)
        let bundle = try signers.bundle(version: 1, files: ["texts.yaml": Data(texts.replacingOccurrences(of: "请将身份证放在读卡区",
                                                                                                          with: "请将居民身份证放在读卡区").utf8)])
        try await wire.call(.technician, "POST", "/v1/config/bundles", String(decoding: bundle, as: UTF8.self), expect: 200)
        try await wire.call(.technician, "POST", "/v1/config/bundles", String(decoding: bundle, as: UTF8.self), expect: 422)
        try await wire.call(.technician, "GET", "/v1/config", expect: 200)
        try await wire.call(.technician, "GET", "/v1/config/diff", expect: 200)
        try await wire.call(.technician, "POST", "/v1/config/rollback", #"{"reason":"back to the embedded default"}"#, expect: 200)

        // The resident's card: every service of the visit.
        try await wire.firstEvent(.citizen, "/v1/events") { try await harness.placeCard() }
        try await wire.call(.citizen, "GET", "/v1/status", expect: 200)
        let licence = #"{"kind":"business-licence","uscc":"\#(uscc)"}"#
        try await wire.call(.citizen, "POST", "/v1/documents/preview", licence, expect: 422)   // face.needed
        try await wire.call(.citizen, "POST", "/v1/face-checks", expect: 200)
        try await wire.call(.citizen, "POST", "/v1/documents/preview", licence, expect: 200)
        try await wire.call(.citizen, "POST", "/v1/documents/preview", #"{"kind":"passport"}"#, expect: 400)
        try await wire.call(.citizen, "POST", "/v1/prints", #"{"request":\#(licence),"requestId":"contract-print-0001"}"#, expect: 200)
        try await wire.call(.citizen, "POST", "/v1/prints", #"{"request":\#(licence),"requestId":"x"}"#, expect: 400)
        let form = #""type":"有限责任公司","registeredCapital":"人民币壹佰万元","address":"演示市高新区创业路1号","businessScope":"软件开发""#
        try await wire.call(.citizen, "POST", "/v1/applications", #"{"proposedName":"演示市契约科技有限公司",\#(form)}"#, expect: 200)
        try await wire.call(.citizen, "POST", "/v1/applications", #"{"proposedName":" ",\#(form)}"#, expect: 400)
        try await wire.call(.citizen, "POST", "/v1/ratings", #"{"level":9,"serviceCode":"SC-LICENCE","formVersion":1}"#, expect: 400)
        try await wire.call(.citizen, "POST", "/v1/ratings", #"{"level":2,"reason":"等待时间长","serviceCode":"SC-LICENCE","formVersion":1}"#,
                            expect: 204)
        try await wire.call(.citizen, "POST", "/v1/ratings", #"{"level":5,"serviceCode":"SC-LICENCE","formVersion":1}"#, expect: 422)   // rated already
        var early = Problem(statusCode: 422, code: "appointment.too-early", title: "", detail: "early")
        early.facts = ["startsAt": "2026-12-04T02:00:00Z", "endsAt": "2026-12-04T02:30:00Z"]
        await gateway.setCheckIn(.refused(early))
        try await wire.call(.citizen, "POST", "/v1/check-ins", #"{"requestId":"contract-check-0002"}"#, expect: 422)   // with the slot's values
        await gateway.setCheckIn(.ticket(HallTicket(ticketId: "contract-check-0003", site: "demo-hall", queue: "B", number: "B001",
                                                     serviceCode: "SC-FUND", issuedAt: Date(), priority: true, state: .reserved, ahead: 0)))
        try await wire.call(.citizen, "POST", "/v1/check-ins", #"{"requestId":"contract-check-0003"}"#, expect: 200)
        try await wire.call(.citizen, "POST", "/v1/check-ins", #"{}"#, expect: 400)
        try await wire.call(.citizen, "GET", "/v1/progress/mine", expect: 200)
        let address = #"{"recipient":"张三丰","mobile":"13812345678","address":"演示市高新区创业路 277 号"}"#
        try await wire.call(.citizen, "POST", "/v1/deliveries",
                            #"{"request":{"kind":"social-insurance-certificate"},"address":\#(address),"requestId":"contract-delivery-0001"}"#,
                            expect: 200)
        let badMobile = #"{"recipient":"张三","mobile":"12345678901","address":"演示市高新区创业路 277 号"}"#
        try await wire.call(.citizen, "POST", "/v1/deliveries",
                            #"{"request":{"kind":"social-insurance-certificate"},"address":\#(badMobile),"requestId":"contract-delivery-0002"}"#,
                            expect: 400)
        try await wire.call(.citizen, "GET", "/v1/insurance/mine", expect: 200)
        try await wire.call(.citizen, "GET", "/v1/security-card", expect: 200)
        try await wire.call(.citizen, "POST", "/v1/security-card/losses", #"{"requestId":"contract-loss-0001"}"#, expect: 200)
        try await wire.call(.citizen, "POST", "/v1/security-card/losses", #"{"requestId":"x"}"#, expect: 400)
        try await wire.call(.citizen, "GET", "/v1/openings", expect: 200)
        try await wire.call(.citizen, "POST", "/v1/openings/confirmations",
                            #"{"trackingNumber":"\#(Self.invitation)","requestId":"contract-opening-0001"}"#, expect: 200)
        try await wire.call(.citizen, "POST", "/v1/openings/confirmations",
                            #"{"trackingNumber":"YT-demo-kiosk-09-20261203-000404","requestId":"contract-opening-0002"}"#, expect: 422)
        try await wire.call(.citizen, "POST", "/v1/openings/confirmations", #"{"trackingNumber":"x","requestId":"contract-opening-0003"}"#,
                            expect: 400)
        try await wire.call(.citizen, "POST", "/v1/pension-confirmations", #"{"requestId":"contract-pension-0001"}"#, expect: 200)
        try await wire.call(.citizen, "POST", "/v1/pension-confirmations", #"{"requestId":"x"}"#, expect: 400)
        try await wire.call(.citizen, "POST", "/v1/session/end", expect: 204)

        // The card holder's own records need the card.
        try await harness.removeCard()
        for path in ["/v1/insurance/mine", "/v1/security-card", "/v1/openings"] {
            try await wire.call(.citizen, "GET", path, expect: 422)
        }
        try await wire.call(.citizen, "POST", "/v1/deliveries",
                            #"{"request":{"kind":"social-insurance-certificate"},"address":\#(address),"requestId":"contract-delivery-0003"}"#,
                            expect: 422)
        try await wire.call(.citizen, "POST", "/v1/security-card/losses", #"{"requestId":"contract-loss-0002"}"#, expect: 422)
        try await wire.call(.citizen, "POST", "/v1/pension-confirmations", #"{"requestId":"contract-pension-0002"}"#, expect: 422)
        try await wire.call(.citizen, "POST", "/v1/prints", #"{"request":\#(licence),"requestId":"contract-print-0002"}"#, expect: 422)
        try await wire.call(.citizen, "POST", "/v1/applications", #"{"proposedName":"演示市契约科技有限公司",\#(form)}"#, expect: 422)
        await harness.stop()
    }

    /// The outbox and heartbeat on a kiosk whose registry gateway is kioskd's own, its registry
    /// unreachable: queued items, their details, dead letters retried and purged.
    func outboxAndHeartbeat(_ log: ExchangeLog) async throws {
        let harness = try await DaemonHarness(gateway: nil)
        let outbox = try #require(harness.daemon.backedGateway?.outbox)
        let wire = Wire(harness: harness, log: log)
        let rating = { (visit: String) in
            RatingRecord(visitId: visit, level: 4, reason: nil, serviceCode: "SC-LICENCE", formVersion: 1, ratedAt: Date())
        }
        let first = try outbox.enqueue(.ratings, rating("contract-visit-1"))
        let second = try outbox.enqueue(.ratings, rating("contract-visit-2"))
        try await wire.call(.technician, "GET", "/v1/queue", expect: 200)
        try await wire.call(.technician, "GET", "/v1/queue/items?stream=ratings&limit=10", expect: 200)
        try await wire.call(.technician, "GET", "/v1/queue/items?stream=nope", expect: 400)
        try await wire.call(.technician, "GET", "/v1/queue/items/\(first.id)", expect: 200)
        try await wire.call(.technician, "GET", "/v1/queue/items/999999", expect: 404)
        try await wire.call(.technician, "GET", "/v1/queue/items/abc", expect: 400)
        try await wire.call(.technician, "GET", "/v1/diagnostics/outbox", expect: 200)
        try await wire.call(.technician, "GET", "/v1/diagnostics/heartbeat", expect: 200)

        // Past their time to live, both are dead letters: one sent again, the other removed.
        let expired = try await outbox.expire(now: Date().addingTimeInterval(400 * 86_400))
        #expect(expired >= 2)
        try await wire.call(.technician, "GET", "/v1/queue/items?dead=true", expect: 200)
        try await wire.call(.technician, "GET", "/v1/queue/items/\(second.id)", expect: 200)
        let operation = #"{"who":"contract","why":"the registry is back"}"#
        try await wire.call(.technician, "POST", "/v1/queue/items/\(first.id)/retry", operation, expect: 204)
        try await wire.call(.technician, "POST", "/v1/queue/items/\(first.id)/retry", #"{"who":"","why":""}"#, expect: 400)
        try await wire.call(.technician, "POST", "/v1/queue/items/999999/retry", operation, expect: 404)
        try await wire.call(.technician, "POST", "/v1/queue/items/\(second.id)/purge", operation, expect: 204)
        try await wire.call(.technician, "POST", "/v1/queue/items/\(second.id)/purge", operation, expect: 404)
        try await wire.call(.technician, "POST", "/v1/queue/items/0/purge", operation, expect: 400)
        try await wire.call(.technician, "GET", "/v1/queue", expect: 200)
        await harness.stop()
    }

    /// The application whose progress is asked without a card.
    static let tracked = "YT-demo-kiosk-01-20261203-000009"
    /// The application that names the resident as a party still to confirm.
    static let invitation = "YT-demo-kiosk-02-20261203-000007"
}

extension FakeGateway {
    /// Data for every citizen service: a retiree with a social security card, an application's
    /// progress, and an application naming the holder as a party still to confirm.
    func prepareForEveryService() throws {
        person.pension = PensionEntitlement(startedOn: try #require(CalendarDate(year: 2020, month: 7, day: 1)), monthlyAmount: Money(fen: 356_000))
        person.pensionAccount = PensionAccount(balance: Money(fen: 13_440_000), asOf: try #require(CalendarDate(year: 2026, month: 11, day: 30)))
        person.securityCard = SecurityCard(number: "A12345678", issuedOn: try #require(CalendarDate(year: 2018, month: 3, day: 1)))
        let now = Date()
        progressRecords = [ApplicationProgress(
            trackingNumber: LocalAPIContractTests.tracked, registryNumber: "SQ-20261203-00000009", proposedName: "演示市进度有限公司",
            submittedAt: now, status: .refused,
            history: [StatusEntry(status: .received, note: nil, at: now), StatusEntry(status: .refused, note: "名称与在先企业近似", at: now)])]
        let state = OpeningState(stage: .awaiting, confirmBy: now.addingTimeInterval(7 * 86_400), parties: [
            PartyStanding(maskedName: "李*", roles: [.investor, .legalRepresentative, .contact], shareBasisPoints: 6_000, confirmedAt: now),
            PartyStanding(maskedName: "张*", roles: [.investor, .supervisor], shareBasisPoints: 4_000, confirmedAt: nil),
        ])
        invitations = [OpeningInvitation(trackingNumber: LocalAPIContractTests.invitation, proposedName: "演示市合伙科技有限公司", type: "有限责任公司",
                                         registeredCapital: "人民币壹佰万元", applicantMaskedName: "李*", roles: [.investor, .supervisor],
                                         shareBasisPoints: 4_000, confirmedAt: nil, state: state)]
    }
}

/// Requests on a kioskd's sockets with `curl`, each recorded with its answer.
struct Wire {
    enum Socket { case citizen, technician }

    let harness: DaemonHarness
    let log: ExchangeLog

    func path(_ socket: Socket) -> String {
        socket == .citizen ? harness.options.citizenSocket : harness.options.technicianSocket
    }

    /// Sends one request and records it; the answer's status must be `status`.
    @discardableResult
    func call(_ socket: Socket, _ method: String, _ target: String, _ body: String? = nil, expect status: Int,
              sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        var arguments = ["-s", "-o", "-", "-w", "\n%{http_code}\n%{content_type}", "--max-time", "10", "--unix-socket", path(socket), "-X", method]
        if let body { arguments += ["-H", "Content-Type: application/json", "--data-binary", body] }
        arguments.append("http://kioskd" + target)
        let result = try await offThePool { [arguments] in try ProcessRunner.run("/usr/bin/curl", arguments, timeout: 20) }
        var lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let contentType = lines.popLast() ?? ""
        let code = Int(lines.popLast() ?? "") ?? 0
        let answer = lines.joined(separator: "\n")
        log.record(method: method, target: target, status: code, contentType: contentType.isEmpty ? nil : contentType, body: answer,
                   requestBody: body)
        #expect(code == status, "\(method) \(target): \(code) \(answer.prefix(400))", sourceLocation: sourceLocation)
        return answer
    }

    /// Opens an event stream and, once kioskd answered it, lets `cause` make something happen;
    /// records the stream's status, content type and first event.
    func firstEvent(_ socket: Socket, _ target: String, after cause: () async throws -> Void,
                    sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let directory = try TemporaryDirectory(prefix: "events")
        defer { directory.remove() }
        let headers = directory.path + "/headers", events = directory.path + "/events"
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-s", "-N", "-D", headers, "-o", events, "--max-time", "30", "--unix-socket", path(socket), "http://kioskd" + target]
        try curl.run()
        defer {
            // SIGKILL: curl inherits this process's ignored SIGTERM (kioskd's graceful stop takes it).
            if curl.isRunning { kill(curl.processIdentifier, SIGKILL) }
            curl.waitUntilExit()
        }
        // The answer's head is written once kioskd has subscribed the stream.
        try await waitFor("the event stream's head") { (try? String(contentsOfFile: headers, encoding: .utf8))?.contains("\r\n\r\n") == true }
        try await cause()
        try await waitFor("the first event") { (try? String(contentsOfFile: events, encoding: .utf8))?.contains("\n") == true }
        let head = try String(contentsOfFile: headers, encoding: .utf8).split(separator: "\r\n").map(String.init)
        let code = head.first.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        let contentType = head.first { $0.lowercased().hasPrefix("content-type:") }
            .map { String($0.dropFirst("content-type:".count)).trimmingCharacters(in: .whitespaces) }
        let first = try String(contentsOfFile: events, encoding: .utf8).split(separator: "\n").first.map(String.init) ?? ""
        log.record(method: "GET", target: target, status: code, contentType: contentType, body: first)
        #expect(code == 200, "GET \(target): \(head)", sourceLocation: sourceLocation)
    }
}
