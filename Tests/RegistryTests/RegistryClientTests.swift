import Foundation
import KioskCore
@testable import Registry
import TestSupport
import Testing

/// The registry client against a hostile loopback server: every bad answer is a typed error
/// within the call's deadline, nothing hangs or crashes.
@Suite struct RegistryClientTests {
    static let uscc = "91441900100000008X"

    func client(_ server: LoopbackHTTPServer, deadline: Duration = .seconds(2), attempts: Int = 2,
                attemptTimeout: Duration = .milliseconds(800)) throws -> RegistryClient {
        var config = RegistryClientConfiguration(baseURL: server.baseURL, credentials: try KioskCredentials.generate(kioskId: "test-kiosk"))
        config.deadline = deadline
        config.attemptTimeout = attemptTimeout
        config.maxAttempts = attempts
        config.retryBaseDelay = .milliseconds(20)
        config.maxResponseBytes = 1 << 20
        return RegistryClient(configuration: config)
    }

    /// Runs `body`, expecting `check` of its error within `limit` seconds.
    func expectFailure(within limit: Double, _ body: () async throws(RegistryClientError) -> Void,
                       _ check: (RegistryClientError) -> Bool, sourceLocation: SourceLocation = #_sourceLocation) async {
        let start = Date()
        do {
            try await body()
            Issue.record("expected a failure", sourceLocation: sourceLocation)
        } catch {
            #expect(check(error), "\(error)", sourceLocation: sourceLocation)
        }
        let elapsed = Date().timeIntervalSince(start)
        #expect(elapsed < limit, "took \(elapsed) s", sourceLocation: sourceLocation)
    }

    /// A path segment with reserved characters is percent-encoded once, as the registry decodes it.
    @Test func aPathSegmentIsEncodedOnce() async throws {
        let targets = Locked<[String]>([])
        let problem = Data(#"{"type":"about:blank","title":"x","status":404,"detail":"x","code":"hall.site-invalid"}"#.utf8)
        let server = try LoopbackHTTPServer { request in
            targets.withLock { $0.append(request.target) }
            return .reply(status: 404, body: problem, contentType: "application/problem+json")
        }
        let c = try client(server)
        _ = try? await c.hallFigures(site: "hall 1/东")
        #expect(targets.withLock { $0 } == ["/v1/halls/hall%201%2F%E4%B8%9C/queues"])
    }

    @Test func aMovedRegistryIsFollowedByTheClientAndEveryClientMadeFromIt() async throws {
        let health = Data(#"{"status":"ok","serverTime":"2026-01-01T00:00:00Z","version":"1"}"#.utf8)
        let old = try LoopbackHTTPServer { _ in .reply(status: 200, body: health) }
        let new = try LoopbackHTTPServer { _ in .reply(status: 200, body: health) }
        defer { old.stop(); new.stop() }
        let c = try client(old)
        let derived = RegistryClient(configuration: c.configuration, endpoint: c.endpoint)
        _ = try await c.health()
        #expect(c.endpoint.retarget(new.baseURL + "/"))
        #expect(c.endpoint.retarget(new.baseURL) == false)  // already there
        _ = try await c.health()
        _ = try await derived.health()
        #expect(old.requests == 1)
        #expect(new.requests == 2)
    }

    @Test func badJSONIsAMalformedAnswer() async throws {
        let server = try LoopbackHTTPServer { _ in .badJSON }
        defer { server.stop() }
        let c = try client(server)
        await expectFailure(within: 2.5, { () async throws(RegistryClientError) in _ = try await c.enterprise(uscc: Self.uscc) }) {
            if case .malformedAnswer = $0 { return true } else { return false }
        }
        #expect(server.requests == 1)  // not retried: it would answer the same
    }

    @Test func aHugeBodyIsRefused() async throws {
        for behaviour in [LoopbackHTTPServer.Behaviour.hugeChunked, .hugeDeclared] {
            let server = try LoopbackHTTPServer { _ in behaviour }
            defer { server.stop() }
            let c = try client(server)
            await expectFailure(within: 2.5, { () async throws(RegistryClientError) in _ = try await c.archive(uscc: Self.uscc) }) {
                if case .malformedAnswer(let what) = $0 { return what.contains("limit") } else { return false }
            }
        }
    }

    @Test func aSlowDripTimesOutWithinTheDeadline() async throws {
        let server = try LoopbackHTTPServer { _ in .slowDrip }
        defer { server.stop() }
        let c = try client(server, deadline: .milliseconds(1500))
        await expectFailure(within: 2.5, { () async throws(RegistryClientError) in _ = try await c.enterprise(uscc: Self.uscc) }) { $0 == .timeout }
    }

    @Test func noAnswerTimesOutWithinTheDeadline() async throws {
        let server = try LoopbackHTTPServer { _ in .silent }
        defer { server.stop() }
        let c = try client(server, deadline: .milliseconds(1500))
        await expectFailure(within: 2.5, { () async throws(RegistryClientError) in _ = try await c.health() }) { $0 == .timeout }
    }

    @Test func aResetIsUnreachableAndRetriedOnlyWhenSafe() async throws {
        let server = try LoopbackHTTPServer { _ in .reset }
        defer { server.stop() }
        let c = try client(server, attempts: 3)
        await expectFailure(within: 2.5, { () async throws(RegistryClientError) in _ = try await c.enterprise(uscc: Self.uscc) }) {
            if case .unreachable = $0 { return true } else { return false }
        }
        #expect(server.requests == 3)  // a GET is retried
    }

    @Test func aProblemIsARefusalAndNotRetried() async throws {
        let problem = Problem(statusCode: 403, code: "print.not-entitled", title: "No", detail: "only the legal representative")
        let body = try RegistryJSON.encoder().encode(problem)
        let server = try LoopbackHTTPServer { _ in .reply(status: 403, body: body, contentType: "application/problem+json") }
        defer { server.stop() }
        // Generous attempt times: a retry here could only come from a timeout on a busy machine.
        let c = try client(server, deadline: .seconds(8), attempts: 3, attemptTimeout: .seconds(4))
        await expectFailure(within: 8, { () async throws(RegistryClientError) in
            _ = try await c.authorizePrint(kind: .businessLicence, uscc: Self.uscc, idNumber: "441900199003181234")
        }) { $0 == .refused(problem) }
        #expect(server.requests == 1)
    }

    @Test func a503IsRetriedThenAnswered() async throws {
        let health = try RegistryJSON.encoder().encode(HealthStatus(status: .ok, serverTime: Date(), version: "t"))
        let counter = Counter()
        let server = try LoopbackHTTPServer { _ in
            counter.next() < 2 ? .reply(status: 503, body: Data("busy".utf8), contentType: "text/plain") : .reply(status: 200, body: health)
        }
        defer { server.stop() }
        let c = try client(server, deadline: .seconds(8), attempts: 3, attemptTimeout: .seconds(4))
        let answer = try await c.health()
        #expect(answer.status == .ok && server.requests == 3)
    }

    @Test func theCircuitOpensAfterRepeatedFailuresThenLetsOneTrialThrough() async throws {
        let server = try LoopbackHTTPServer { _ in .reset }
        defer { server.stop() }
        var config = RegistryClientConfiguration(baseURL: server.baseURL, credentials: try KioskCredentials.generate(kioskId: "k"))
        config.maxAttempts = 1
        config.breakerThreshold = 3
        config.breakerCooldown = .milliseconds(300)
        let c = RegistryClient(configuration: config)
        for _ in 0..<3 { _ = try? await c.health() }
        #expect(c.breaker.isOpen)
        let before = server.requests
        let start = Date()
        await expectFailure(within: 0.2, { () async throws(RegistryClientError) in _ = try await c.health() }) {
            if case .circuitOpen = $0 { return true } else { return false }
        }
        #expect(server.requests == before)  // failed fast, nothing sent
        #expect(Date().timeIntervalSince(start) < 0.2)
        try await Task.sleep(for: .milliseconds(350))
        _ = try? await c.health()  // the trial
        #expect(server.requests == before + 1)
        #expect(c.breaker.isOpen)  // the trial failed: open again
    }

    @Test func anUnusedPortIsUnreachable() async throws {
        var config = RegistryClientConfiguration(baseURL: "http://127.0.0.1:\(freeLoopbackPort())", credentials: try KioskCredentials.generate(kioskId: "k"))
        config.maxAttempts = 2
        config.retryBaseDelay = .milliseconds(10)
        let c = RegistryClient(configuration: config)
        await expectFailure(within: 2, { () async throws(RegistryClientError) in _ = try await c.search(name: "云端") }) {
            if case .unreachable = $0 { return true } else { return false }
        }
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int { lock.lock(); defer { value += 1; lock.unlock() }; return value }
}

/// The request-signing scheme, both ends.
@Suite struct SigningTests {
    @Test func aSignedRequestVerifiesAndTamperingIsCaught() async throws {
        let credentials = try KioskCredentials.generate(kioskId: "kiosk-01")
        let key = try #require(Data(base64Encoded: credentials.publicKeyBase64))
        let now = Date()
        let body = Data("{\"a\":1}".utf8)
        let sent = credentials.headers(method: "POST", pathAndQuery: "/v1/ratings", body: body, idempotencyKey: "key-1", now: now)
        func verify(method: String = "POST", path: String = "/v1/ratings", body: Data = body, change: [String: [String]] = [:],
                    at: Date = now) async throws -> String {
            var headers = Dictionary(uniqueKeysWithValues: sent.map { ($0.0.lowercased(), [$0.1]) })
            headers["idempotency-key"] = ["key-1"]
            for (name, values) in change { headers[name.lowercased()] = values }
            return try await KioskSignatureVerifier.verify(method: method, pathAndQuery: path, headers: { headers[$0.lowercased()] ?? [] },
                                                           body: body, now: at) { id in id == "kiosk-01" ? key : nil }.kioskId
        }
        #expect(try await verify() == "kiosk-01")
        await #expect(throws: SignatureFailure.badSignature) { try await verify(body: Data("{\"a\":2}".utf8)) }
        await #expect(throws: SignatureFailure.badSignature) { try await verify(path: "/v1/ratings?x=1") }
        await #expect(throws: SignatureFailure.badSignature) { try await verify(method: "GET") }
        // The idempotency key and the nonce are signed: a captured write cannot be re-keyed.
        await #expect(throws: SignatureFailure.badSignature) { try await verify(change: ["Idempotency-Key": ["key-2"]]) }
        await #expect(throws: SignatureFailure.badSignature) { try await verify(change: ["Idempotency-Key": []]) }
        await #expect(throws: SignatureFailure.badSignature) { try await verify(change: ["X-Kiosk-Nonce": ["AAAAAAAAAAAAAAAAAAAAAA"]]) }
        await #expect(throws: SignatureFailure.unknownKiosk("kiosk-02")) { try await verify(change: ["X-Kiosk-Id": ["kiosk-02"]]) }
        await #expect(throws: SignatureFailure.self) { try await verify(change: ["X-Kiosk-Signature": ["not base64!"]]) }
        await #expect(throws: SignatureFailure.self) { try await verify(at: now.addingTimeInterval(301)) }
        #expect(try await verify(at: now.addingTimeInterval(299)) == "kiosk-01")
        #expect(SignatureFailure.clockSkew(seconds: 400).problem.code == "auth.clock-skew")
    }

    /// Every header field with extreme, overlong, empty, repeated and non-ASCII values: each a
    /// clear `auth.missing`, never a trap.
    @Test func hostileHeaderValuesAreRefusedWithoutTrapping() throws {
        let credentials = try KioskCredentials.generate(kioskId: "kiosk-01")
        let good = Dictionary(uniqueKeysWithValues: credentials.headers(method: "GET", pathAndQuery: "/v1/x", body: Data()).map { ($0.0, $0.1) })
        let hostile = ["", " ", "-9223372036854775808", "9223372036854775807", "18446744073709551616", "-1", "+1", "1e9", "0x10",
                       " 1700000000", "1700000000 ", "１７００００００００", "张三", String(repeating: "9", count: 13),
                       String(repeating: "A", count: 100_000), "\u{0}", "AAAA====", String(repeating: "=", count: 88),
                       "../../etc/passwd", "\r\nX-Injected: 1"]
        for name in [KioskSignature.kioskIdHeader, KioskSignature.timestampHeader, KioskSignature.nonceHeader, KioskSignature.signatureHeader] {
            for value in hostile {
                var headers = good.mapValues { [$0] }
                headers[name] = [value]
                do {
                    let parsed = try SignedRequestHeaders(values: { headers[$0] ?? [] })
                    // Only a value of the header's own form may pass (e.g. "-1" is a well-formed kiosk ID).
                    #expect(name == KioskSignature.kioskIdHeader ? KioskSignature.isValidKioskId(parsed.kioskId)
                            : name == KioskSignature.nonceHeader && KioskSignature.isValidNonce(parsed.nonce), "\(name): \(value.prefix(30))")
                } catch {}
            }
            var repeated = good.mapValues { [$0] }
            repeated[name] = [good[name] ?? "", good[name] ?? ""]
            #expect(throws: SignatureFailure.self) { try SignedRequestHeaders(values: { repeated[$0] ?? [] }) }
            var missing = good.mapValues { [$0] }
            missing[name] = nil
            #expect(throws: SignatureFailure.self) { try SignedRequestHeaders(values: { missing[$0] ?? [] }) }
        }
        // The largest timestamp the form allows is far off the clock, not an overflow.
        var far = good.mapValues { [$0] }
        far[KioskSignature.timestampHeader] = ["999999999999"]
        let signed = try SignedRequestHeaders(values: { far[$0] ?? [] })
        #expect(throws: SignatureFailure.self) { try signed.checkClock(now: Date()) }
        #expect(throws: SignatureFailure.self) { try signed.checkClock(now: Date(timeIntervalSince1970: -1e300)) }
        #expect(throws: SignatureFailure.self) { try signed.checkClock(now: Date.distantFuture) }
        #expect(KioskSignature.parseTimestamp("0") == 0)
        #expect(KioskSignature.parseTimestamp("-1") == nil)
    }

    @Test func nonceFormIsChecked() {
        #expect(KioskSignature.isValidNonce(KioskSignature.makeNonce()))
        #expect(KioskSignature.makeNonce() != KioskSignature.makeNonce())
        #expect(!KioskSignature.isValidNonce("short"))
        #expect(!KioskSignature.isValidNonce(String(repeating: "a", count: 65)))
        #expect(!KioskSignature.isValidNonce("aaaaaaaaaaaaaaaa/"))
    }

    @Test func kioskIdsAreChecked() {
        #expect(KioskSignature.isValidKioskId("DG-0001.a_b"))
        #expect(!KioskSignature.isValidKioskId(""))
        #expect(!KioskSignature.isValidKioskId("a b"))
        #expect(!KioskSignature.isValidKioskId(String(repeating: "a", count: 65)))
        #expect(throws: KioskKeyError.self) { try KioskCredentials(kioskId: "k", privateKey: Data([1, 2, 3])) }
    }
}
