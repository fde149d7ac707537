import Foundation
import Hummingbird
import Registry

/// Results by post for the hall staff (a counter key of the site): what to post, and marking it posted.
enum DeliveryRoutes {
    static func add(questions: RouterGroup<RegistryRequestContext>, reads: RouterGroup<RegistryRequestContext>, store: any DeliveryStore) {
        reads.get("deliveries") { request, context in
            _ = try context.require(.counter)
            let site = try HallRoutes.ownSite(context, asked: request.uri.queryParameters.get("site") ?? context.site ?? "")
            var status: DeliveryRecord.Status?
            if let text = request.uri.queryParameters.get("status") {
                guard let known = DeliveryRecord.Status(rawValue: text) else {
                    throw HallRoutes.invalid("delivery.status-invalid", "status is pending or posted")
                }
                status = known
            }
            return try RegistryRoutes.json(DeliveryList(deliveries: try await store.deliveries(site: site, status: status)))
        }
        questions.post("deliveries/:id/posted") { _, context in
            let staff = try context.require(.counter)
            let id = context.parameters.get("id") ?? ""
            guard ProgressNames.isNumber(id) else { throw HallRoutes.invalid("delivery.id-invalid", "a delivery id is a tracking number or a request id") }
            switch try await store.markPosted(id: id, site: context.site ?? "", by: staff, now: Date()) {
            case .success(let record): return try RegistryRoutes.json(record)
            case .failure(let problem): throw problem
            }
        }
    }
}
