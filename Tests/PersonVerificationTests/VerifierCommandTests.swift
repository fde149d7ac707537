import Foundation
import KioskCore
import PersonVerification
import Testing
import TestSupport

/// The verifier program as kioskd runs it: the real simulator and small hostile programs, each
/// answered within its deadline and none left running.
@Suite struct VerifierCommandTests {
    static let photo = SensitiveBytes([0x57, 0x4C, 0x66] + Array(repeating: 9, count: 1021))

    /// The simulator with a scene file of its own (its path names the test's processes).
    static func simulator(_ scene: VerifierScene, in directory: TemporaryDirectory) throws -> VerifierCommand {
        let path = directory.path + "/scene-\(UUID().uuidString)"
        try scene.rawValue.write(toFile: path, atomically: true, encoding: .utf8)
        return try VerifierCommand([BuiltProducts.path("yitiji-verifier-sim"), "--scene", path])
    }

    /// A shell script as the verifier.
    static func script(_ body: String, in directory: TemporaryDirectory) throws -> VerifierCommand {
        let path = directory.path + "/verifier-\(UUID().uuidString).sh"
        try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        // Run through the shell rather than exec'd: a file just written can be "busy" (ETXTBSY)
        // while a process forked meanwhile by a test beside this one still holds it open.
        return try VerifierCommand(["/bin/sh", path])
    }

    /// Whether any process still runs with `word` in its command line.
    static func running(_ word: String) -> Bool {
        let result = try? ProcessRunner.run("/usr/bin/pgrep", ["-f", word], timeout: 10)
        return result?.status == 0
    }

    static func check(_ command: VerifierCommand, timeout: Double = 5, minimumScore: Double = 0) async -> FaceCheckOutcome {
        await CommandVerifier(command: command, timeout: timeout, minimumScore: minimumScore)
            .verify(photo: photo, format: .wlt, liveness: .blink)
    }

    @Test func theSimulatorMatchesTheHolderAndRefusesAStranger() async throws {
        let directory = try TemporaryDirectory(prefix: "verifier")
        defer { directory.remove() }
        let holder = await Self.check(try Self.simulator(.holder, in: directory))
        #expect(holder.passed)
        let stranger = await Self.check(try Self.simulator(.stranger, in: directory))
        #expect(stranger == .decided(VerifierAnswer(verdict: .noMatch, score: 0.18, detail: nil)))
        let probe = await CommandVerifier(command: try Self.simulator(.holder, in: directory), timeout: 5).probe()
        #expect(probe == .success(VerifierIdentity(name: "Yitiji verifier simulator", model: "scene holder")))
    }

    @Test func aMatchBelowTheKiosksMinimumIsNoMatch() async throws {
        let directory = try TemporaryDirectory(prefix: "verifier")
        defer { directory.remove() }
        let weak = await Self.check(try Self.simulator(.weakMatch, in: directory), minimumScore: 0.8)
        guard case .decided(let answer) = weak else { Issue.record("no decision: \(weak)"); return }
        #expect(answer.verdict == .noMatch)
        #expect(!weak.passed)
    }

    @Test func aHungVerifierIsKilledAtItsDeadline() async throws {
        let directory = try TemporaryDirectory(prefix: "verifier")
        defer { directory.remove() }
        let command = try Self.simulator(.hang, in: directory)
        let outcome = await Self.check(command, timeout: 1.5)
        #expect(outcome == .failed(.timedOut(seconds: 1.5)))
        let scene = command.arguments[2]
        #expect(await waitUntil(5) { !Self.running(scene) }, "the hung simulator still runs")
    }

    @Test func helpersTheVerifierLeftBehindAreKilledWithIt() async throws {
        let directory = try TemporaryDirectory(prefix: "verifier")
        defer { directory.remove() }
        let marker = "yitiji-helper-\(UUID().uuidString)"
        // A helper in the background keeps the answer pipe open; the verifier itself hangs.
        let command = try Self.script("sh -c 'sleep 300; echo \(marker)' &\nsleep 300", in: directory)
        let outcome = await Self.check(command, timeout: 1)
        #expect(outcome == .failed(.timedOut(seconds: 1)))
        #expect(await waitUntil(5) { !Self.running(marker) }, "a helper of the verifier still runs")
    }

    @Test(arguments: [
        (VerifierScene.crash, VerifierError.endedWithoutAnswer("exit code 3")),
        (.garbage, .malformed("not a JSON object with version, id and result")),
        (.flood, .oversized(VerifierProtocol.maximumAnswer)),
        (.wrongId, .wrongRequest),
        (.badScore, .malformed("score 7.0 is not between 0 and 1")),
    ])
    func aBrokenVerifierIsReportedNeverTrusted(_ scene: VerifierScene, _ expected: VerifierError) async throws {
        let directory = try TemporaryDirectory(prefix: "verifier")
        defer { directory.remove() }
        let command = try Self.simulator(scene, in: directory)
        let outcome = await Self.check(command)
        #expect(outcome == .failed(expected))
        #expect(await waitUntil(5) { !Self.running(command.arguments[2]) })
    }

    @Test func aVerifierThatNeverReadsItsInputDoesNotHurtTheCaller() async throws {
        let directory = try TemporaryDirectory(prefix: "verifier")
        defer { directory.remove() }
        // It closes its input at once: the request meets a broken pipe (EPIPE, not SIGPIPE).
        let outcome = await Self.check(try Self.script("exec 0<&-\nexit 0", in: directory))
        #expect(outcome == .failed(.endedWithoutAnswer("exit code 0")))
        let killed = await Self.check(try Self.script("kill -SEGV $$", in: directory))
        #expect(killed == .failed(.endedWithoutAnswer("killed by signal 11")))
    }

    @Test func aVerifierThatCannotStartIsReported() async throws {
        let directory = try TemporaryDirectory(prefix: "verifier")
        defer { directory.remove() }
        #expect(throws: VerifierError.self) { try VerifierCommand(["face-verify"]) }
        #expect(throws: VerifierError.self) { try VerifierCommand([]) }
        let missing = await Self.check(try VerifierCommand([directory.path + "/no-such-verifier"]))
        guard case .failed(.launchFailed(let why)) = missing else { Issue.record("\(missing)"); return }
        #expect(why.contains("No such file"))
        let notExecutable = directory.path + "/plain-file"
        try "not a program".write(toFile: notExecutable, atomically: true, encoding: .utf8)
        let refused = await Self.check(try VerifierCommand([notExecutable]))
        guard case .failed(.launchFailed) = refused else { Issue.record("\(refused)"); return }
    }

    @Test func theVerifierGetsNothingOfTheCallersEnvironment() async throws {
        let directory = try TemporaryDirectory(prefix: "verifier")
        defer { directory.remove() }
        setenv("YITIJI_SECRET_FOR_TEST", "do-not-pass", 1)
        defer { unsetenv("YITIJI_SECRET_FOR_TEST") }
        let output = directory.path + "/env"
        let command = try Self.script("env > \(output)\nexit 0", in: directory)
        _ = await Self.check(command)
        let seen = try String(contentsOfFile: output, encoding: .utf8)
        #expect(!seen.contains("YITIJI_SECRET_FOR_TEST"))
        #expect(seen.contains("LANG=C.UTF-8"))
    }
}
