import Foundation
import Hummingbird
import KioskAPI
import KioskCore
import Registry
import NIOCore

/// The citizen socket's HTTP routes over any `CitizenOperations`. The same routes serve the daemon's
/// real service on `/run/yitiji/citizen.sock` and an in-process service in tests.
///
/// Routes (JSON bodies; errors are `{"messageKey": ..., "detail": ...}` with a 4xx/5xx status):
/// `GET /v1/interface`, `GET /v1/status`, `GET /v1/events` (newline-delimited JSON, one event per
/// line, until the client goes away), `POST /v1/touch`, `GET /v1/enterprises?q=`,
/// `GET /v1/enterprises/{uscc}`, `POST /v1/documents/preview`, `POST /v1/prints`
/// (`{"request": DocumentRequest, "requestId": "..."}`), `POST /v1/applications`,
/// `POST /v1/ratings`, `POST /v1/tickets` (`{"serviceCode", "requestId"}`), `POST /v1/check-ins`
/// (`{"requestId"}`), `POST /v1/guides/print` (`{"serviceCode", "requestId"}`), `POST /v1/progress`
/// (`{"trackingNumber"}`), `GET /v1/progress/mine`, `POST /v1/progress/print` (`{"trackingNumber",
/// "requestId"}`), `POST /v1/deliveries` (`{"request", "address": {"recipient", "mobile", "address"},
/// "requestId"}`), `GET /v1/openings`, `POST /v1/openings/confirmations` (`{"trackingNumber",
/// "requestId"}`), `POST /v1/session/end`.
public enum CitizenRoutes {
    /// Largest request body accepted on the citizen socket.
    public static let maxBodyBytes = 64 * 1024

    /// A request id: 8 to 64 of A-Z a-z 0-9 - (a UUID fits), as the registry takes ticket ids.
    /// The checked request id of a request that carries only that.
    static func requestId<Context: RequestContext>(_ request: Request, _ context: Context) async throws -> String {
        let ask = try await decode(RequestIdAsk.self, request, context)
        try checkRequestId(ask.requestId)
        return ask.requestId
    }

    static func checkRequestId(_ id: String) throws {
        guard HallNames.isTicketId(id) else {
            throw LocalAPIError(status: .badRequest, messageKey: "error.generic", detail: "requestId must hold 8 to 64 of A-Z a-z 0-9 -")
        }
    }

    /// A postal address the registry will take: the field and why in `delivery.<field>`.
    static func checkDelivery(_ address: DeliveryAddress) throws {
        if let (field, why) = address.problem() {
            throw LocalAPIError(status: .badRequest, messageKey: "delivery." + field, detail: "delivery.\(field): \(why)")
        }
    }

    /// A tracking number as printed on receipts: 6 to 80 of A-Z a-z 0-9 . _ -.
    static func checkTrackingNumber(_ number: String) throws {
        guard ProgressNames.isNumber(number) else {
            throw LocalAPIError(status: .badRequest, messageKey: "progress.invalid",
                                detail: "a tracking number is 6 to 80 of A-Z a-z 0-9 . _ -, as on the receipt (YT-…)")
        }
    }

    static func checkServiceCode(_ code: String) throws {
        guard HallNames.isServiceCode(code) else {
            throw LocalAPIError(status: .badRequest, messageKey: "error.generic", detail: "serviceCode must be 2 to 32 of A-Z 0-9 -")
        }
    }

    /// Adds every citizen route to `router`.
    public static func add<Context: RequestContext>(to router: Router<Context>, service: any CitizenOperations) {
        let v1 = router.group("v1")
        v1.get("interface") { _, _ in try await json { try await service.interfaceConfiguration() } }
        v1.get("status") { _, _ in try await json { try await service.status() } }
        v1.post("touch") { _, _ in
            await service.touch()
            return Response(status: .noContent)
        }
        v1.get("events") { _, _ in eventStream(service.events()) }
        v1.get("enterprises") { request, _ in
            guard let query = request.uri.queryParameters.get("q", as: String.self)?.trimmingCharacters(in: .whitespaces),
                  (2...60).contains(query.count) else {
                throw LocalAPIError(status: .badRequest, messageKey: "error.invalidQuery",
                                    detail: "query parameter q must hold 2 to 60 characters")
            }
            return try await json { try await service.searchEnterprises(query) }
        }
        v1.get("enterprises/:uscc") { _, context in
            let uscc = try context.parameters.require("uscc")
            guard uscc.count == 18, uscc.allSatisfy({ $0.isASCII && ($0.isNumber || $0.isUppercase) }) else {
                throw LocalAPIError(status: .badRequest, messageKey: "error.notfound",
                                    detail: "'\(uscc.prefix(40))' is not an 18-character unified social credit code")
            }
            return try await json { try await service.enterprise(uscc: uscc) }
        }
        v1.post("documents/preview") { request, context in
            let body = try await decode(DocumentRequest.self, request, context)
            try validate(body)
            return try await json { try await service.preview(body) }
        }
        v1.post("prints") { request, context in
            let body = try await decode(PrintAsk.self, request, context)
            try validate(body.request)
            guard (8...64).contains(body.requestId.count) else {
                throw LocalAPIError(status: .badRequest, messageKey: "error.generic", detail: "requestId must hold 8 to 64 characters")
            }
            return try await json { try await service.print(body.request, requestId: body.requestId) }
        }
        v1.post("applications") { request, context in
            let form = try await decode(ApplicationForm.self, request, context)
            for (name, value) in [("proposedName", form.proposedName), ("type", form.type), ("registeredCapital", form.registeredCapital),
                                  ("address", form.address), ("businessScope", form.businessScope)]
                where value.trimmingCharacters(in: .whitespaces).isEmpty || value.count > 500 {
                throw LocalAPIError(status: .badRequest, messageKey: "error.generic", detail: "field \(name) must hold 1 to 500 characters")
            }
            if let delivery = form.delivery { try checkDelivery(delivery) }
            if let parties = form.parties, parties.isEmpty || parties.count > 50 {
                throw LocalAPIError(status: .badRequest, messageKey: "error.generic", detail: "parties name 1 to 50 persons, or are left out for the holder alone")
            }
            return try await json { try await service.submitApplication(form) }
        }
        v1.post("ratings") { request, context in
            let rating = try await decode(RatingSubmission.self, request, context)
            guard (1...5).contains(rating.level) else {
                throw LocalAPIError(status: .badRequest, messageKey: "error.generic", detail: "level must be 1 to 5")
            }
            return try await answered { try await service.rate(rating) }
        }
        v1.post("tickets") { request, context in
            let ask = try await decode(ServiceAsk.self, request, context)
            try checkRequestId(ask.requestId)
            try checkServiceCode(ask.serviceCode)
            return try await json { try await service.takeTicket(serviceCode: ask.serviceCode, requestId: ask.requestId) }
        }
        v1.post("guides/print") { request, context in
            let ask = try await decode(ServiceAsk.self, request, context)
            try checkRequestId(ask.requestId)
            try checkServiceCode(ask.serviceCode)
            return try await json { try await service.printGuide(serviceCode: ask.serviceCode, requestId: ask.requestId) }
        }
        v1.post("progress") { request, context in
            let ask = try await decode(TrackingNumberAsk.self, request, context)
            try checkTrackingNumber(ask.trackingNumber)
            return try await json { try await service.progress(trackingNumber: ask.trackingNumber) }
        }
        v1.get("progress/mine") { _, _ in try await json { try await service.myApplications() } }
        v1.post("progress/print") { request, context in
            let ask = try await decode(TrackedRequestAsk.self, request, context)
            try checkTrackingNumber(ask.trackingNumber)
            try checkRequestId(ask.requestId)
            return try await json { try await service.printProgress(trackingNumber: ask.trackingNumber, requestId: ask.requestId) }
        }
        v1.post("deliveries") { request, context in
            let ask = try await decode(DeliveryAsk.self, request, context)
            try checkRequestId(ask.requestId)
            guard ask.request.kind == "social-insurance-certificate" else {
                throw LocalAPIError(status: .badRequest, messageKey: "error.generic", detail: "only the social-insurance certificate is posted")
            }
            try checkDelivery(ask.address)
            return try await json { try await service.requestDelivery(ask.request, address: ask.address, requestId: ask.requestId) }
        }
        v1.post("check-ins") { request, context in
            let id = try await requestId(request, context)
            return try await json { try await service.checkIn(requestId: id) }
        }
        v1.post("face-checks") { _, _ in try await json { try await service.checkFace() } }
        v1.get("insurance/mine") { _, _ in try await json { try await service.myInsurance() } }
        v1.post("name-checks") { request, context in
            let ask = try await decode(NameCheckAsk.self, request, context)
            guard (1...60).contains(ask.proposedName.count) else {
                throw LocalAPIError(status: .badRequest, messageKey: "error.generic", detail: "proposedName must hold 1 to 60 characters")
            }
            return try await json { try await service.checkName(ask.proposedName) }
        }
        v1.get("security-card") { _, _ in try await json { try await service.mySecurityCard() } }
        v1.post("security-card/losses") { request, context in
            let id = try await requestId(request, context)
            return try await json { try await service.reportCardLoss(requestId: id) }
        }
        v1.get("openings") { _, _ in try await json { try await service.myOpenings() } }
        v1.post("openings/confirmations") { request, context in
            let ask = try await decode(TrackedRequestAsk.self, request, context)
            try checkTrackingNumber(ask.trackingNumber)
            try checkRequestId(ask.requestId)
            return try await json { try await service.confirmOpening(trackingNumber: ask.trackingNumber, requestId: ask.requestId) }
        }
        v1.post("pension-confirmations") { request, context in
            let id = try await requestId(request, context)
            return try await json { try await service.confirmPension(requestId: id) }
        }
        v1.post("session/end") { _, _ in
            await service.endSession()
            return Response(status: .noContent)
        }
    }

    static let documentKinds: Set<String> = ["business-licence", "archive-extract", "social-insurance-certificate"]

    static func validate(_ request: DocumentRequest) throws {
        guard documentKinds.contains(request.kind) else {
            throw LocalAPIError(status: .badRequest, messageKey: "error.generic",
                                detail: "kind must be one of \(documentKinds.sorted().joined(separator: ", "))")
        }
        if request.kind != "social-insurance-certificate", request.uscc?.count != 18 {
            throw LocalAPIError(status: .badRequest, messageKey: "error.generic", detail: "uscc is required for \(request.kind)")
        }
    }

    static func decode<T: Decodable, Context: RequestContext>(_ type: T.Type, _ request: Request, _ context: Context) async throws -> T {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maxBodyBytes)
        } catch {
            throw LocalAPIError(status: .contentTooLarge, messageKey: "error.generic", detail: "request body over \(maxBodyBytes) bytes")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            throw LocalAPIError(status: .badRequest, messageKey: "error.generic", detail: "invalid JSON for \(T.self): \(error)")
        }
    }

    /// A JSON response holding `value`.
    static func encoded<T: Encodable>(_ value: T) throws -> Response {
        let data = try JSONEncoder().encode(value)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A JSON response with dates in ISO 8601.
    static func iso8601Encoded<T: Encodable>(_ value: T) throws -> Response {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let data = try encoder.encode(value)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Newline-delimited JSON events until the client goes away.
    static func eventStream(_ stream: AsyncStream<KioskEvent>) -> Response {
        let body = ResponseBody { writer in
            let encoder = JSONEncoder()
            for await event in stream {
                var line = try encoder.encode(event)
                line.append(0x0A)
                try await writer.write(ByteBuffer(bytes: line))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: body)
    }

    static func json<T: Encodable>(_ body: () async throws -> T) async throws -> Response {
        try encoded(try await refusalsAsAnswers(body))
    }

    /// 204 once `body` is done; a citizen refusal is a 422 naming its text, as `json` answers it.
    static func answered(_ body: () async throws -> Void) async throws -> Response {
        try await refusalsAsAnswers(body)
        return Response(status: .noContent)
    }

    /// Runs `body`; a `CitizenAPIError` becomes the 422 the interface shows the text of.
    static func refusalsAsAnswers<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as CitizenAPIError {
            throw LocalAPIError(status: .unprocessableContent, messageKey: error.messageKey, detail: error.detail, values: error.values)
        }
    }
}

/// An error answered on a local socket: the status, and a JSON body naming the text to show.
public struct LocalAPIError: HTTPResponseError, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var messageKey: String
    public var detail: String?
    public var values: [String: String]?

    public init(status: HTTPResponse.Status, messageKey: String, detail: String?, values: [String: String]? = nil) {
        self.status = status
        self.messageKey = messageKey
        self.detail = detail
        self.values = values
    }

    public var description: String { "\(status.code) \(messageKey)\(detail.map { ": \($0)" } ?? "")" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = (try? JSONEncoder().encode(CitizenAPIError(messageKey: messageKey, detail: detail, values: values))) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
