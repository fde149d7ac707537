import Foundation
import Hummingbird
import KioskCore
import Registry
import RegistryAPI

/// Applications' progress: kiosks read it by number or for the card holder, and the
/// applications naming the card holder as a party; the back office moves applications on.
enum ProgressRoutes {
    static func add(questions: RouterGroup<RegistryRequestContext>, reads: RouterGroup<RegistryRequestContext>, openings: Openings,
                    limiter: RateLimiter) {
        let store = openings.progress
        reads.get("applications/:number/progress") { _, context in
            let kioskId = try context.requireKiosk()
            // A kiosk looks up what its citizens type: far fewer than a machine guessing numbers.
            guard await limiter.admit(kioskId) else {
                throw Problem(status: .tooManyRequests, code: "rate.limited", title: "Too many look-ups",
                              detail: "kiosk \(kioskId) looked up progress too often; try again shortly")
            }
            let number = try checkedNumber(context)
            guard let (progress, _, _) = try await openings.state(number: number) else { throw ProgressRules.notFound(number) }
            return try RegistryRoutes.json(progress)
        }
        questions.post("applications/progress") { request, context in
            _ = try context.requireKiosk()
            let number = try await person(request)
            var found: [ApplicationProgress] = []
            for progress in try await store.progress(idNumber: number.value) { found.append(try await openings.decorate(progress)) }
            return try RegistryRoutes.json(ProgressList(applications: found))
        }
        // The applications naming the card holder as a party, for their confirmation at the kiosk.
        questions.post("openings/mine") { request, context in
            _ = try context.requireKiosk()
            let number = try await person(request)
            return try RegistryRoutes.json(OpeningList(openings: try await openings.invitations(idNumber: number.value)))
        }
        questions.post("applications/:number/status") { request, context in
            let officer = try context.require(.backoffice)
            let number = try checkedNumber(context)
            let key = try RegistryRoutes.idempotencyKey(in: request, per: "one per change")
            let change = try await HallRoutes.body(StatusChange.self, request,
                                                   expected: "{\"status\": \"under-review\"|\"more-materials\"|\"approved\"|\"refused\", \"note\"}")
            if let problem = change.problem() { throw HallRoutes.invalid("status.invalid", problem) }
            // Approval needs every party's confirmation; the licence itself comes with `registryd applications approve`.
            switch try await openings.setStatus(number: number, change, by: officer, key: key) {
            case .success(let progress): return try RegistryRoutes.json(progress)
            case .failure(let problem): throw problem
            }
        }
    }

    /// The ID number in a `{"idNumber"}` body.
    static func person(_ request: Request) async throws -> IDNumber {
        let query = try await HallRoutes.body(Components.Schemas.PersonQuery.self, request, expected: "{\"idNumber\"}")
        do { return try IDNumber(query.idNumber) } catch {
            throw Problem(status: .badRequest, code: "id-number.invalid", title: "Invalid ID number", detail: "\(error)")
        }
    }

    static func checkedNumber(_ context: RegistryRequestContext) throws -> String {
        let number = context.parameters.get("number") ?? ""
        guard ProgressNames.isNumber(number) else {
            throw HallRoutes.invalid("application.number-invalid", "an application number is the tracking number on the receipt (YT-…) or the registry's (SQ-…)")
        }
        return number
    }
}
