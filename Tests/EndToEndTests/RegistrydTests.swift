import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Registry
import TestSupport
import Testing

/// registryd on loopback with a real SQLite file.
@Suite(.serialized) struct RegistrydTests {
    let registryd = BuiltProducts.path("registryd")

    /// The kiosk these tests sign as, registered in each database before registryd starts.
    static let credentials = try? KioskCredentials.generate(kioskId: "e2e-kiosk")

    final class Server {
        let process = Process()
        let port: Int
        init(db: String, seed: String?) throws {
            let credentials = try #require(RegistrydTests.credentials)
            let added = try ProcessRunner.run(BuiltProducts.path("registryd"),
                                              ["kiosk", "add", credentials.kioskId, "--public-key", credentials.publicKeyBase64, "--db", db])
            #expect(added.status == 0, "\(added.stderr)")
            port = try freeLoopbackPort()
            process.executableURL = URL(fileURLWithPath: BuiltProducts.path("registryd"))
            process.arguments = ["--db", db, "--listen", "127.0.0.1:\(port)"] + (seed.map { ["--seed", $0] } ?? [])
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            for _ in 0..<300 {
                if (try? RegistrydTests.get(port, "/v1/enterprises/x")) != nil { return }
                usleep(20_000)
            }
        }
        func stop() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// `yitiji_registry_config_polls_held` as registryd's metrics port says (nil: not there yet).
    static func heldPolls(_ metricsPort: Int) -> Int? {
        let scrape = (try? ProcessRunner.run("/usr/bin/curl", ["-s", "--max-time", "5", "http://127.0.0.1:\(metricsPort)/metrics"], timeout: 10))?.stdout ?? ""
        let line = scrape.split(separator: "\n").first { $0.hasPrefix("yitiji_registry_config_polls_held ") }
        return line.flatMap { Double($0.split(separator: " ").last ?? "").map(Int.init) }
    }

    static func get(_ port: Int, _ path: String) throws -> (Int, [String: Any]) {
        let url = try #require(URL(string: "http://127.0.0.1:\(port)\(path)"))
        var request = URLRequest(url: url)
        for (name, value) in try #require(credentials).headers(method: "GET", pathAndQuery: path, body: Data()) {
            request.setValue(value, forHTTPHeaderField: name)
        }
        let semaphore = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: (Int, Data)?
        let task = URLSession.shared.dataTask(with: request) { data, response, _ in
            if let http = response as? HTTPURLResponse { result = (http.statusCode, data ?? Data()) }
            semaphore.signal()
        }
        task.resume()
        _ = semaphore.wait(timeout: .now() + 10)
        guard let result else { throw ProcessRunnerError.launchFailed("GET \(path)", "no answer") }
        let object = (try? JSONSerialization.jsonObject(with: result.1)) as? [String: Any] ?? [:]
        return (result.0, object)
    }

    @Test func servesTheSeedAndAnswersProblemsForBadInput() throws {
        let dir = try TemporaryDirectory(prefix: "registryd")
        defer { dir.remove() }
        let server = try Server(db: dir.path + "/registry.sqlite", seed: BuiltProducts.repositoryPath("scripts/testbeds/demo-seed.json"))
        defer { server.stop() }
        var (status, body) = try RegistrydTests.get(server.port, "/v1/enterprises/91441900100000008X")
        #expect(status == 200 && body["legalRepresentative"] as? String == "张三")
        #expect(body["legalRepresentativeIdNumber"] == nil)  // the public record only
        (status, body) = try RegistrydTests.get(server.port, "/v1/enterprises/91441900100000008X/archive")
        #expect(status == 200 && (body["archive"] as? [Any])?.isEmpty == false)
        (status, body) = try RegistrydTests.get(server.port, "/v1/enterprises?name=%E4%BA%91%E7%AB%AF")
        #expect(status == 200 && ((body["enterprises"] as? [Any])?.count ?? 0) >= 1)
        (status, body) = try RegistrydTests.get(server.port, "/v1/enterprises/91441900100000008Y")
        #expect(status == 400 && body["code"] as? String == "uscc.invalid")
        (status, body) = try RegistrydTests.get(server.port, "/v1/enterprises/91350100M000100Y43")
        #expect(status == 404 && body["code"] as? String == "enterprise.not-found")
        (status, body) = try RegistrydTests.get(server.port, "/v1/persons/441900199003181234/social-insurance")
        #expect(status == 200 && body["name"] as? String == "张三")
        (status, body) = try RegistrydTests.get(server.port, "/v1/persons/441900199003181235/social-insurance")
        #expect(status == 400 && body["code"] as? String == "id-number.invalid")
    }

    /// Hummingbird's metrics middleware through swift-prometheus, on a loopback port of its own:
    /// requests by route template and status, never by the path a kiosk asked (which holds ID numbers).
    @Test func metricsCountRequestsByRouteWithoutPersonalData() async throws {
        let dir = try TemporaryDirectory(prefix: "registry-metrics")
        defer { dir.remove() }
        let credentials = try KioskCredentials.generate(kioskId: "DG-0001")
        let port = freeLoopbackPort()
        let registry = try RegistrydProcess(database: dir.path + "/r.sqlite", seed: BuiltProducts.repositoryPath("scripts/testbeds/demo-seed.json"),
                                            kiosks: [(credentials.kioskId, credentials.publicKeyBase64)], extraArguments: ["--metrics-port", String(port)])
        defer { registry.stop() }
        let client = RegistryClient(configuration: RegistryClientConfiguration(baseURL: registry.baseURL, credentials: credentials))
        _ = try await client.socialInsurance(idNumber: "441900199003181234")
        _ = try RawHTTPConnection.request(port: registry.port, "GET", "/v1/persons/441900199003181234/social-insurance")
        let scrape = try ProcessRunner.run("/usr/bin/curl", ["-s", "--max-time", "10", "http://127.0.0.1:\(port)/metrics"], timeout: 20).stdout
        #expect(scrape.contains("# TYPE http_server_request_duration histogram"), "\(scrape.prefix(500))")
        #expect(scrape.contains(#"http_route="/v1/persons/{idNumber}/social-insurance""#) || scrape.contains("/v1/persons/{"), "\(scrape.prefix(2000))")
        #expect(scrape.contains(#"http_response_status_code="401""#))
        #expect(!scrape.contains("441900199003181234"), "no ID number in the metrics")
        // The metrics are not on the kiosks' port.
        #expect(try RawHTTPConnection.request(port: registry.port, "GET", "/metrics")?.status != 200)
    }

    /// A rolling restart of one replica: SIGTERM answers a held configuration poll at once with
    /// the unchanged announcements (no cut connection for the kiosk to count as a failure), exits
    /// 0 within seconds instead of waiting out the poll, and the replica started again serves.
    @Test func aGracefulStopAnswersHeldPollsAndExitsPromptly() async throws {
        let dir = try TemporaryDirectory(prefix: "registryd-restart")
        defer { dir.remove() }
        let credentials = try #require(Self.credentials)
        let metricsPort = freeLoopbackPort()
        let registry = try RegistrydProcess(database: dir.path + "/registry.sqlite", kiosks: [(credentials.kioskId, credentials.publicKeyBase64)],
                                            extraArguments: ["--metrics-port", String(metricsPort)])
        defer { registry.stop() }
        var config = RegistryClientConfiguration(baseURL: registry.baseURL, credentials: credentials)
        config.deadline = .seconds(60)
        config.attemptTimeout = .seconds(60)
        config.maxAttempts = 1
        config.breakerThreshold = .max
        let client = RegistryClient(configuration: config)
        let first = try await client.configAnnouncements(site: nil, etag: nil, wait: 0)
        let held = Task { try await client.configAnnouncements(site: nil, etag: first.etag, wait: 50) }
        // The poll reached registryd and is held: its gauge says so.
        #expect(await waitUntil(10) { Self.heldPolls(metricsPort) == 1 }, "the poll was never held")
        // Requests keep coming while it stops and starts, as a fleet's do.
        let pressing = Task {
            var longest = 0.0
            while !Task.isCancelled {
                let sent = Date()
                _ = try? await client.enterprise(uscc: "91441900100000008X")
                longest = max(longest, Date().timeIntervalSince(sent))
                try? await Task.sleep(for: .milliseconds(20))
            }
            return longest
        }
        let started = Date()
        let status = registry.terminate()
        #expect(status == 0)
        #expect(Date().timeIntervalSince(started) < 10, "registryd waited out the held poll")
        let answer = try await held.value
        #expect(answer.etag == first.etag)
        try registry.start()
        try await Task.sleep(for: .milliseconds(500))
        pressing.cancel()
        let longest = await pressing.value
        #expect(longest < 3, "a request sent while registryd stopped and started waited \(longest) s")
        #expect(try await client.configAnnouncements(site: nil, etag: nil, wait: 0).etag == first.etag)
        let again = Date()
        let heartbeat = Heartbeat(deviceStatus: ["reader": "ok"], outboxDepth: 0, configVersion: "embedded", sentAt: Date())
        _ = try await client.submitBatch([BatchItem(kind: .heartbeats, idempotencyKey: "hb-after-restart", body: try RegistryJSON.encoder().encode(heartbeat))])
        #expect(Date().timeIntervalSince(again) < 2)
    }

    @Test func aBadSeedIsRefusedWholeNamingTheRecord() throws {
        let dir = try TemporaryDirectory(prefix: "registryd")
        defer { dir.remove() }
        var text = try String(contentsOfFile: BuiltProducts.repositoryPath("scripts/testbeds/demo-seed.json"), encoding: .utf8)
        text = text.replacingOccurrences(of: "\"441900199003181234\"", with: "\"441900199003181235\"")
        try text.write(toFile: dir.path + "/bad.json", atomically: true, encoding: .utf8)
        let r = try ProcessRunner.run(registryd, ["--db", dir.path + "/r.sqlite", "--listen", "127.0.0.1:0", "--seed", dir.path + "/bad.json"], timeout: 60)
        #expect(r.status == 2)
        #expect(r.stderr.contains("enterprises[0].legalRepresentativeIdNumber") && r.stderr.contains("nothing was loaded"), "\(r.stderr)")
        // Nothing of it is in the database.
        let server = try Server(db: dir.path + "/r.sqlite", seed: nil)
        defer { server.stop() }
        #expect(try RegistrydTests.get(server.port, "/v1/enterprises/91441900100000008X").0 == 404)
    }
}
