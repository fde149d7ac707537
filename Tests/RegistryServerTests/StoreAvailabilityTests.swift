import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import KioskCore
import Registry
import RegistryServer
import TestSupport
import Testing

/// A probe the test steers: answers, fails, or hangs.
final class SteeredProbe: StoreProbe {
    enum Behaviour: Sendable { case answer, fail, hang, hangTimes(Int) }
    let behaviour = Locked(Behaviour.answer)
    let resets = Locked(0)

    func check() async throws {
        switch behaviour.withLock({ $0 }) {
        case .answer: return
        case .fail: throw StoreUnavailable(reason: "connection refused")
        case .hang: try await Task.sleep(for: .seconds(3600))
        case .hangTimes(let times):
            behaviour.withLock { $0 = times > 1 ? .hangTimes(times - 1) : .answer }
            try await Task.sleep(for: .seconds(3600))
        }
    }

    func reset() async { resets.withLock { $0 += 1 } }
}

/// The store's availability: what the probe sees, and what requests get meanwhile.
struct StoreAvailabilityTests {
    @Test func aFailingOrSilentProbeMarksTheStoreUnavailableAndAnAnswerBringsItBack() async throws {
        let availability = StoreAvailability()
        let probe = SteeredProbe()
        let running = Task { await availability.run(probe: probe, interval: .milliseconds(20), timeout: .milliseconds(200)) }
        defer { running.cancel() }
        #expect(availability.isAvailable)

        probe.behaviour.withLock { $0 = .fail }
        await availability.waitUntilUnavailable()
        guard case .unavailable(let reason, _) = availability.state else { Issue.record("still available"); return }
        #expect(reason == "connection refused")
        #expect(probe.resets.withLock { $0 } >= 1, "a failed probe drops its connection")

        probe.behaviour.withLock { $0 = .answer }
        #expect(await waitUntil(5) { availability.isAvailable })

        // A probe that never answers counts as a failure once its timeout passes three times in a row.
        probe.behaviour.withLock { $0 = .hang }
        let started = ContinuousClock.now
        await availability.waitUntilUnavailable()
        #expect(ContinuousClock.now - started < .seconds(5) && ContinuousClock.now - started >= .milliseconds(600))
        if case .unavailable(let reason, _) = availability.state { #expect(reason.contains("did not answer") && reason.contains("3 times in a row")) }
    }

    /// A database slow for a probe or two, as under a burst, is not refused: only a run of slow
    /// probes is an outage.
    @Test func aSlowProbeOrTwoLeavesTheStoreAvailable() async throws {
        let availability = StoreAvailability()
        let probe = SteeredProbe()
        probe.behaviour.withLock { $0 = .hangTimes(2) }
        // A second's timeout: an answering probe is never late by that much, however busy the machine.
        let running = Task { await availability.run(probe: probe, interval: .milliseconds(20), timeout: .seconds(1)) }
        defer { running.cancel() }
        let tripped = Task { await availability.waitUntilUnavailable(); return !Task.isCancelled }
        #expect(await waitUntil(5) { probe.resets.withLock { $0 } >= 2 && probe.behaviour.withLock { if case .answer = $0 { true } else { false } } })
        try await Task.sleep(for: .milliseconds(400))
        #expect(availability.isAvailable)
        tripped.cancel()
        #expect(await tripped.value == false, "the store was marked unavailable")
    }

    @Test func aCallWaitingWhenTheStoreGoesAwayIsLetGoAndNewCallsFailAtOnce() async throws {
        let availability = StoreAvailability()
        let waiting = Task { try await availability.bounded { try await Task.sleep(for: .seconds(3600)); return 1 } }
        try await Task.sleep(for: .milliseconds(50))
        let started = ContinuousClock.now
        availability.markUnavailable("connection refused")
        await #expect(throws: StoreUnavailable.self) { try await waiting.value }
        #expect(ContinuousClock.now - started < .seconds(2))
        await #expect(throws: StoreUnavailable.self) { try await availability.bounded { 2 } }
        availability.markAvailable()
        #expect(try await availability.bounded { 3 } == 3)
        // A waiter cancelled before the store goes away is forgotten, not resumed twice.
        let cancelled = Task { await availability.waitUntilUnavailable() }
        cancelled.cancel()
        await cancelled.value
        availability.markUnavailable("again")
    }

    @Test func theMiddlewareAnswers503WhileTheStoreIsAwayAndForOutageErrors() async throws {
        let availability = StoreAvailability()
        let calls = Locked(0)
        let failure = Locked<(any Error & Sendable)?>(nil)
        let router = Router()
        router.add(middleware: StoreOutageMiddleware(availability: availability))
        router.get("v1/health") { _, _ in "up" }
        router.get("v1/thing") { _, _ -> String in
            calls.withLock { $0 += 1 }
            if let error = failure.withLock({ $0 }) { throw error }
            return "thing"
        }
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/v1/thing", method: .get) { #expect($0.status == .ok) }
            // An error meaning the database went away mid-request is a 503, not a 500.
            failure.withLock { $0 = DatabaseError(resultCode: .SQLITE_BUSY) }
            try await client.execute(uri: "/v1/thing", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body).contains("store.unavailable"))
            }
            // Other errors are left as they are.
            failure.withLock { $0 = DatabaseError(resultCode: .SQLITE_CONSTRAINT) }
            try await client.execute(uri: "/v1/thing", method: .get) { #expect($0.status == .internalServerError) }
            failure.withLock { $0 = nil }

            availability.markUnavailable("connection refused")
            let before = calls.withLock { $0 }
            try await client.execute(uri: "/v1/thing", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body).contains("connection refused"))
            }
            #expect(calls.withLock { $0 } == before, "the route is not run while the store is away")
            try await client.execute(uri: "/v1/health", method: .get) { #expect($0.status == .ok) }
            availability.markAvailable()
            try await client.execute(uri: "/v1/thing", method: .get) { #expect($0.status == .ok) }
        }
    }
}
