import Diagnostics
import Foundation
import KioskConfig
import KioskTerminal
import TestSupport
import Testing

/// An outbox provider standing in for kioskd's outbox store.
struct FixedOutbox: OutboxFiguresProvider {
    let figures: OutboxFigures
    func outboxFigures() async throws -> OutboxFigures { figures }
}

struct BrokenOutbox: OutboxFiguresProvider {
    func outboxFigures() async throws -> OutboxFigures { throw ProviderUnavailable("the outbox database is locked") }
}

struct FixedHeartbeat: HeartbeatProvider {
    let figures: HeartbeatFigures
    func heartbeatFigures() async throws -> HeartbeatFigures { figures }
}

/// A check that never answers in time.
struct HungCheck: DiagnosticCheck {
    let id = "reader"
    let area = DiagnosticArea.reader
    func run(_ context: DiagnosticContext) async -> CheckResult {
        await Blocking.run { sleep(30); return CheckResult.ok("reader", "late") }
    }
}

struct QuickCheck: DiagnosticCheck {
    let id: String
    let status: CheckStatus
    var area: DiagnosticArea { .system }
    func run(_ context: DiagnosticContext) async -> CheckResult {
        CheckResult(id: id, status: status, detail: "\(id) detail", action: status == .ok ? "" : "do something")
    }
}

func context(_ environment: DiagnosticEnvironment, running: Bool = false) -> DiagnosticContext {
    let configuration: Result<KioskConfiguration, ConfigurationError>
    do { configuration = .success(try KioskConfiguration.load(from: environment.configDirectory)) } catch { configuration = .failure(error) }
    return DiagnosticContext(environment: environment, daemon: running ? .running(version: "0.1.0") : .notRunning("no socket"),
                             configuration: configuration)
}

func embeddedEnvironment(_ state: TemporaryDirectory) -> DiagnosticEnvironment {
    DiagnosticEnvironment(configDirectory: URL(fileURLWithPath: BuiltProducts.repositoryPath("kiosk-config")),
                          stateDirectory: state.url, runtimeDirectory: state.url)
}

@Suite struct DiagnosticRunnerTests {
    @Test func aHungCheckIsAbandonedAtItsDeadlineAndTheOthersStillReport() async throws {
        let state = try TemporaryDirectory(prefix: "diag")
        defer { state.remove() }
        let started = Date()
        let results = await DiagnosticRunner.run([HungCheck(), QuickCheck(id: "disk", status: .ok)],
                                                 context: context(embeddedEnvironment(state)), deadline: 1)
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(results.map(\.id) == ["reader", "disk"])
        #expect(results[0].status == .fail && results[0].detail.contains("no answer within 1 s"))
        #expect(results[0].action.contains("reader"))
        #expect(results[1].status == .ok)
    }

    @Test func exitCodeIsTheWorstStatus() {
        func report(_ statuses: [CheckStatus]) -> DiagnosticReport {
            DiagnosticReport(results: statuses.enumerated().map { CheckResult(id: "c\($0.offset)", status: $0.element, detail: "") })
        }
        #expect(report([]).exitCode == 0)
        #expect(report([.ok, .ok]).exitCode == 0)
        #expect(report([.ok, .warn]).exitCode == 1)
        #expect(report([.warn, .fail, .ok]).exitCode == 2)
    }

    @Test func theJSONShapeIsStable() throws {
        let report = DiagnosticReport(results: [
            .ok("reader", "found", verbose: ["→ AA AA AA 96 69"]),
            .fail("printer.a4", "stopped", action: "cupsenable a4"),
        ])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        let checks = try #require(object["checks"] as? [[String: Any]])
        #expect(Set(checks[0].keys) == ["id", "status", "detail", "action"])
        #expect(checks[1]["status"] as? String == "fail" && checks[1]["action"] as? String == "cupsenable a4")
        let verbose = try #require(try JSONSerialization.jsonObject(with: Data(report.json(verbose: true).utf8)) as? [String: Any])
        #expect(((verbose["checks"] as? [[String: Any]])?.first?["verbose"] as? [String]) == ["→ AA AA AA 96 69"])
    }
}

@Suite struct TableFormatterTests {
    @Test func columnsLineUpWithChineseTextAndColourOnlyWhenAsked() {
        let report = DiagnosticReport(results: [
            .ok("printer.a4", "打印机正常 a4 printer idle"),
            .fail("reader", "no reader", action: "check the cable"),
        ])
        let plain = TableFormatter(colour: false, width: 100).render(report)
        #expect(!plain.contains("\u{1B}["))
        let lines = plain.split(separator: "\n").map(String.init)
        // The action column starts at the same terminal column on every row.
        let header = lines[0]
        let actionColumn = DisplayWidthProbe.columns(before: "WHAT TO DO", in: header)
        let failRow = lines.first { $0.hasPrefix("reader") } ?? ""
        #expect(DisplayWidthProbe.columns(before: "check the cable", in: failRow) == actionColumn)
        #expect(plain.contains("2 checks: 1 ok, 0 warn, 1 fail — exit 2"))
        let coloured = TableFormatter(colour: true, width: 100).render(report)
        #expect(coloured.contains("\u{1B}[31mfail\u{1B}[0m") && coloured.contains("\u{1B}[32mok\u{1B}[0m"))
    }

    @Test func longTextWrapsWithinTheWidth() {
        let long = String(repeating: "打印机缺纸请联系工作人员", count: 12) + " " + String(repeating: "x", count: 300)
        let report = DiagnosticReport(results: [.fail("printer.receipt", long, action: long)])
        let table = TableFormatter(colour: false, width: 80).render(report)
        for line in table.split(separator: "\n") {
            #expect(DisplayWidth.of(line) <= 80, "\(line)")
        }
        // Nothing is lost (the summary line says "exit").
        #expect((table.components(separatedBy: "\n\n").first ?? "").filter { $0 == "x" }.count == 600)
    }

    @Test func noColourWithoutATerminalOrWithNoColor() {
        #expect(!TableFormatter.wantsColour(isTerminal: false, environment: [:]))
        #expect(!TableFormatter.wantsColour(isTerminal: true, environment: ["NO_COLOR": ""]))
        #expect(!TableFormatter.wantsColour(isTerminal: true, environment: ["NO_COLOR": "1"]))
        #expect(TableFormatter.wantsColour(isTerminal: true, environment: ["TERM": "xterm"]))
    }
}

/// Terminal columns before `needle` in `line`.
enum DisplayWidthProbe {
    static func columns(before needle: String, in line: String) -> Int? {
        guard let range = line.range(of: needle) else { return nil }
        return DisplayWidth.of(line[..<range.lowerBound])
    }
}

@Suite struct ProviderChecksTests {
    @Test func outboxFiguresComeFromTheProvider() async throws {
        let state = try TemporaryDirectory(prefix: "diag")
        defer { state.remove() }
        var environment = embeddedEnvironment(state)
        // No provider, kioskd down: say so, do not guess.
        var result = await OutboxCheck().run(context(environment))
        #expect(result.status == .warn && result.detail == "outbox figures need kioskd")

        environment.outbox = FixedOutbox(figures: OutboxFigures(depth: 0, oldestAgeSeconds: nil, deadLetters: 0))
        result = await OutboxCheck().run(context(environment, running: true))
        #expect(result.status == .ok && result.detail.contains("0 item(s) waiting"))

        environment.outbox = FixedOutbox(figures: OutboxFigures(depth: 250, oldestAgeSeconds: 3 * 3600, deadLetters: 0))
        result = await OutboxCheck().run(context(environment, running: true))
        #expect(result.status == .warn && result.detail.contains("backed up") && result.detail.contains("oldest 3 h"))

        environment.outbox = FixedOutbox(figures: OutboxFigures(depth: 3, oldestAgeSeconds: 60, deadLetters: 2))
        result = await OutboxCheck().run(context(environment, running: true))
        #expect(result.status == .warn && result.detail.contains("2 dead letter(s)") && result.action.contains("dead letters"))

        environment.outbox = FixedOutbox(figures: OutboxFigures(depth: 40, oldestAgeSeconds: 2 * 86_400, deadLetters: 0))
        result = await OutboxCheck().run(context(environment, running: true))
        #expect(result.status == .fail)

        environment.outbox = BrokenOutbox()
        result = await OutboxCheck().run(context(environment, running: true))
        #expect(result.status == .warn && result.detail.contains("locked"))
    }

    @Test func heartbeatAgeAgainstItsInterval() async throws {
        let state = try TemporaryDirectory(prefix: "diag")
        defer { state.remove() }
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        var environment = embeddedEnvironment(state)
        environment.now = { now }
        var result = await HeartbeatCheck().run(context(environment))
        #expect(result.status == .warn && result.detail.contains("need kioskd"))
        for (age, status) in [(30.0, CheckStatus.ok), (400, .warn), (4000, .fail)] {
            environment.heartbeat = FixedHeartbeat(figures: HeartbeatFigures(lastAcceptedAt: now.addingTimeInterval(-age), intervalSeconds: 60))
            result = await HeartbeatCheck().run(context(environment, running: true))
            #expect(result.status == status, "\(age) s: \(result)")
        }
    }

    @Test func diskThresholds() async throws {
        let state = try TemporaryDirectory(prefix: "diag")
        defer { state.remove() }
        let gib: UInt64 = 1 << 30
        for (free, total, status) in [(50 * gib, 100 * gib, CheckStatus.ok), (UInt64(900) << 20, 100 * gib, .warn),
                                      (5 * gib, 100 * gib, .warn), (UInt64(150) << 20, 100 * gib, .fail)] {
            let check = DiskCheck { path in (path, DiskSpace(freeBytes: free, totalBytes: total)) }
            let result = await check.run(context(embeddedEnvironment(state)))
            #expect(result.status == status, "\(free) of \(total): \(result)")
        }
        let real = await DiskCheck().run(context(embeddedEnvironment(state)))
        #expect(real.detail.contains("state \(state.path)"))
    }

    @Test func aBrokenConfigurationNamesTheFileAndField() async throws {
        let state = try TemporaryDirectory(prefix: "diag")
        defer { state.remove() }
        let config = state.path + "/config"
        try FileManager.default.copyItem(atPath: BuiltProducts.repositoryPath("kiosk-config"), toPath: config)
        let yaml = config + "/kiosk.yaml"
        let text = try String(contentsOfFile: yaml, encoding: .utf8).replacingOccurrences(of: "id: demo-kiosk-01", with: "id: Demo Kiosk")
        try text.write(toFile: yaml, atomically: true, encoding: .utf8)
        var environment = embeddedEnvironment(state)
        environment.configDirectory = URL(fileURLWithPath: config)
        let result = await ConfigCheck().run(context(environment))
        #expect(result.status == .fail && result.detail.contains("kiosk.yaml:4") && result.detail.contains("kiosk.id"), "\(result)")
        // The checks that need the configuration say so instead of guessing.
        let registry = await RegistryCheck().run(context(environment))
        #expect(registry.status == .fail && registry.detail.contains("configuration did not load"))
    }

    @Test func secretsAndIDNumbersAreStripped() {
        let yaml = "registry:\n  url: https://kiosk:pa55@registry.example\n  apiToken: abc123\n  password: \"x\"\n  keyFile: kiosk.key\n"
        let stripped = SupportBundle.stripSecrets(yaml)
        #expect(!stripped.contains("pa55") && !stripped.contains("abc123") && stripped.contains("keyFile: kiosk.key"))
        #expect(SupportBundle.maskPersonalData("read 441900199003181234 and 11010519491231002X, job 12345") ==
                "read <id-number> and <id-number>, job 12345")
        for line in [#"{"name":"欧阳娜娜","level":4}"#, #"holderName: 欧阳娜娜"#, "applicant=欧阳娜娜 queued", "姓名：欧阳娜娜 已受理",
                     "法定代表人 欧阳娜娜", #"{"legalRepresentative": "Ouyang Nana"}"#] {
            let masked = SupportBundle.maskPersonalData(line)
            #expect(!masked.contains("欧阳娜娜") && !masked.contains("Ouyang") && masked.contains("<name>"), "\(line) → \(masked)")
        }
        #expect(SupportBundle.maskPersonalData("printer a4: job 7 completed") == "printer a4: job 7 completed")
    }
}

struct FixedReader: ReaderFiguresProvider {
    let figures: ReaderFigures
    func readerFigures() async throws -> ReaderFigures { figures }
}

@Suite struct ReaderWhileKioskdRunsTests {
    @Test func theReaderRowTakesKioskdsFigures() async throws {
        let state = try TemporaryDirectory(prefix: "diag")
        defer { state.remove() }
        var environment = embeddedEnvironment(state)
        environment.reader = FixedReader(figures: ReaderFigures(reader: "usb 0400:c35a bus 1 device 2", samID: "05.01-20221117-0000000001-0123456789",
                                                                samStatus: "success"))
        var result = await ReaderCheck().run(context(environment, running: true))
        #expect(result.status == .ok && result.detail.contains("SAM ID 05.01-20221117") && result.detail.contains("kioskd's"), "\(result)")

        environment.reader = FixedReader(figures: ReaderFigures(reader: nil, samID: nil, samStatus: nil, lastError: "the reader was disconnected"))
        result = await ReaderCheck().run(context(environment, running: true))
        #expect(result.status == .fail && result.detail.contains("disconnected") && result.action.contains("USB cable"), "\(result)")

        environment.reader = FixedReader(figures: ReaderFigures(reader: "serial /dev/ttyUSB0", samID: nil, samStatus: "success", lastError: "read card failed"))
        result = await ReaderCheck().run(context(environment, running: true))
        #expect(result.status == .warn && result.detail.contains("read card failed"), "\(result)")
    }
}

/// The keys row: keys apart from the state, a document key in place, demonstration keys named.
@Suite struct KeysCheckTests {
    @Test func theKeysRowSaysWhereTheKeysAreAndWhatIsWrong() async throws {
        let dir = try TemporaryDirectory(prefix: "diag-keys")
        defer { dir.remove() }
        let state = dir.url.appendingPathComponent("state")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        let environment = DiagnosticEnvironment(configDirectory: URL(fileURLWithPath: BuiltProducts.repositoryPath("kiosk-config")),
                                                stateDirectory: state, runtimeDirectory: dir.url)
        var result = await KeysCheck().run(context(environment))
        #expect(result.status == .fail && result.action.contains("kioskd --enrol"), "\(result)")

        // The demonstration document key and the embedded configuration's demonstration root: named.
        try FileManager.default.copyItem(atPath: BuiltProducts.repositoryPath("scripts/testbeds/demo-document-signing.key"),
                                         toPath: state.path + "/document-signing.key")
        result = await KeysCheck().run(context(environment))
        #expect(result.status == .warn && result.detail.contains("demonstration") && result.detail.contains("keys/root.json"), "\(result)")

        // A key beside the data it protects, and a keys directory others may enter: failures.
        FileManager.default.createFile(atPath: state.path + "/outbox.key", contents: Data(count: 32))
        result = await KeysCheck().run(context(environment))
        #expect(result.status == .fail && result.detail.contains("beside the data"), "\(result)")
        try FileManager.default.removeItem(atPath: state.path + "/outbox.key")
        try FileManager.default.createDirectory(atPath: state.path + "-keys", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        result = await KeysCheck().run(context(environment))
        #expect(result.status == .fail && result.action.contains("chmod 700"), "\(result)")
        chmod(state.path + "-keys", 0o700)
        result = await KeysCheck().run(context(environment))
        #expect(result.status == .warn && result.detail.contains("keys apart"), "\(result)")
    }
}

/// kioskd's verifier figures, fixed.
struct FixedVerifier: VerifierFiguresProvider {
    let figures: VerifierFigures
    func verifierFigures() async throws -> VerifierFigures { figures }
}

@Suite struct VerifierCheckTests {
    @Test func theVerifierRowSaysWhatIsRefusedWithoutIt() async throws {
        let state = try TemporaryDirectory(prefix: "diag")
        defer { state.remove() }
        var environment = embeddedEnvironment(state)
        // kioskd down, none configured: the services that need it are named as refused.
        var result = await VerifierCheck().run(context(environment))
        #expect(result.status == .fail && result.detail.hasPrefix("none configured: SC-LICENCE, SC-SOCIAL, ") && result.detail.hasSuffix(" are refused"),
                "\(result.detail)")
        #expect(result.action.contains("verifier.command"))

        environment.verifier = FixedVerifier(figures: VerifierFigures(verifier: "simulator (demo)", state: "ready",
                                                                     detail: "Yitiji verifier simulator (scene holder)", servicesNeedingIt: ["SC-LICENCE"]))
        result = await VerifierCheck().run(context(environment, running: true))
        #expect(result.status == .ok && result.detail == "simulator (demo): Yitiji verifier simulator (scene holder); needed by SC-LICENCE")

        environment.verifier = FixedVerifier(figures: VerifierFigures(verifier: "/usr/lib/yitiji/verifier/face-verify", state: "failed",
                                                                     detail: "the verifier gave no answer within 5 s and was killed",
                                                                     servicesNeedingIt: ["SC-SOCIAL"]))
        result = await VerifierCheck().run(context(environment, running: true))
        #expect(result.status == .fail && result.detail.contains("no answer within 5 s") && result.detail.contains("SC-SOCIAL are refused"))

        environment.verifier = FixedVerifier(figures: VerifierFigures(verifier: nil, state: "notConfigured", detail: "", servicesNeedingIt: []))
        result = await VerifierCheck().run(context(environment, running: true))
        #expect(result.status == .ok && result.detail == "none configured; no service needs it")
    }
}
