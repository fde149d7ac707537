import Foundation
import IDCardReader
import KioskCore
import TestSupport
import Testing

/// The kioskctl contracts other tools rely on: `validate`, `reader decode`, `reader read`.
@Suite struct KioskctlReaderTests {
    let kioskctl = BuiltProducts.path("kioskctl")

    struct Line: Decodable { let valid: Bool; let normalized: String; let reason: String }

    func validate(_ kind: String, _ value: String) throws -> (Int32, Line) {
        let r = try ProcessRunner.run(kioskctl, ["validate", kind, value], timeout: 30)
        let line = try JSONDecoder().decode(Line.self, from: Data(r.stdout.utf8))
        #expect(r.stdout.split(separator: "\n").count == 1)
        return (r.status, line)
    }

    @Test func validateIDNumberContract() throws {
        var (status, line) = try validate("id-number", "441900199003181234")
        #expect(status == 0 && line.valid && line.normalized == "441900199003181234")
        (status, line) = try validate("id-number", "440304850721055")
        #expect(status == 0 && line.valid && line.normalized == "440304198507210550")
        (status, line) = try validate("id-number", "441900199003181235")
        #expect(status == 1 && !line.valid && line.reason.contains("check character"))
        (status, line) = try validate("id-number", "810000198506120024")
        #expect(status == 0 && line.reason.contains("Hong Kong"))
    }

    @Test func validateUSCCContract() throws {
        var (status, line) = try validate("uscc", "91350100m000100y43")
        #expect(status == 0 && line.valid && line.normalized == "91350100M000100Y43")
        (status, line) = try validate("uscc", "91350100M000100Y44")
        #expect(status == 1 && !line.valid && !line.reason.isEmpty)
    }

    /// The hex a reader sends for find, select and read of `card`, with line breaks as a capture has.
    static func transcript(_ card: CardIdentity, readOnly: Bool = false) -> String {
        let simulator = ReaderSimulator(card: card)
        var frames: [[UInt8]] = []
        for command in [SAMCommand.findCard, .selectCard, .readText] {
            frames.append(simulator.receive(command.frame).flatMap(\.bytes))
        }
        if readOnly { frames = [frames[2]] }
        return frames.map { frame in
            stride(from: 0, to: frame.count, by: 32).map { hexString(frame[$0..<min(frame.count, $0 + 32)]) }
                .joined(separator: "\n")
        }.joined(separator: "\n\n")
    }

    @Test("reader decode prints the card JSON of every kind", arguments: Array(SampleCards.byName.keys.sorted()))
    func decode(name: String) throws {
        let card = try #require(SampleCards.byName[name])
        for readOnly in [false, true] {
            let r = try ProcessRunner.run(kioskctl, ["reader", "decode"],
                                          stdin: Data(KioskctlReaderTests.transcript(card, readOnly: readOnly).utf8), timeout: 30)
            #expect(r.status == 0, "\(r.stderr)")
            let decoded = try JSONDecoder().decode(CardIdentity.self, from: Data(r.stdout.utf8))
            #expect(decoded == card)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            #expect(object["cardType"] as? String == card.cardType.rawValue)
            #expect(object.keys.contains("validUntil"))
        }
    }

    @Test func decodeResidentFieldsExactly() throws {
        let r = try ProcessRunner.run(kioskctl, ["reader", "decode"],
                                      stdin: Data(KioskctlReaderTests.transcript(SampleCards.residentLongTerm).utf8), timeout: 30)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(object["name"] as? String == "李四")
        #expect(object["sex"] as? String == "female")
        #expect(object["ethnicity"] as? String == "满")
        #expect(object["birthDate"] as? String == "1949-12-31")
        #expect(object["idNumber"] as? String == "11010519491231002X")
        #expect(object["validUntil"] is NSNull)
    }

    @Test("a bad frame exits 2 with one line naming the fault", arguments: [
        ("AA AA AA 96 69 00 04 00 00 90 95", "checksum"),
        ("AA AA AA 96 69 00 04 00 00 41 45", "41 (read card failed)"),
        ("AA AA AA 96 69 00 04 00 00 80 84", "80 (find card failed"),
        ("AA AA AA 96 69 05 08 00 00 90 00 01 04 00", "truncated"),
        ("AA AA AA 96 69 FF FF 00", "length"),
        ("AA AA AA 96 69 00 04 00 00 90 94", "no read response"),
        ("hello", "not hex"),
        ("", "no input"),
    ])
    func badFrames(hex: String, expected: String) throws {
        let r = try ProcessRunner.run(kioskctl, ["reader", "decode"], stdin: Data(hex.utf8), timeout: 30)
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains(expected), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
    }

    @Test func readFromASerialReaderDrivenByTheSimulatorProcess() throws {
        let dir = try TemporaryDirectory(prefix: "sim")
        defer { dir.remove() }
        let tty = dir.path + "/tty", control = dir.path + "/control"
        let sim = Process()
        sim.executableURL = URL(fileURLWithPath: BuiltProducts.path("yitiji-reader-sim"))
        sim.arguments = ["--pty", tty, "--control", control, "--card", "resident"]
        sim.standardError = FileHandle.nullDevice
        try sim.run()
        defer { kill(sim.processIdentifier, SIGKILL); sim.waitUntilExit() }
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: control) || !FileManager.default.fileExists(atPath: tty) {
            usleep(10_000)
        }
        var r = try ProcessRunner.run(kioskctl, ["reader", "read", "--device", tty, "--json", "--timeout", "5"], timeout: 30)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try JSONDecoder().decode(CardIdentity.self, from: Data(r.stdout.utf8)) == SampleCards.resident)

        r = try ProcessRunner.run(kioskctl, ["reader", "read", "--device", tty, "--timeout", "5"], timeout: 30)
        #expect(r.status == 0)
        #expect(r.stdout.contains("张*") && r.stdout.contains("441900********1234"))
        #expect(!r.stdout.contains("张三") && !r.stdout.contains("441900199003181234"))

        r = try ProcessRunner.run(kioskctl, ["reader", "read", "--device", tty, "--show", "--timeout", "5"], timeout: 30)
        #expect(r.stdout.contains("张三"))

        try "remove\n".write(toFile: control, atomically: false, encoding: .utf8)
        r = try ProcessRunner.run(kioskctl, ["reader", "read", "--device", tty, "--timeout", "1"], timeout: 30)
        #expect(r.status == 1)
        #expect(r.stderr.contains("no card"))

        r = try ProcessRunner.run(kioskctl, ["reader", "read", "--device", dir.path + "/missing", "--timeout", "1"], timeout: 30)
        #expect(r.status == 2)
        #expect(r.stderr.contains("no ID-card reader"))
    }

    @Test func badArgumentsAreRefusedWithAReason() throws {
        let r = try ProcessRunner.run(kioskctl, ["reader", "read", "--select", "bogus"], timeout: 30)
        #expect(r.status != 0)
        #expect(r.stderr.contains("--select must be"))
    }
}
