import Foundation
import Hummingbird
import HummingbirdTesting
@testable import KioskDaemon
import KioskCore
import Registry
import TestSupport
import Testing

/// The technician's queue routes in process: figures, lists and items, retries and purges audited
/// under the account the kernel reports, and every malformed or unauthorised request refused with
/// what was wrong.
@Suite struct QueueRoutesTests {
    static let technician = PeerCredentials(pid: getpid(), uid: geteuid(), gid: getegid(), userName: "tech")
    static let stranger = PeerCredentials(pid: 0, uid: 4242, gid: 4242, userName: "visitor")

    /// The technician socket's queue routes on `outbox` (none: no registry), with `audit`.
    static func application(outbox: Outbox?, audit: AuditLog?) -> some ApplicationProtocol {
        let router = Router(context: PeerContext.self)
        router.add(middleware: TechnicianAccessMiddleware(groupName: nil))
        QueueRoutes.add(to: router, outbox: outbox, audit: audit)
        return Application(router: router)
    }

    static func ask(_ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ path: String, body: String? = nil,
                    as peer: PeerCredentials? = technician) async throws -> (Int, String) {
        try await PeerContext.ask(client, method, path, body: body, as: peer)
    }

    static func rating(_ visit: String) -> RatingRecord {
        RatingRecord(visitId: visit, level: 5, reason: nil, serviceCode: "archive-query", formVersion: 1, ratedAt: Date())
    }

    @Test func figuresListsAndItemsWithPersonalDataMasked() async throws {
        let dir = try TemporaryDirectory(prefix: "queue-routes")
        defer { dir.remove() }
        let outbox = try Outbox(path: dir.path + "/outbox.sqlite", keyFile: dir.path + "/outbox.key", kioskId: "DG-0001")
        let application = try outbox.enqueueApplication(ApplicationDraft(
            applicant: Applicant(idNumber: "441900199003181234", name: "张三"), proposedName: "东莞市队列测试有限公司", type: "有限责任公司",
            registeredCapital: "人民币壹佰万元", address: "东莞市南城街道1号", businessScope: "软件开发"))
        for i in 0..<3 { try outbox.enqueue(.ratings, Self.rating("visit-\(i)")) }
        try await Self.application(outbox: outbox, audit: nil).test(.router) { client in
            var (status, body) = try await Self.ask(client, .get, "/v1/queue")
            #expect(status == 200 && body.contains(#""stream":"ratings""#) && body.contains(#""depth":3"#), "\(body)")
            (status, body) = try await Self.ask(client, .get, "/v1/queue/items?stream=ratings&limit=2")
            let items = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [[String: Any]]
            #expect(status == 200 && items?.count == 2, "\(body)")
            (status, body) = try await Self.ask(client, .get, "/v1/queue/items/\(application.id)")
            #expect(status == 200 && body.contains("东莞市队列测试有限公司"), "\(body)")
            #expect(!body.contains("441900199003181234") && !body.contains("张三"), "\(body)")
            (status, body) = try await Self.ask(client, .get, "/v1/queue/items?dead=true")
            #expect(status == 200 && body == "[]", "\(body)")
        }
    }

    @Test func malformedRequestsSayWhatWasWrong() async throws {
        let dir = try TemporaryDirectory(prefix: "queue-routes")
        defer { dir.remove() }
        let outbox = try Outbox(path: dir.path + "/outbox.sqlite", keyFile: dir.path + "/outbox.key", kioskId: "DG-0001")
        let item = try outbox.enqueue(.ratings, Self.rating("visit-1"))
        let big = String(repeating: "x", count: CitizenRoutes.maxBodyBytes + 1)
        let cases: [(HTTPRequest.Method, String, String?, Int, String)] = [
            (.get, "/v1/queue/items?limit=0", nil, 400, "limit must be 1 to 1000"),
            (.get, "/v1/queue/items?limit=1001", nil, 400, "limit must be 1 to 1000"),
            (.get, "/v1/queue/items?limit=lots", nil, 400, "limit must be 1 to 1000"),
            (.get, "/v1/queue/items?dead=yes", nil, 400, "dead must be true or false"),
            (.get, "/v1/queue/items?stream=letters", nil, 400, "stream must be one of"),
            (.get, "/v1/queue/items/abc", nil, 400, "positive number"),
            (.get, "/v1/queue/items/-3", nil, 400, "positive number"),
            (.get, "/v1/queue/items/99999999999999999999", nil, 400, "positive number"),
            (.get, "/v1/queue/items/424242", nil, 404, "no outbox item or dead letter 424242"),
            (.post, "/v1/queue/items/\(item.id)/purge", "{", 400, "invalid JSON"),
            (.post, "/v1/queue/items/\(item.id)/purge", #"{"who":"tech-07"}"#, 400, "invalid JSON"),
            (.post, "/v1/queue/items/\(item.id)/purge", #"{"who":" ","why":"test"}"#, 400, "who (1–64 characters) and why (1–200) are both required"),
            (.post, "/v1/queue/items/\(item.id)/purge", #"{"who":"\#(String(repeating: "a", count: 65))","why":"test"}"#, 400, "who (1–64"),
            (.post, "/v1/queue/items/\(item.id)/retry", #"{"who":"tech-07","why":"\#(String(repeating: "因", count: 201))"}"#, 400, "why (1–200)"),
            (.post, "/v1/queue/items/\(item.id)/purge", #"{"who":"tech-07","why":"\#(big)"}"#, 413, "request body over"),
            (.post, "/v1/queue/items/\(item.id)/retry", #"{"who":"tech-07","why":"not a dead letter"}"#, 404, "no outbox item or dead letter"),
        ]
        try await Self.application(outbox: outbox, audit: nil).test(.router) { client in
            for (method, path, body, expected, text) in cases {
                let (status, answer) = try await Self.ask(client, method, path, body: body)
                #expect(status == expected && answer.contains(text), "\(method) \(path.prefix(80)): \(status) \(answer.prefix(300))")
            }
        }
        // Nothing was changed by any of them.
        #expect(try await outbox.status().depth == 1)
    }

    @Test func aPurgeIsAuditedUnderTheKernelsAccountAndOnlyOnce() async throws {
        let dir = try TemporaryDirectory(prefix: "queue-routes")
        defer { dir.remove() }
        let outbox = try Outbox(path: dir.path + "/outbox.sqlite", keyFile: dir.path + "/outbox.key", kioskId: "DG-0001")
        let audit = try AuditLog(stateDirectory: URL(fileURLWithPath: dir.path), secretFile: URL(fileURLWithPath: dir.path + "/audit.secret"))
        defer { audit.close() }
        let item = try outbox.enqueue(.ratings, Self.rating("visit-1"))
        try await Self.application(outbox: outbox, audit: audit).test(.router) { client in
            let path = "/v1/queue/items/\(item.id)/purge"
            var (status, body) = try await Self.ask(client, .post, path, body: #"{"who":"root","why":"重复评价"}"#)
            #expect(status == 204, "\(body)")
            // Sent again (a retried click): the item is gone, and nothing more is recorded.
            (status, body) = try await Self.ask(client, .post, path, body: #"{"who":"root","why":"重复评价"}"#)
            #expect(status == 404 && body.contains("no outbox item or dead letter"), "\(body)")
        }
        let entries = audit.recent().filter { $0.action == "queue.purge" }
        #expect(entries.count == 1)
        // The daemon's audit names the account the kernel reported; the queue's own trail keeps the
        // claimed name beside it, never instead of it.
        #expect(entries.first?.by == Self.technician.description, "\(entries)")
        #expect(entries.first?.detail == "item \(item.id): 重复评价")
        let trail = try await outbox.auditTrail()
        #expect(trail.map(\.action) == ["purge"] && trail.first?.who == "\(Self.technician) as 'root'")
    }

    @Test func onlyATechnicianIsServedAndOnlyWhenThereIsAnOutbox() async throws {
        let dir = try TemporaryDirectory(prefix: "queue-routes")
        defer { dir.remove() }
        let outbox = try Outbox(path: dir.path + "/outbox.sqlite", keyFile: dir.path + "/outbox.key", kioskId: "DG-0001")
        let item = try outbox.enqueue(.ratings, Self.rating("visit-1"))
        try await Self.application(outbox: outbox, audit: nil).test(.router) { client in
            var (status, body) = try await Self.ask(client, .get, "/v1/queue", as: Self.stranger)
            #expect(status == 403 && body.contains("visitor (uid 4242) is not a technician"), "\(body)")
            (status, body) = try await Self.ask(client, .post, "/v1/queue/items/\(item.id)/purge", body: #"{"who":"tech","why":"x"}"#,
                                                as: Self.stranger)
            #expect(status == 403, "\(body)")
            (status, body) = try await Self.ask(client, .get, "/v1/queue", as: nil)
            #expect(status == 403 && body.contains("could not be told"), "\(body)")
        }
        #expect(try await outbox.status().depth == 1, "a refused purge removed nothing")
        try await Self.application(outbox: nil, audit: nil).test(.router) { client in
            let (status, body) = try await Self.ask(client, .get, "/v1/queue")
            #expect(status == 404 && body.contains("no outbox: no registry is configured"), "\(body)")
        }
    }
}
