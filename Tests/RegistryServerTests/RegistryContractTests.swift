import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KioskConfig
import KioskCore
import NIOCore
import Registry
@testable import RegistryServer
import TestSupport
import Testing

/// Records every request the registry answers, with its answer, as it crossed the wire: the
/// request's body and the answer's status, content type and body (thrown problems included).
struct RecordingMiddleware<Context: RequestContext>: RouterMiddleware {
    let log: ExchangeLog

    /// Gathers an answer's bytes.
    struct Collector: ResponseBodyWriter {
        let bytes: Locked<ByteBuffer>
        mutating func write(_ buffer: ByteBuffer) async throws {
            var buffer = buffer
            bytes.withLock { $0.writeBuffer(&buffer) }
        }
        consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var request = request
        let sent = try await request.collectBody(upTo: 4 << 20)
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        let bytes = Locked(ByteBuffer())
        let body = response.body
        try await body.write(Collector(bytes: bytes))
        let answer = bytes.withLock { $0 }
        log.record(method: request.method.rawValue, target: request.uri.description, status: Int(response.status.code),
                   contentType: response.headers[.contentType], body: String(buffer: answer),
                   requestContentType: request.headers[.contentType],
                   requestBody: sent.readableBytes == 0 ? nil : String(buffer: sent))
        response.body = ResponseBody(byteBuffer: answer)
        return response
    }
}

/// A registry over a fresh SQLite store holding the demo seed, with a kiosk and a counter of
/// hall-1, the booking system, the back office and a bundle published for the fleet.
struct ContractRegistry {
    let store: SQLiteRegistryStore
    let kiosk: KioskCredentials, counter: KioskCredentials, booking: KioskCredentials, office: KioskCredentials
    let published: PublishedBundle

    init(_ dir: TemporaryDirectory) async throws {
        store = try SQLiteRegistryStore(path: dir.path + "/registry.sqlite")
        try await store.load(try SignedReadTests.seed())
        kiosk = try KioskCredentials.generate(kioskId: "DG-0001")
        counter = try KioskCredentials.generate(kioskId: "W-01")
        booking = try KioskCredentials.generate(kioskId: "BOOKING")
        office = try KioskCredentials.generate(kioskId: "OFFICE-1")
        for (credentials, role, site) in [(kiosk, PrincipalRole.kiosk, "hall-1"), (counter, .counter, "hall-1"), (booking, .booking, nil),
                                          (office, .backoffice, nil)] as [(KioskCredentials, PrincipalRole, String?)] {
            try await store.addPrincipal(id: credentials.kioskId, publicKey: try #require(Data(base64Encoded: credentials.publicKeyBase64)),
                                         note: "", role: role, site: site)
        }
        published = try await store.publish(envelope: try FleetScaleTests.envelope(version: 3), target: "fleet", version: 3, stagePercent: 100,
                                            note: "", at: Date())
    }

    /// The registry's routes.
    func application() -> Application<RouterResponder<RegistryRequestContext>> { application { _ in } }

    /// The registry's routes behind `middleware` (first in line).
    func application<M: RouterMiddleware>(_ middleware: M) -> Application<RouterResponder<RegistryRequestContext>>
    where M.Context == RegistryRequestContext {
        application { $0.add(middleware: middleware) }
    }

    private func application(_ first: (Router<RegistryRequestContext>) -> Void) -> Application<RouterResponder<RegistryRequestContext>> {
        let router = Router(context: RegistryRequestContext.self)
        first(router)
        RegistryRoutes.add(to: router, store: store)
        return Application(router: router)
    }
}

/// Every operation of `openapi/registry.yaml` answered by the real routes over a real SQLite
/// store, through the kiosk's own client where it has a call for it: each answer must be one the
/// document lists, match its schema with no field it does not name, and each request the client
/// sends must match the document's request body.
@Suite struct RegistryContractTests {
    static let uscc = "91441900100000008X"
    static let representative = Applicant(idNumber: "441900199003181234", name: "张三")
    static let retiree = Applicant(idNumber: "11010519491231002X", name: "李四")

    @Test func everyOperationAnswersAsTheDocumentSays() async throws {
        let dir = try TemporaryDirectory(prefix: "registry-contract")
        defer { dir.remove() }
        let fixture = try await ContractRegistry(dir)
        let (kiosk, counter, booking, office, published) = (fixture.kiosk, fixture.counter, fixture.booking, fixture.office, fixture.published)
        let log = ExchangeLog()
        try await fixture.application(RecordingMiddleware(log: log)).test(.live) { tester in
            let port = try #require(tester.port)
            let base = "http://127.0.0.1:\(port)"
            func client(_ credentials: KioskCredentials) -> RegistryClient {
                RegistryClient(configuration: RegistryClientConfiguration(baseURL: base, credentials: credentials))
            }
            let registry = client(kiosk)
            let encoder = RegistryJSON.encoder()
            /// A request signed by `signer` (none: unsigned); answers the status.
            @discardableResult
            func send(_ method: HTTPRequest.Method, _ path: String, _ body: String = "", by signer: KioskCredentials? = kiosk,
                      idempotencyKey: String? = nil) async throws -> Int {
                var headers: HTTPFields = [.contentType: "application/json"]
                if let signer {
                    for (name, value) in signer.headers(method: method.rawValue, pathAndQuery: path, body: Data(body.utf8), idempotencyKey: idempotencyKey) {
                        headers[try #require(HTTPField.Name(name))] = value
                    }
                }
                if let idempotencyKey { headers[try #require(HTTPField.Name("Idempotency-Key"))] = idempotencyKey }
                return try await tester.execute(uri: path, method: method, headers: headers, body: ByteBuffer(string: body)) { Int($0.status.code) }
            }

            // Health and the public verification of a printed document.
            _ = try await registry.health()
            let code = CrockfordBase32.encode((0..<VerificationRecord.codeBytes).map { UInt8($0 * 7 % 256) })
            let verification = VerificationRecord(code: code, kind: "business-licence", fields: [["name", "东莞市示例科技有限公司"]],
                                                  sha256: String(repeating: "ab", count: 32))
            let printed = PrintRecord(visitId: "visit-1", documentKind: "business-licence", uscc: Self.uscc, verificationCode: code,
                                      outcome: "completed", pages: 1, printedAt: Date(), verification: verification)
            _ = try await registry.submit(kind: .printRecords, idempotencyKey: "print-1", body: try encoder.encode(printed))
            _ = try await registry.verification(code: code)
            _ = try await registry.verification(code: "YTJ2:" + code.replacingOccurrences(of: "-", with: ""))   // as the QR code holds it
            #expect(try await send(.get, "/v1/verifications/not-a-code", by: nil) == 400)
            #expect(try await send(.get, "/v1/verifications/" + CrockfordBase32.encode([UInt8](repeating: 1, count: VerificationRecord.codeBytes)), by: nil) == 404)

            // Document keys.
            let documentKey = Curve25519.Signing.PrivateKey().publicKey.rawRepresentation.base64EncodedString()
            let registered = try await registry.registerDocumentKey(publicKey: documentKey)
            _ = try await registry.documentKeys(keyId: registered.keyId)
            #expect(try await send(.get, "/v1/document-keys/!!", by: nil) == 400)
            #expect(try await send(.get, "/v1/document-keys/" + String(registered.keyId.reversed()), by: nil) == 404)
            #expect(try await send(.put, "/v1/document-keys", "{\"publicKey\": \"short\"}") == 422)
            #expect(try await send(.put, "/v1/document-keys", "{}", by: nil) == 401)

            // Enterprise reads and questions.
            _ = try await registry.enterprise(uscc: Self.uscc)
            _ = try await registry.archive(uscc: Self.uscc)
            #expect(try await registry.search(name: "演示市", limit: 5).isEmpty == false)
            #expect(try await send(.get, "/v1/enterprises/123") == 400)
            for read in ["/v1/enterprises/\(Self.uscc)", "/v1/enterprises/\(Self.uscc)/archive", "/v1/enterprises?name=x",
                         "/v1/persons/\(Self.retiree.idNumber)/social-insurance"] {
                #expect(try await send(.get, read, by: nil) == 401, "an unsigned \(read)")
            }
            try await send(.get, "/v1/enterprises/91441900100000009X")
            #expect(try await send(.get, "/v1/enterprises?name=x&limit=zero") == 400)
            _ = try await registry.socialInsurance(idNumber: Self.retiree.idNumber)
            #expect(try await send(.get, "/v1/persons/123/social-insurance") == 400)
            try await send(.get, "/v1/persons/110101199003070011/social-insurance")
            _ = try await registry.checkName("东莞市示例科技有限公司")
            #expect(try await send(.post, "/v1/name-checks", "{}") == 400)
            _ = try await registry.authorizePrint(kind: .businessLicence, uscc: Self.uscc, idNumber: Self.representative.idNumber)
            #expect(try await send(.post, "/v1/print-authorizations",
                                   "{\"kind\": \"archive\", \"uscc\": \"\(Self.uscc)\", \"idNumber\": \"\(Self.retiree.idNumber)\"}") == 403)

            // Submissions, one of every kind, and a batch.
            let now = Date()
            let tracking = "YT-DG-0001-20261204-000001"
            let application = ApplicationSubmission(
                trackingNumber: tracking, applicant: Self.representative, proposedName: "东莞市契约测试科技有限公司", type: "有限责任公司",
                registeredCapital: "人民币壹佰万元", address: "东莞市南城区", businessScope: "软件开发", submittedAt: now,
                delivery: DeliveryAddress(recipient: "张三", mobile: "13812345678", address: "东莞市南城区鸿福路 100 号"),
                parties: [ApplicationParty(idNumber: Self.representative.idNumber, name: "张三", roles: [.investor, .legalRepresentative, .contact], shareBasisPoints: 6000),
                          ApplicationParty(idNumber: Self.retiree.idNumber, name: "李四", roles: [.investor, .supervisor], shareBasisPoints: 4000)])
            let receipt = try await registry.submit(kind: .applications, idempotencyKey: "application-1", body: try encoder.encode(application))
            let rating = RatingRecord(visitId: "visit-1", level: 5, reason: nil, serviceCode: "archive-query", formVersion: 1, ratedAt: now)
            _ = try await registry.submit(kind: .ratings, idempotencyKey: "rating-1", body: try encoder.encode(rating))
            let heartbeat = Heartbeat(deviceStatus: ["reader": "ok"], outboxDepth: 0, configVersion: "3", sentAt: now)
            _ = try await registry.submit(kind: .heartbeats, idempotencyKey: "heartbeat-1", body: try encoder.encode(heartbeat))
            let pension = PensionConfirmation(confirmationId: "RZ-confirm-0001", applicant: Self.retiree, year: CalendarDate.today(now: now).year,
                                              confirmedAt: now, liveness: "blink")
            _ = try await registry.submit(kind: .pensionConfirmations, idempotencyKey: "pension-1", body: try encoder.encode(pension))
            let loss = CardLossReport(reportId: "GS-loss-00000001", applicant: Self.retiree, cardNumber: nil, reportedAt: now)
            _ = try await registry.submit(kind: .cardLosses, idempotencyKey: "loss-1", body: try encoder.encode(loss))
            let party = PartyConfirmation(confirmationId: "QR-confirm-0001", trackingNumber: tracking, applicant: Self.retiree, confirmedAt: now,
                                          faceMatched: true)
            _ = try await registry.submit(kind: .partyConfirmations, idempotencyKey: "party-1", body: try encoder.encode(party))
            let delivery = DeliveryRequest(deliveryId: "delivery-0000001", site: "hall-1", documentKind: "social-insurance-certificate",
                                           applicant: Self.retiree, address: DeliveryAddress(recipient: "李四", mobile: "13812345678", address: "东莞市东城区东纵路 8 号"),
                                           requestedAt: now)
            _ = try await registry.submit(kind: .deliveries, idempotencyKey: "delivery-1", body: try encoder.encode(delivery))
            #expect(try await send(.post, "/v1/ratings", "{}", idempotencyKey: "rating-bad") == 422)
            #expect(try await send(.post, "/v1/ratings", "{}", by: nil, idempotencyKey: "rating-unsigned") == 401)
            #expect(try await send(.post, "/v1/ratings", "{}") == 400)
            var other = rating
            other.level = 1
            #expect(try await send(.post, "/v1/ratings", String(decoding: try encoder.encode(other), as: UTF8.self), idempotencyKey: "rating-1") == 409)
            var second = rating
            second.visitId = "visit-2"
            _ = try await registry.submitBatch([BatchItem(kind: .ratings, idempotencyKey: "rating-2", body: try encoder.encode(second))])

            // The hall: a number, an appointment checked in, the queues, a counter calling.
            let ticket = try await registry.reserveTicket(site: "hall-1", TicketRequest(ticketId: "ticket-0001", queue: "A", serviceCode: "SC-ESTATE"))
            let report = TicketReport(ticketId: ticket.ticketId, site: ticket.site, queue: ticket.queue, number: ticket.number,
                                      serviceCode: ticket.serviceCode, issuedAt: ticket.issuedAt, offline: false)
            _ = try await registry.submit(kind: .tickets, idempotencyKey: "ticket-report-1", body: try encoder.encode(report))
            let slot = Appointment(id: "booking-0001", site: "hall-1", serviceCode: "SC-ESTATE", queue: "A", idNumber: Self.representative.idNumber,
                                   name: "张三", startsAt: HallDayTime.startOfDay(now, within: 300), endsAt: HallDayTime.endOfDay(now, within: 600))
            let bookings = client(booking)
            _ = try await bookings.storeAppointment(slot)
            _ = try await bookings.storeAppointment(slot)                                          // 200: the same one again
            _ = try? await registry.checkIn(site: "hall-1", CheckInRequest(idNumber: Self.representative.idNumber, ticketId: "check-0001"))
            #expect(try await send(.post, "/v1/halls/hall-2/tickets", "{\"ticketId\": \"ticket-0002\", \"queue\": \"A\", \"serviceCode\": \"SC-ESTATE\"}") == 403)
            _ = try await registry.hallFigures(site: "hall-1")
            _ = try await client(counter).callNext(site: "hall-1", queue: "A", counter: 3, idempotencyKey: "call-1")

            // Progress, openings, the back office, deliveries by post.
            _ = try await registry.progress(number: tracking)
            _ = try await registry.progress(idNumber: Self.representative.idNumber)
            _ = try await registry.openings(idNumber: Self.retiree.idNumber)
            #expect(try await send(.get, "/v1/applications/YT-none-0001/progress") == 404)
            _ = try await client(office).setStatus(number: receipt.registryNumber, StatusChange(status: .underReview, note: "审查中"),
                                                   idempotencyKey: "status-1")
            #expect(try await send(.get, "/v1/deliveries?site=hall-1", by: counter) == 200)
            #expect(try await send(.post, "/v1/deliveries/delivery-0000001/posted", by: counter) == 200)
            #expect(try await send(.post, "/v1/deliveries/delivery-none/posted", by: counter) == 404)

            // Configuration: the announcement, the bundle, the kiosk's report.
            let announcements = try await registry.configAnnouncements(site: "hall-1", etag: nil, wait: 0)
            #expect(announcements.bundles.contains { $0.id == String(published.id) })
            _ = try await registry.configBundle(id: String(published.id))
            try await registry.reportConfig(ConfigReport(target: "fleet", version: 3, result: "committed", reason: nil, generation: 1, at: now))
            #expect(try await send(.get, "/v1/config/bundles/999") == 404)
        }
        let result = try log.check(against: "openapi/registry.yaml")
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }

    /// The checker itself: an undocumented field, a status the operation does not list, a route
    /// the document does not have and an operation nobody reached are each a problem.
    @Test func theCheckerFindsWhatTheDocumentDoesNotSay() throws {
        let log = ExchangeLog()
        log.record(method: "GET", target: "/v1/health", status: 200, contentType: "application/json",
                   body: #"{"status": "ok", "serverTime": "2026-12-05T00:00:00Z", "version": "1", "secret": "x"}"#)
        log.record(method: "GET", target: "/v1/health", status: 418, contentType: "application/json", body: "{}")
        log.record(method: "DELETE", target: "/v1/enterprises", status: 200, contentType: "application/json", body: "{}")
        let result = try log.check(against: "openapi/registry.yaml")
        #expect(result.status == 1)
        #expect(result.stdout.contains("'secret' was unexpected"), "\(result.stdout)")
        #expect(result.stdout.contains("status 418 is not one getHealth lists"), "\(result.stdout)")
        #expect(result.stdout.contains("DELETE /v1/enterprises → 200: no operation in the document"), "\(result.stdout)")
        #expect(result.stdout.contains("(postRatings): no exchange reached it"), "\(result.stdout)")
    }
}
