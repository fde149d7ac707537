import Crypto
import Foundation
import HummingbirdTesting
import KioskCore
import OpenAPIAsyncHTTPClient
import OpenAPIRuntime
import Registry
import RegistryAPI
import TestSupport
import Testing

/// The client generated from `openapi/registry.yaml` (`RegistryAPI`) against the real routes: it
/// is made from the document as it is now, its requests signed by `KioskSigningMiddleware` are
/// accepted, and the answers decode into its types, problems included.
@Suite struct GeneratedRegistryClientTests {
    @Test func theGeneratedSourcesAreFromTheDocumentAsItIs() throws {
        let document = try Data(contentsOf: URL(fileURLWithPath: BuiltProducts.repositoryPath("openapi/registry.yaml")))
        let recorded = try String(contentsOfFile: BuiltProducts.repositoryPath("Sources/RegistryAPI/Generated/registry.yaml.sha256"), encoding: .utf8)
        #expect(recorded.trimmingCharacters(in: .whitespacesAndNewlines) == SHA256.hash(data: document).map { String(format: "%02x", $0) }.joined(),
                "openapi/registry.yaml changed since Sources/RegistryAPI/Generated was made: run scripts/generate-registry-api.sh")
    }

    @Test func signedCallsOfTheGeneratedClientAreAnsweredInItsTypes() async throws {
        let dir = try TemporaryDirectory(prefix: "generated-client")
        defer { dir.remove() }
        let fixture = try await ContractRegistry(dir)
        try await fixture.application().test(.live) { tester in
            let port = try #require(tester.port)
            let url = try #require(URL(string: "http://127.0.0.1:\(port)"))
            func client(_ credentials: KioskCredentials) -> Client {
                Client(serverURL: url, transport: AsyncHTTPClientTransport(), middlewares: [KioskSigningMiddleware(credentials: credentials)])
            }
            let kiosk = client(fixture.kiosk)

            #expect(try await kiosk.getHealth().ok.body.json.status == .ok)
            let enterprise = try await kiosk.getEnterprisesByUscc(path: .init(uscc: RegistryContractTests.uscc)).ok.body.json
            #expect(enterprise.uscc == RegistryContractTests.uscc && !enterprise.name.isEmpty)
            let found = try await kiosk.getEnterprises(query: .init(name: "演示市", limit: 5)).ok.body.json
            #expect(!found.enterprises.isEmpty)
            let check = try await kiosk.postNameChecks(body: .json(.init(proposedName: "东莞市契约测试科技有限公司"))).ok.body.json
            #expect(check.conflicts.isEmpty || !check.verdict.rawValue.isEmpty)

            // A submission with its idempotency key; the same key with another body is a conflict.
            let rating = Components.Schemas.RatingRecord(visitId: "visit-1", level: 5, reason: nil, serviceCode: "archive-query", formVersion: 1, ratedAt: Date())
            let receipt = try await kiosk.postRatings(headers: .init(idempotencyKey: "rating-1"), body: .json(rating)).created.body.json
            #expect(receipt.registryNumber.isEmpty == false)
            var other = rating
            other.level = 1
            let conflict = try await kiosk.postRatings(headers: .init(idempotencyKey: "rating-1"), body: .json(other)).conflict
            #expect(try conflict.body.applicationProblemJson.code == "idempotency.key-reused")

            // The hall: a number for this kiosk's site, refused for another's.
            let ticket = try await kiosk.postHallsBySiteTickets(path: .init(site: "hall-1"),
                                                                body: .json(.init(ticketId: "ticket-0001", queue: "A", serviceCode: "SC-ESTATE"))).created.body.json
            #expect(ticket.number == "A001")
            let elsewhere = try await kiosk.postHallsBySiteTickets(path: .init(site: "hall-2"),
                                                                   body: .json(.init(ticketId: "ticket-0002", queue: "A", serviceCode: "SC-ESTATE"))).forbidden
            #expect(try elsewhere.body.applicationProblemJson.code == "hall.other-site")

            // Configuration: the announcement names the published bundle.
            let announcements = try await kiosk.getConfigAnnouncements(query: .init(site: "hall-1")).ok.body.json
            #expect(announcements.bundles.contains { $0.id == String(fixture.published.id) })

            // A signer the registry does not know, and one signing with another key.
            let stranger = try await client(try KioskCredentials.generate(kioskId: "DG-9999")).getEnterprisesByUscc(path: .init(uscc: RegistryContractTests.uscc))
            #expect(try stranger.unauthorized.body.applicationProblemJson.code == "auth.unknown-kiosk")
            let forger = try await client(try KioskCredentials.generate(kioskId: fixture.kiosk.kioskId)).getEnterprisesByUscc(path: .init(uscc: RegistryContractTests.uscc))
            #expect(try forger.unauthorized.body.applicationProblemJson.code == "auth.bad-signature")
        }
    }
}
