import Foundation
import Registry
import TestSupport
import Testing

/// registryd holds the fleet's configuration long polls below its HTTP server's per-connection
/// task. These tests attack that path on a live registryd, over raw connections: what it answers
/// is what the route answers, requests pipelined behind a held poll keep their order, a kiosk
/// that goes away lets go of its poll, and a client piling requests behind a poll is cut off.
@Suite(.serialized) struct ConfigPollParkingTests {
    static let kiosk = try? KioskCredentials.generate(kioskId: "park-kiosk")
    static let counter = try? KioskCredentials.generate(kioskId: "park-counter")

    /// A registryd with the kiosk and a hall counter registered, its metrics on their own port.
    struct Registry {
        let dir: TemporaryDirectory
        let process: RegistrydProcess
        let metricsPort: Int

        init() throws {
            dir = try TemporaryDirectory(prefix: "poll-parking")
            let kiosk = try #require(ConfigPollParkingTests.kiosk), counter = try #require(ConfigPollParkingTests.counter)
            metricsPort = freeLoopbackPort()
            process = try RegistrydProcess(database: dir.path + "/registry.sqlite", kiosks: [(kiosk.kioskId, kiosk.publicKeyBase64)],
                                           extraArguments: ["--metrics-port", String(metricsPort)], start: false)
            try process.register(counter.kioskId, publicKey: counter.publicKeyBase64, role: "counter", site: "hall-1")
            try process.start()
        }

        func stop() {
            process.stop()
            dir.remove()
        }

        /// `yitiji_registry_config_polls_held`, as the metrics port says.
        var held: Int? { RegistrydTests.heldPolls(metricsPort) }
    }

    /// A signed poll request's bytes (`Connection: close` when `closing`).
    static func poll(_ target: String, as signer: KioskCredentials?, extra: String = "", closing: Bool = false) throws -> String {
        var head = "GET \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\n" + (closing ? "Connection: close\r\n" : "") + extra
        if let signer {
            for (name, value) in signer.headers(method: "GET", pathAndQuery: target, body: Data()) { head += "\(name): \(value)\r\n" }
        }
        return head + "\r\n"
    }

    /// The announcements' etag now.
    static func etag(_ registry: Registry) throws -> String {
        let connection = try RawHTTPConnection(port: registry.process.port)
        connection.send(try poll("/v1/config/announcements", as: try #require(kiosk)))
        let answer = try #require(connection.readResponse())
        #expect(answer.status == 200, "\(answer.body)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any])
        return try #require(object["etag"] as? String)
    }

    /// A connection holding a poll for the announcements as they are (60 s), once registryd says it holds it.
    static func heldPoll(_ registry: Registry) async throws -> (connection: RawHTTPConnection, etag: String) {
        let etag = try Self.etag(registry)
        let connection = try RawHTTPConnection(port: registry.process.port)
        connection.send(try Self.poll("/v1/config/announcements?etag=\(etag)&wait=60", as: try #require(kiosk)))
        #expect(await waitUntil(10) { registry.held == 1 }, "the poll was never held")
        return (connection, etag)
    }

    @Test func aPollIsAuthenticatedAndCheckedAsTheRouteIs() throws {
        let registry = try Registry()
        defer { registry.stop() }
        let kiosk = try #require(Self.kiosk), counter = try #require(Self.counter)
        func ask(_ request: String) throws -> (status: Int, body: String) {
            let connection = try RawHTTPConnection(port: registry.process.port)
            connection.send(request)
            return try #require(connection.readResponse(timeout: 10))
        }
        let unsigned = try ask(try Self.poll("/v1/config/announcements", as: nil))
        #expect(unsigned.status == 401 && unsigned.body.contains("auth.missing"), "\(unsigned)")
        // The same signed request twice: the second is a replay.
        let signed = try Self.poll("/v1/config/announcements?wait=0", as: kiosk)
        #expect(try ask(signed).status == 200)
        let replayed = try ask(signed)
        #expect(replayed.status == 401 && replayed.body.contains("auth.replayed"), "\(replayed)")
        // Signed for another target than the one sent.
        var forged = try Self.poll("/v1/config/announcements?etag=a", as: kiosk)
        forged = forged.replacingOccurrences(of: "?etag=a ", with: "?etag=b ")
        let badSignature = try ask(forged)
        #expect(badSignature.status == 401 && badSignature.body.contains("auth.bad-signature"), "\(badSignature)")
        let wrongRole = try ask(try Self.poll("/v1/config/announcements", as: counter))
        #expect(wrongRole.status == 403 && wrongRole.body.contains("auth.wrong-role"), "\(wrongRole)")
        let badSite = try ask(try Self.poll("/v1/config/announcements?site=%2E%2E%2Fetc", as: kiosk))
        #expect(badSite.status == 400 && badSite.body.contains("request.invalid"), "\(badSite)")
        // A poll with a body is the route's to refuse (a poll takes none); an odd spelling of the path is refused before routing.
        let withBody = try ask(try Self.poll("/v1/config/announcements", as: kiosk, extra: "Content-Length: 5\r\n") + "hello")
        #expect(withBody.status == 413, "\(withBody)")
        let oddPath = try ask(try Self.poll("/v1//config/announcements", as: kiosk))
        #expect(oddPath.status == 400 && oddPath.body.contains("request.path-invalid"), "\(oddPath)")
        // A huge wait is cut to 60 s, a negative one is none: answered at once.
        let negative = try ask(try Self.poll("/v1/config/announcements?etag=\(try Self.etag(registry))&wait=-5", as: kiosk))
        #expect(negative.status == 200)
        #expect(registry.held == 0)
    }

    @Test func requestsPipelinedBehindAHeldPollAreAnsweredAfterItInOrder() throws {
        let registry = try Registry()
        defer { registry.stop() }
        let kiosk = try #require(Self.kiosk)
        let etag = try Self.etag(registry)
        let connection = try RawHTTPConnection(port: registry.process.port)
        let sent = Date()
        connection.send(try Self.poll("/v1/config/announcements?etag=\(etag)&wait=2", as: kiosk)
                        + "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                        + (try Self.poll("/v1/config/announcements?wait=0", as: kiosk)))
        let answers = connection.readResponses(3, timeout: 15)
        try #require(answers.count == 3, "\(answers)")
        #expect(answers[0].status == 200 && answers[0].body.contains(etag), "\(answers[0])")
        #expect(Date().timeIntervalSince(sent) >= 1.5, "the poll was not held")
        #expect(answers[1].status == 200 && answers[1].body.contains("\"status\""), "\(answers[1])")
        #expect(answers[2].status == 200 && answers[2].body.contains(etag), "\(answers[2])")
        // The connection serves on.
        connection.send("GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(connection.readResponse(timeout: 5)?.status == 200)
    }

    @Test func aKioskThatGoesAwayLetsGoOfItsHeldPoll() async throws {
        let registry = try Registry()
        defer { registry.stop() }
        let kiosk = try #require(Self.kiosk)
        let etag = try Self.etag(registry)
        var connections: [RawHTTPConnection] = []
        for _ in 0..<3 {
            let connection = try RawHTTPConnection(port: registry.process.port)
            connection.send(try Self.poll("/v1/config/announcements?etag=\(etag)&wait=60", as: kiosk))
            connections.append(connection)
        }
        #expect(await waitUntil(10) { registry.held == 3 }, "held: \(registry.held ?? -1)")
        connections.removeFirst(2)
        #expect(await waitUntil(5) { registry.held == 1 }, "the closed connections' polls are still held: \(registry.held ?? -1)")
        // `Connection: close` on a held poll: answered, then closed.
        let closing = try RawHTTPConnection(port: registry.process.port)
        closing.send(try Self.poll("/v1/config/announcements?etag=\(etag)&wait=1", as: kiosk, closing: true))
        #expect(closing.readResponse(timeout: 10)?.status == 200)
        #expect(closing.closedByPeer(within: 5))
        _ = connections
    }

    @Test func aClientPilingRequestsBehindAHeldPollIsCutOff() async throws {
        let registry = try Registry()
        defer { registry.stop() }
        let (connection, _) = try await Self.heldPoll(registry)
        let flood = String(repeating: "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: \(String(repeating: "p", count: 200))\r\n\r\n", count: 600)
        connection.send(flood)
        #expect(connection.closedByPeer(within: 10), "registryd kept 150 KiB of requests behind a held poll")
        #expect(await waitUntil(5) { registry.held == 0 })
        #expect(try RawHTTPConnection.request(port: registry.process.port, "GET", "/v1/health")?.status == 200)
    }

    /// A publish wakes a parked poll with the new bundle list; registryd's metrics count the
    /// answered polls under the route, as the other routes' are.
    @Test func aPublishWakesAParkedPoll() async throws {
        let registry = try Registry()
        defer { registry.stop() }
        let (connection, etag) = try await Self.heldPoll(registry)
        let file = registry.dir.path + "/fleet-1.json"
        try Signers().bundle(version: 1, files: ["texts.yaml": Data("welcome: 欢迎\n".utf8)]).write(to: URL(fileURLWithPath: file))
        let published = Date()
        let publish = try ProcessRunner.run(BuiltProducts.path("registryd"),
                                            ["config", "publish", file, "--target", "fleet", "--db", registry.process.database], timeout: 60)
        #expect(publish.status == 0, "\(publish.stderr)")
        let answer = try #require(connection.readResponse(timeout: 20))
        #expect(answer.status == 200 && !answer.body.contains(etag) && answer.body.contains("\"fleet\""), "\(answer)")
        #expect(Date().timeIntervalSince(published) < 5)
        let scrape = try ProcessRunner.run("/usr/bin/curl", ["-s", "--max-time", "5", "http://127.0.0.1:\(registry.metricsPort)/metrics"], timeout: 10).stdout
        #expect(scrape.contains(#"http_route="/v1/config/announcements""#), "\(scrape.prefix(1500))")
    }
}
