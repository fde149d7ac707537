import Foundation
import Hummingbird
import Registry
import RegistryServer
import Testing

/// The path check and the replay guard, on their own.
@Suite struct RequestGuardTests {
    @Test func pathsInNormalFormPass() {
        for path in ["/", "/v1/health", "/v1/enterprises/91441900100000008X/archive", "/v1/enterprises?name=%E4%BA%91&limit=5",
                     "/v1/persons/441900199003181234/social-insurance", "/v1/enterprises/%E4%BA%91"] {
            #expect(CanonicalPathMiddleware<BasicRequestContext>.problem(rawTarget: path) == nil, "\(path)")
        }
    }

    @Test func pathsNotInNormalFormAreRefused() {
        for path in ["//v1/persons/441900199003181234/social-insurance", "///v1/enterprises/91441900100000008X/archive",
                     "/v1//health", "/v1/health/", "/v1/./health", "/v1/../v1/health", "/./v1/health", "/v1/enterprises/..",
                     "/%761/health", "/v1/%68ealth", "/v1/enterprises/9144%31900100000008X", "/V1/health", "/v1/health%2", "/v1/health%zz",
                     "v1/health", "", "/v1/he alth", "/v1/h\u{00E9}alth", "*", "http://evil/v1/health",
                     "/" + String(repeating: "a", count: 3000)] {
            #expect(CanonicalPathMiddleware<BasicRequestContext>.problem(rawTarget: path) != nil, "\(path)")
        }
    }

    static func signed(_ credentials: KioskCredentials, nonce: String = KioskSignature.makeNonce(), at: Date = Date()) throws -> SignedRequestHeaders {
        let headers = Dictionary(uniqueKeysWithValues: credentials.headers(method: "GET", pathAndQuery: "/v1/x", body: Data(), now: at, nonce: nonce).map { ($0.0, [$0.1]) })
        return try SignedRequestHeaders(values: { headers[$0] ?? [] })
    }

    @Test func aNonceIsAcceptedOncePerKioskAndForgottenAfterTheWindow() async throws {
        let guardian = ReplayGuard()
        let a = try KioskCredentials.generate(kioskId: "a"), b = try KioskCredentials.generate(kioskId: "b")
        let nonce = KioskSignature.makeNonce()
        let now = Date()
        try await guardian.admit(try Self.signed(a, nonce: nonce, at: now), now: now)
        await #expect(throws: SignatureFailure.replayed) { try await guardian.admit(try Self.signed(a, nonce: nonce, at: now), now: now) }
        try await guardian.admit(try Self.signed(b, nonce: nonce, at: now), now: now)  // another kiosk's nonce space
        // Within the window it stays refused; after the window the timestamp itself is refused,
        // so the guard may forget it.
        await #expect(throws: SignatureFailure.replayed) {
            try await guardian.admit(try Self.signed(a, nonce: nonce, at: now), now: now.addingTimeInterval(299))
        }
        try await guardian.admit(try Self.signed(a, at: now.addingTimeInterval(700)), now: now.addingTimeInterval(700))
        #expect(await guardian.count == 1)
    }

    @Test func noncesFromClocksAheadAndBehindAreForgottenEachInItsTime() async throws {
        let guardian = ReplayGuard()
        let ahead = try KioskCredentials.generate(kioskId: "ahead"), behind = try KioskCredentials.generate(kioskId: "behind")
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let early = KioskSignature.makeNonce(), late = KioskSignature.makeNonce()
        // A kiosk 200 s ahead, then others on time, in arrival order (the ahead one expires last).
        try await guardian.admit(try Self.signed(ahead, nonce: late, at: now.addingTimeInterval(200)), now: now)
        try await guardian.admit(try Self.signed(behind, nonce: early, at: now.addingTimeInterval(-100)), now: now)
        for i in 1...50 { try await guardian.admit(try Self.signed(behind, at: now.addingTimeInterval(Double(i))), now: now.addingTimeInterval(Double(i))) }
        #expect(await guardian.count == 52)
        // 302 s on: the ones on time up to then are forgotten; the one ahead is still refused.
        let later = now.addingTimeInterval(302)
        await #expect(throws: SignatureFailure.replayed) {
            try await guardian.admit(try Self.signed(ahead, nonce: late, at: now.addingTimeInterval(200)), now: later)
        }
        #expect(await guardian.count == 51)
        try await guardian.admit(try Self.signed(behind, at: now.addingTimeInterval(900)), now: now.addingTimeInterval(900))
        #expect(await guardian.count == 1)
    }

    @Test func aFullGuardRefusesInsteadOfGrowing() async throws {
        let guardian = ReplayGuard(capacity: 3)
        let a = try KioskCredentials.generate(kioskId: "a")
        for _ in 0..<3 { try await guardian.admit(try Self.signed(a)) }
        await #expect(throws: Problem.self) { try await guardian.admit(try Self.signed(a)) }
        #expect(await guardian.count == 3)
    }
}
