import Foundation
import Registry
import TestSupport
import Testing

/// registryd as an attacker meets it, over real loopback sockets against a real SQLite file:
/// non-normal paths, hostile headers, bodies sent before (or instead of) a signature, replays,
/// slow and idle clients. After every attack the registry still answers.
@Suite(.serialized) struct RegistrydAttackTests {
    static let seed = BuiltProducts.repositoryPath("scripts/testbeds/demo-seed.json")
    static let uscc = "91441900100000008X"
    static let person = "441900199003181234"

    struct Bed {
        let dir: TemporaryDirectory
        let registry: RegistrydProcess
        let credentials: KioskCredentials
        var port: Int { registry.port }
        func stop() { registry.stop(); dir.remove() }

        /// The registry still serves its health, and the process is alive.
        func stillServes() -> Bool { RegistrydProcess.answers(port: port) }

        func signed(_ method: String, _ target: String, body: Data = Data(), key: String? = nil,
                    now: Date = Date()) -> [(String, String)] {
            var headers = credentials.headers(method: method, pathAndQuery: target, body: body, idempotencyKey: key, now: now)
            if let key { headers.append(("Idempotency-Key", key)) }
            if !body.isEmpty { headers.append(("Content-Type", "application/json")) }
            return headers
        }

        func client() -> RegistryClient {
            RegistryClient(configuration: RegistryClientConfiguration(baseURL: registry.baseURL, credentials: credentials))
        }
    }

    static func bed(_ extra: [String] = []) throws -> Bed {
        let dir = try TemporaryDirectory(prefix: "registry-attack")
        let credentials = try KioskCredentials.generate(kioskId: "DG-0001")
        let registry = try RegistrydProcess(database: dir.path + "/registry.sqlite", seed: seed,
                                            kiosks: [(credentials.kioskId, credentials.publicKeyBase64)], extraArguments: extra)
        return Bed(dir: dir, registry: registry, credentials: credentials)
    }

    @Test func pathsNotInNormalFormAreRefusedBeforeRouting() throws {
        let bed = try Self.bed()
        defer { bed.stop() }
        let targets = [
            ("GET", "//v1/persons/\(Self.person)/social-insurance"),
            ("GET", "///v1/enterprises/\(Self.uscc)/archive"),
            ("POST", "//v1/print-authorizations"),
            ("GET", "/V1/persons/\(Self.person)/social-insurance"),
            ("GET", "/v1/%70ersons/\(Self.person)/social-insurance"),
            ("GET", "/v1/./persons/\(Self.person)/social-insurance"),
            ("GET", "/v1/enterprises/../persons/\(Self.person)/social-insurance"),
            ("GET", "/v1/persons/\(Self.person)/social-insurance/"),
            ("GET", "/v1/persons//\(Self.person)/social-insurance"),
        ]
        let ask = Data(#"{"kind":"archive","uscc":"91441900100000008X","idNumber":"441900199003181234"}"#.utf8)
        for (method, target) in targets {
            let body = method == "POST" ? ask : Data()
            // Unsigned, and signed over the very target sent: both refused, nothing personal answered.
            for headers in [[], bed.signed(method, target, body: body)] {
                let answer = try #require(try RawHTTPConnection.request(port: bed.port, method, target, headers: headers, body: body),
                                          "\(method) \(target)")
                #expect(answer.status == 400 && answer.body.contains("request.path-invalid"), "\(method) \(target): \(answer)")
                #expect(!answer.body.contains("张三") && !answer.body.contains("allowed"), "\(method) \(target)")
            }
        }
        // The same routes in normal form: unsigned is 401, signed is served.
        let path = "/v1/persons/\(Self.person)/social-insurance"
        #expect(try RawHTTPConnection.request(port: bed.port, "GET", path)?.status == 401)
        #expect(try RawHTTPConnection.request(port: bed.port, "GET", path, headers: bed.signed("GET", path))?.body.contains("张三") == true)
        #expect(bed.stillServes())
    }

    @Test func everyRouteButHealthNeedsAKiosk() throws {
        let bed = try Self.bed(["--public-reads"])
        defer { bed.stop() }
        // --public-reads opens the public enterprise reads only.
        #expect(try RawHTTPConnection.request(port: bed.port, "GET", "/v1/enterprises/\(Self.uscc)")?.status == 200)
        for (method, target) in [("GET", "/v1/persons/\(Self.person)/social-insurance"), ("POST", "/v1/print-authorizations"),
                                 ("POST", "/v1/ratings"), ("POST", "/v1/submissions"), ("POST", "/v1/applications"),
                                 ("GET", "/v1/config/announcements"), ("GET", "/v1/config/bundles/1"), ("POST", "/v1/config/reports"),
                                 ("POST", "/v1/name-checks"), ("POST", "/v1/pension-confirmations"), ("POST", "/v1/card-losses")] {
            let answer = try RawHTTPConnection.request(port: bed.port, method, target, body: Data("{}".utf8))
            #expect(answer?.status == 401, "\(method) \(target): \(String(describing: answer))")
        }
        // A forged signature on a public read is still checked, not waved through.
        var forged = bed.signed("GET", "/v1/enterprises/\(Self.uscc)")
        forged[0] = ("X-Kiosk-Id", "DG-9999")
        #expect(try RawHTTPConnection.request(port: bed.port, "GET", "/v1/enterprises/\(Self.uscc)", headers: forged)?.status == 401)
        #expect(try RawHTTPConnection.request(port: bed.port, "GET", "/v1/health")?.status == 200)
    }

    @Test func hostileHeadersNeverStopTheRegistry() throws {
        let bed = try Self.bed()
        defer { bed.stop() }
        let target = "/v1/enterprises/\(Self.uscc)"
        let signature = Data(repeating: 0x41, count: 64).base64EncodedString()
        // The request that used to trap the process.
        let trap = [("X-Kiosk-Id", "DG-0001"), ("X-Kiosk-Timestamp", "-9223372036854775808"),
                    ("X-Kiosk-Nonce", KioskSignature.makeNonce()), ("X-Kiosk-Signature", signature)]
        let answer = try RawHTTPConnection.request(port: bed.port, "GET", target, headers: trap)
        #expect(answer?.status == 401 && answer?.body.contains("auth.missing") == true, "\(String(describing: answer))")
        #expect(bed.stillServes())

        let hostile = ["-9223372036854775808", "9223372036854775807", "18446744073709551616", "999999999999", "0", "-1", "+1700000000",
                       "1e9", "", " ", String(repeating: "9", count: 5000), String(repeating: "A", count: 7000), "张三", "ÿÿÿÿ", "%00",
                       "DG-0001, DG-0002", "../../etc/passwd"]
        for name in ["X-Kiosk-Id", "X-Kiosk-Timestamp", "X-Kiosk-Nonce", "X-Kiosk-Signature", "Idempotency-Key", "Content-Length"] {
            for value in hostile {
                var headers = bed.signed("GET", target)
                headers.removeAll { $0.0 == name }
                headers.append((name, value))
                let answer = try RawHTTPConnection.request(port: bed.port, "GET", target, headers: headers, timeout: 3)
                // Harmless spellings may be served: no length, no key.
                let harmless = (name == "Content-Length" && value == "0") || (name == "Idempotency-Key" && value.trimmingCharacters(in: .whitespaces).isEmpty)
                if let answer, !harmless { #expect([400, 401, 413, 431].contains(answer.status), "\(name): \(value.prefix(30)) → \(answer.status)") }
            }
            // Twice the same header: refused, not "first wins".
            var twice = bed.signed("GET", target)
            if let existing = twice.first(where: { $0.0 == name }) { twice.append(existing) } else { twice += [(name, "x"), (name, "y")] }
            let doubled = try RawHTTPConnection.request(port: bed.port, "GET", target, headers: twice, timeout: 3)
            #expect(doubled.map { $0.status >= 400 } ?? true, "\(name) twice")
        }
        // Headers far over the limits are refused at the parser.
        let huge = (0..<100).map { ("X-Pad-\($0)", String(repeating: "p", count: 1000)) }
        #expect(try RawHTTPConnection.request(port: bed.port, "GET", target, headers: bed.signed("GET", target) + huge)?.status != 200)
        #expect(bed.stillServes())
        #expect(try RawHTTPConnection.request(port: bed.port, "GET", target, headers: bed.signed("GET", target))?.status == 200)
    }

    @Test func noBodyIsReadBeforeTheHeadersAreVerifiedAndEachRouteHasItsLimit() throws {
        let bed = try Self.bed()
        defer { bed.stop() }
        // An unknown kiosk announces 8 MiB and sends none of it: refused at once, from the headers.
        let stranger = try KioskCredentials.generate(kioskId: "DG-9999")
        let connection = try RawHTTPConnection(port: bed.port)
        var head = "POST /v1/submissions HTTP/1.1\r\nHost: x\r\nContent-Length: 8388608\r\n"
        for (name, value) in stranger.headers(method: "POST", pathAndQuery: "/v1/submissions", body: Data()) { head += "\(name): \(value)\r\n" }
        connection.send(head + "\r\n")
        let early = connection.readResponse(timeout: 3)
        #expect(early?.status == 401 && early?.body.contains("auth.unknown-kiosk") == true, "\(String(describing: early))")

        // Unsigned: refused before the body too.
        let unsigned = try RawHTTPConnection(port: bed.port)
        unsigned.send("POST /v1/ratings HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
        #expect(unsigned.readResponse(timeout: 3)?.status == 401)

        // A registered kiosk: one submission is at most 64 KiB, a read takes no body.
        let big = Data(repeating: 0x20, count: 100_000)
        var answer = try RawHTTPConnection.request(port: bed.port, "POST", "/v1/ratings", headers: bed.signed("POST", "/v1/ratings", body: big, key: "k-1"), body: big)
        #expect(answer?.status == 413, "\(String(describing: answer))")
        let target = "/v1/enterprises/\(Self.uscc)"
        answer = try RawHTTPConnection.request(port: bed.port, "GET", target, headers: bed.signed("GET", target, body: Data("x".utf8)), body: Data("x".utf8))
        #expect(answer?.status == 413, "\(String(describing: answer))")
        #expect(bed.stillServes())
    }

    @Test func aCapturedWriteIsAcceptedOnce() throws {
        let bed = try Self.bed()
        defer { bed.stop() }
        let rating = try RegistryJSON.encoder().encode(RatingRecord(visitId: "visit-replay", level: 5, reason: nil, serviceCode: "archive-query",
                                                                    formVersion: 1, ratedAt: Date()))
        let headers = bed.signed("POST", "/v1/ratings", body: rating, key: "key-replay")
        let first = try RawHTTPConnection.request(port: bed.port, "POST", "/v1/ratings", headers: headers, body: rating)
        #expect(first?.status == 201, "\(String(describing: first))")
        // The same bytes again: a replay.
        let again = try RawHTTPConnection.request(port: bed.port, "POST", "/v1/ratings", headers: headers, body: rating)
        #expect(again?.status == 401 && again?.body.contains("auth.replayed") == true, "\(String(describing: again))")
        // The same signature under another idempotency key: the key is signed.
        let rekeyed = headers.map { $0.0 == "Idempotency-Key" ? ($0.0, "key-other") : $0 }
        let other = try RawHTTPConnection.request(port: bed.port, "POST", "/v1/ratings", headers: rekeyed, body: rating)
        #expect(other?.status == 401 && other?.body.contains("auth.bad-signature") == true, "\(String(describing: other))")
        // A fresh nonce on a captured body without the key cannot be made: the signature covers the nonce.
        let renonced = headers.map { $0.0 == "X-Kiosk-Nonce" ? ($0.0, KioskSignature.makeNonce()) : $0 }
        #expect(try RawHTTPConnection.request(port: bed.port, "POST", "/v1/ratings", headers: renonced, body: rating)?.status == 401)
        // Reads are replay-protected too.
        let target = "/v1/persons/\(Self.person)/social-insurance"
        let read = bed.signed("GET", target)
        #expect(try RawHTTPConnection.request(port: bed.port, "GET", target, headers: read)?.status == 200)
        #expect(try RawHTTPConnection.request(port: bed.port, "GET", target, headers: read)?.body.contains("auth.replayed") == true)
    }

    @Test func aKioskWithADriftedClockLearnsTheRegistrysTime() async throws {
        let bed = try Self.bed()
        defer { bed.stop() }
        for drift in [3600.0, -7200.0] {
            var configuration = RegistryClientConfiguration(baseURL: bed.registry.baseURL, credentials: bed.credentials)
            configuration.localClock = { Date().addingTimeInterval(drift) }
            let client = RegistryClient(configuration: configuration)
            let rating = try RegistryJSON.encoder().encode(RatingRecord(visitId: "visit-drift-\(Int(drift))", level: 4, reason: nil,
                                                                        serviceCode: "archive-query", formVersion: 1, ratedAt: Date()))
            let receipt = try await client.submit(kind: .ratings, idempotencyKey: "drift-\(Int(drift))", body: rating)
            #expect(receipt.registryNumber.hasPrefix("PJ-"))
            #expect(abs(client.endpoint.clockOffset + drift) <= 2, "learnt \(client.endpoint.clockOffset) for a drift of \(drift)")
            // Later requests are signed in the registry's time at once.
            #expect(try await client.enterprise(uscc: Self.uscc).legalRepresentative == "张三")
        }
    }

    @Test func idleAndSlowClientsDoNotStarveTheKiosks() async throws {
        let bed = try Self.bed(["--header-timeout", "2", "--body-timeout", "2"])
        defer { bed.stop() }
        var idle: [RawHTTPConnection] = []
        for _ in 0..<500 { idle.append(try RawHTTPConnection(port: bed.port)) }
        // A few slow ones: half a head, and a head with half its body.
        for connection in idle.prefix(20) { connection.send("GET /v1/enterprises/\(Self.uscc) HTTP/1.1\r\nHost: x\r\nX-Kiosk-") }
        let client = bed.client()
        let started = ContinuousClock.now
        #expect(try await client.enterprise(uscc: Self.uscc).legalRepresentative == "张三")
        let took = ContinuousClock.now - started
        #expect(took < .seconds(1), "a signed request took \(took) beside 500 idle connections")
        // The registry closes silent and slow connections after its deadlines.
        #expect(idle[0].closedByPeer(within: 5), "a half-sent head was not cut off")
        #expect(idle[499].closedByPeer(within: 5), "an idle connection was not closed")
        let dribble = try RawHTTPConnection(port: bed.port)
        let body = Data(repeating: 0x7B, count: 100)
        var head = "POST /v1/ratings HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
        for (name, value) in bed.signed("POST", "/v1/ratings", body: body, key: "slow") { head += "\(name): \(value)\r\n" }
        dribble.send(head + "\r\n" + "{")
        #expect(dribble.closedByPeer(within: 5), "a body that never finishes was not cut off")
        #expect(bed.stillServes())
    }
}
