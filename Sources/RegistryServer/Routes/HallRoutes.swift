import Foundation
import Hummingbird
import KioskCore
import NIOCore
import Registry
import RegistryAPI

/// The service hall's routes: kiosks take numbers and check appointments in for their own site,
/// counters of that site call the next number, the booking system stores appointments.
enum HallRoutes {
    static func add(questions: RouterGroup<RegistryRequestContext>, reads: RouterGroup<RegistryRequestContext>, store: any HallStore,
                    housekeeping: Housekeeping) {
        questions.post("halls/:site/tickets") { request, context in
            let kioskId = try context.requireKiosk()
            let site = try ownSite(context)
            let ask = try await body(TicketRequest.self, request, expected: "{\"ticketId\", \"queue\": \"A\", \"serviceCode\"}")
            if let problem = ask.problem() { throw invalid("ticket.invalid", problem) }
            return try answer(try await store.reserveTicket(ask, site: site, kioskId: kioskId, now: Date()), created: true)
        }
        questions.post("halls/:site/check-ins") { request, context in
            let kioskId = try context.requireKiosk()
            let site = try ownSite(context)
            let ask = try await body(CheckInRequest.self, request, expected: "{\"idNumber\", \"ticketId\"}")
            guard HallNames.isTicketId(ask.ticketId) else { throw invalid("check-in.invalid", "ticketId must be 8 to 64 of A-Z a-z 0-9 -") }
            do { _ = try IDNumber(ask.idNumber) } catch {
                throw Problem(status: .badRequest, code: "id-number.invalid", title: "Invalid ID number", detail: "\(error)")
            }
            return try answer(try await store.checkIn(ask, site: site, kioskId: kioskId, now: Date()), created: true)
        }
        reads.get("halls/:site/queues") { _, context in
            _ = try context.require(.kiosk, .counter)
            let site = try ownSite(context)
            return try RegistryRoutes.json(try await store.hallFigures(site: site, now: Date()))
        }
        questions.post("halls/:site/queues/:queue/call") { request, context in
            let counterId = try context.require(.counter)
            let site = try ownSite(context)
            let queue = context.parameters.get("queue") ?? ""
            guard HallNames.isQueue(queue) else { throw invalid("call.invalid", "the queue is one capital letter, e.g. A") }
            let key = try RegistryRoutes.idempotencyKey(in: request, per: "one per press of the call button")
            let ask = try await body(Components.Schemas.CallRequest.self, request, expected: "{\"counter\": 3}")
            guard (1...999).contains(ask.counter) else { throw invalid("call.invalid", "counter must be 1 to 999") }
            return try answer(try await store.callNext(site: site, queue: queue, counter: ask.counter, caller: counterId, key: key, now: Date()),
                              created: false)
        }
        questions.post("appointments") { request, context in
            _ = try context.require(.booking)
            let appointment = try await body(Appointment.self, request,
                                             expected: "{\"id\", \"site\", \"serviceCode\", \"queue\", \"idNumber\", \"name\", \"startsAt\", \"endsAt\"}")
            guard let result = try await store.storeAppointments([appointment], now: Date()).first else {
                throw invalid("appointment.invalid", "nothing stored")
            }
            switch result {
            case .success(let replaced): return try RegistryRoutes.json(appointment, status: replaced ? .ok : .created)
            case .failure(let problem): throw problem
            }
        }
    }

    /// The site in the path, which must be the signer's own.
    static func ownSite(_ context: RegistryRequestContext) throws -> String {
        try ownSite(context, asked: context.parameters.get("site") ?? "")
    }

    /// The `asked` site, which must be the signer's own.
    static func ownSite(_ context: RegistryRequestContext, asked site: String) throws -> String {
        guard HallNames.isSite(site) else { throw invalid("hall.site-invalid", "a site id is 1 to 64 of A-Z a-z 0-9 . _ -") }
        guard let own = context.site else {
            throw Problem(status: .forbidden, code: "hall.no-site", title: "Registered without a site",
                          detail: "\(context.kioskId ?? "the signer") is registered without a site: registryd kiosk add \(context.kioskId ?? "ID") --public-key KEY --site SITE")
        }
        guard own == site else {
            throw Problem(status: .forbidden, code: "hall.other-site", title: "Another site",
                          detail: "\(context.kioskId ?? "the signer") stands at \(own); it may not act for \(site.prefix(64))")
        }
        return site
    }

    static func invalid(_ code: String, _ detail: String) -> Problem {
        Problem(status: .unprocessableContent, code: code, title: "Invalid request", detail: detail)
    }

    static func body<T: Decodable>(_ type: T.Type, _ request: Request, expected: String) async throws -> T {
        var request = request
        let buffer = try await request.collectBody(upTo: RegistryBodyLimit.question)
        do { return try RegistryJSON.decoder().decode(T.self, from: Data(buffer: buffer)) } catch {
            let p = DecodingProblem(error, root: "(body)")
            throw Problem(status: .badRequest, code: "request.invalid", title: "Invalid request",
                          detail: "\(p.location): \(p.reason); expected \(expected)")
        }
    }

    static func answer(_ result: Result<HallTicket, Problem>, created: Bool) throws -> Response {
        switch result {
        case .success(let ticket): return try RegistryRoutes.json(ticket, status: created ? .created : .ok)
        case .failure(let problem): throw problem
        }
    }
}
