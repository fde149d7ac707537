import Foundation
import TestSupport
import Testing

/// `kioskctl diag`, `maintenance` and `support-bundle` against the real test beds.
@Suite(.serialized) struct DiagnosticsEndToEndTests {
    let kioskctl = BuiltProducts.path("kioskctl")

    /// A kiosk on disk: a copy of kiosk-config (registry URL edited), a state directory with the
    /// kiosk's key, and a technician socket path where nothing listens unless `socket` is given.
    struct Kiosk {
        let directory: TemporaryDirectory
        var config: String { directory.path + "/config" }
        var state: String { directory.path + "/state" }
        var socket: String

        init(registryURL: String = "http://127.0.0.1:\(freeLoopbackPort())", edit: ((String) -> String)? = nil, socket: String? = nil) throws {
            directory = try TemporaryDirectory(prefix: "diag")
            try FileManager.default.copyItem(atPath: BuiltProducts.repositoryPath("kiosk-config"), toPath: directory.path + "/config")
            let kioskYAML = directory.path + "/config/kiosk.yaml"
            var text = try String(contentsOfFile: kioskYAML, encoding: .utf8)
            text = text.replacingOccurrences(of: "url: http://127.0.0.1:8480", with: "url: \(registryURL)")
            if let edit { text = edit(text) }
            try text.write(toFile: kioskYAML, atomically: true, encoding: .utf8)
            try FileManager.default.createDirectory(atPath: directory.path + "/state", withIntermediateDirectories: true)
            // A well-formed (test) Ed25519 private key: 32 bytes, base64.
            try Data(repeating: 7, count: 32).base64EncodedString().write(toFile: directory.path + "/state/kiosk.key", atomically: true, encoding: .utf8)
            self.socket = socket ?? directory.path + "/no-kioskd.sock"
        }

        var arguments: [String] {
            ["--config", config, "--state-dir", state, "--socket", socket, "--cups-spool", state]
        }
    }

    struct Row: Decodable { let id: String; let status: String; let detail: String; let action: String }
    struct Body: Decodable { let checks: [Row] }

    func diag(_ kiosk: Kiosk, _ extra: [String] = [], environment: [String: String] = [:]) throws -> (ProcessResult, [Row]) {
        var env = environment
        if env["CUPS_SERVER"] == nil { env["CUPS_SERVER"] = "127.0.0.1:1" }  // never the machine's own CUPS
        let r = try ProcessRunner.run(kioskctl, ["diag", "--json"] + extra + kiosk.arguments, environment: env, timeout: 60)
        let body = try JSONDecoder().decode(Body.self, from: Data(r.stdout.utf8))
        return (r, body.checks)
    }

    func row(_ rows: [Row], _ id: String) throws -> Row {
        try #require(rows.first { $0.id == id }, "no \(id) row in \(rows.map(\.id))")
    }

    @Test func kioskdDownIsReportedFirstAndTheJSONHasStableIds() throws {
        let kiosk = try Kiosk()
        defer { kiosk.directory.remove() }
        let (r, rows) = try diag(kiosk)
        #expect(r.status == 2)
        #expect(rows.first?.id == "daemon" && rows.first?.status == "fail")
        #expect(rows.first?.detail.contains("kioskd is not running") == true)
        #expect(rows.first?.action.contains("systemctl start kioskd") == true)
        #expect(rows.map(\.id) == ["daemon", "reader", "printer.a4", "printer.receipt", "registry", "identity", "keys", "heartbeat", "outbox", "disk", "config", "freshness", "verifier"])
        #expect(rows.allSatisfy { ["ok", "warn", "fail"].contains($0.status) })
        #expect(try row(rows, "outbox").status == "warn" && row(rows, "outbox").detail.contains("need kioskd"))
        #expect(try row(rows, "disk").status == "ok" && row(rows, "disk").detail.contains("free"))
        #expect(try row(rows, "config").status == "ok")
        #expect(try row(rows, "identity").status == "ok")

        // The table: kioskd first, no colour when stdout is not a terminal, the exit code line.
        let table = try ProcessRunner.run(kioskctl, ["diag"] + kiosk.arguments, environment: ["CUPS_SERVER": "127.0.0.1:1"], timeout: 60)
        #expect(table.status == 2)
        let lines = table.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("CHECK") == true && lines.dropFirst().first?.hasPrefix("daemon") == true)
        #expect(!table.stdout.contains("\u{1B}["))
        #expect(table.stdout.contains("exit 2"))

        // On a terminal (util-linux `script` gives one): coloured, unless NO_COLOR is set.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/script") {
            let command = ([kioskctl, "diag", "config"] + kiosk.arguments).map { "'\($0)'" }.joined(separator: " ")
            // The test runner's own NO_COLOR, if any, must not reach the first run.
            let tty = try ProcessRunner.run("/usr/bin/script", ["-qc", "/usr/bin/env -u NO_COLOR " + command, "/dev/null"], environment: ["CUPS_SERVER": "127.0.0.1:1", "TERM": "xterm"], timeout: 60)
            #expect(tty.stdout.contains("\u{1B}[31mfail\u{1B}[0m") && tty.stdout.contains("\u{1B}[32mok\u{1B}[0m"), "\(tty.stdout)")
            let plain = try ProcessRunner.run("/usr/bin/script", ["-qc", command, "/dev/null"],
                                              environment: ["CUPS_SERVER": "127.0.0.1:1", "TERM": "xterm", "NO_COLOR": "1"], timeout: 60)
            #expect(plain.stdout.contains("fail") && !plain.stdout.contains("\u{1B}["), "\(plain.stdout)")
        }
    }

    @Test func exitCodesFollowTheWorstStatus() throws {
        let backedUp = try FakeHTTPServer(routes: [
            "/v1/status": ["version": "0.1.0"],
            "/v1/diagnostics/outbox": ["depth": 412, "oldestAgeSeconds": 5400, "deadLetters": 0],
        ])
        defer { backedUp.stop() }
        let kiosk = try Kiosk(socket: backedUp.socketPath)
        defer { kiosk.directory.remove() }
        var (r, rows) = try diag(kiosk, ["config"])
        #expect(r.status == 0, "\(r.stdout)")
        #expect(rows.map(\.id) == ["daemon", "config", "freshness"])
        #expect(rows.first?.status == "ok" && rows.first?.detail.contains("0.1.0") == true)

        (r, rows) = try diag(kiosk, ["queue"])
        #expect(r.status == 1)
        let outbox = try row(rows, "outbox")
        #expect(outbox.status == "warn" && outbox.detail.contains("412") && outbox.detail.contains("backed up"), "\(outbox)")

        // A route this kioskd does not serve is named, not guessed.
        (r, rows) = try diag(kiosk, ["registry"])
        let heartbeat = try row(rows, "heartbeat")
        #expect(heartbeat.status == "warn" && heartbeat.detail.contains("/v1/diagnostics/heartbeat"), "\(heartbeat)")

        // kioskd answering nonsense is a warning, not a crash.
        let confused = try FakeHTTPServer(routes: ["/v1/status": ["version": 5]])
        defer { confused.stop() }
        var odd = kiosk
        odd.socket = confused.socketPath
        (r, rows) = try diag(odd, ["config"])
        #expect(r.status == 1 && rows.first?.status == "warn" && rows.first?.detail.contains("not readable") == true, "\(rows)")

        let bad = try Kiosk(edit: { $0.replacingOccurrences(of: "copies: 1\n    quality: normal", with: "copies: 12\n    quality: normal") },
                            socket: backedUp.socketPath)
        defer { bad.directory.remove() }
        (r, rows) = try diag(bad, ["config"])
        #expect(r.status == 2)
        let config = try row(rows, "config")
        #expect(config.status == "fail" && config.detail.contains("kiosk.yaml") && config.detail.contains("printers.a4.copies"), "\(config)")
        #expect(config.action.contains("kiosk.yaml"))

        let usage = try ProcessRunner.run(kioskctl, ["diag", "nonsense"], timeout: 30)
        #expect(usage.status != 0 && usage.stderr.contains("nonsense"))
    }

    @Test func theEmulatedReaderIsFoundWithItsSAMAndAnUnpluggedOneFails() throws {
        let bed = try EmulatedUSBReader()
        defer { bed.stop() }
        let kiosk = try Kiosk()
        defer { kiosk.directory.remove() }
        var (r, rows) = try diag(kiosk, ["reader", "--verbose"], environment: bed.environment)
        var reader = try row(rows, "reader")
        #expect(reader.status == "ok" && reader.detail.contains("SAM ID") && reader.detail.contains("0400:c35a"), "\(reader) \(r.stderr)")
        #expect(reader.detail.contains("no card"))
        #expect(r.status == 2)  // kioskd is down

        let verbose = try ProcessRunner.run(kioskctl, ["diag", "reader", "--verbose"] + kiosk.arguments, environment: bed.environment, timeout: 60)
        #expect(verbose.stdout.contains("AA AA AA 96 69"), "\(verbose.stdout)")

        bed.unplug()
        (r, rows) = try diag(kiosk, ["reader"], environment: bed.environment)
        reader = try row(rows, "reader")
        #expect(reader.status == "fail" && reader.action.contains("USB cable"), "\(reader)")
        #expect(r.status == 2)

        // Plugged back in: a frame with a bad checksum, then a SAM that fails its self-test.
        bed.plug()
        try bed.control("fault checksum")
        (r, rows) = try diag(kiosk, ["reader"], environment: bed.environment)
        reader = try row(rows, "reader")
        #expect(reader.status == "fail" && reader.detail.contains("checksum"), "\(reader)")
        try bed.control("fault status 60")
        (r, rows) = try diag(kiosk, ["reader"], environment: bed.environment)
        reader = try row(rows, "reader")
        #expect(reader.status == "fail" && reader.detail.contains("SAM"), "\(reader)")

        // While kioskd runs, the reader is kioskd's: looked for, not opened.
        let daemon = try FakeHTTPServer(routes: ["/v1/status": ["version": "0.1.0"]])
        defer { daemon.stop() }
        var owned = kiosk
        owned.socket = daemon.socketPath
        (r, rows) = try diag(owned, ["reader", "--verbose"], environment: bed.environment)
        reader = try row(rows, "reader")
        #expect(reader.status == "ok" && reader.detail.contains("kioskd owns the reader") && reader.detail.contains("0400:c35a"), "\(reader)")
        #expect(r.status == 0)

        // No USB at all: nothing found, fail.
        (r, rows) = try diag(kiosk, ["reader"])
        #expect(try row(rows, "reader").status == "fail" && r.status == 2)
    }

    @Test func printersInGoodAndBadStates() throws {
        let bed = try CupsTestBed()
        defer { bed.stop() }
        let kiosk = try Kiosk()
        defer { kiosk.directory.remove() }
        var (_, rows) = try diag(kiosk, ["printer"], environment: bed.environment)
        #expect(try row(rows, "printer.a4").status == "ok", "\(rows)")
        #expect(try row(rows, "printer.receipt").status == "ok")

        // A queue that would retry a failed job later, behind the citizen's back: named, with the fix.
        func policy(_ value: String) throws {
            let r = try ProcessRunner.run("/usr/sbin/lpadmin", ["-p", "a4", "-o", "printer-error-policy=\(value)"], environment: bed.environment, timeout: 30)
            #expect(r.status == 0, "\(r.stderr)")
        }
        try policy("retry-job")
        (_, rows) = try diag(kiosk, ["printer"], environment: bed.environment)
        let retrying = try row(rows, "printer.a4")
        #expect(retrying.status == "warn" && retrying.detail.contains("error policy retry-job")
                && retrying.action == "lpadmin -p a4 -o printer-error-policy=abort-job", "\(retrying)")
        try policy("abort-job")
        (_, rows) = try diag(kiosk, ["printer"], environment: bed.environment)
        #expect(try row(rows, "printer.a4").status == "ok", "\(rows)")

        try bed.fault("a4", "stop-printer")
        (_, rows) = try diag(kiosk, ["printer"], environment: bed.environment)
        var a4 = try row(rows, "printer.a4")
        #expect(a4.status == "fail" && a4.detail.contains("stopped") && a4.action.contains("cupsenable a4"), "\(a4)")
        #expect(try row(rows, "printer.receipt").status == "ok")
        try bed.fault("a4", "ok")

        // Out of paper: the virtual printer says so once a job reaches it.
        try bed.fault("a4", "media-empty")
        let pdf = kiosk.directory.path + "/slip.pdf"
        let render = try ProcessRunner.run(kioskctl, ["document", "render", "--kind", "receipt", "--input",
                                                      BuiltProducts.repositoryPath("Tests/Fixtures/documents/receipt.json"), "-o", pdf], timeout: 60)
        #expect(render.status == 0, "\(render.stderr)")
        let lp = try ProcessRunner.run("/usr/bin/lp", ["-d", "a4", pdf], environment: bed.environment, timeout: 30)
        #expect(lp.status == 0, "\(lp.stderr)")
        var found = false
        for _ in 0..<40 where !found {
            (_, rows) = try diag(kiosk, ["printer"], environment: bed.environment)
            a4 = try row(rows, "printer.a4")
            found = a4.detail.contains("paper out")
            if !found { usleep(250_000) }
        }
        #expect(found && a4.status == "fail" && a4.action.contains("load paper"), "\(a4)")
        try bed.fault("a4", "media-ok")

        // A job that failed at the printer shows as the last job's outcome.
        // Every job fails until cleared: a job still in the queue cannot take the fault away from this one.
        try bed.fault("receipt", "fail-jobs")
        let failing = try ProcessRunner.run(kioskctl, ["document", "print", "--kind", "receipt", "--input",
                                                       BuiltProducts.repositoryPath("Tests/Fixtures/documents/receipt.json"),
                                                       "--printer", "receipt", "--timeout", "20"], environment: bed.environment, timeout: 60)
        #expect(failing.status == 1, "\(failing.stdout)\(failing.stderr)")
        (_, rows) = try diag(kiosk, ["printer"], environment: bed.environment)
        let receipt = try row(rows, "printer.receipt")
        #expect(receipt.status == "warn" && (receipt.detail.contains("aborted") || receipt.detail.contains("canceled"))
                && receipt.action.contains("test-page"), "\(receipt)")
        try bed.fault("receipt", "ok")

        // A role bound to a queue CUPS does not have.
        let wrong = try Kiosk(edit: { $0.replacingOccurrences(of: "queue: receipt", with: "queue: nosuchqueue") })
        defer { wrong.directory.remove() }
        (_, rows) = try diag(wrong, ["printer"], environment: bed.environment)
        let missing = try row(rows, "printer.receipt")
        #expect(missing.status == "fail" && missing.detail.contains("nosuchqueue") && missing.action.contains("lpadmin"), "\(missing)")
    }

    @Test func registryUpAndDown() throws {
        let dir = try TemporaryDirectory(prefix: "registry")
        defer { dir.remove() }
        let port = freeLoopbackPort()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: BuiltProducts.path("registryd"))
        server.arguments = ["--db", dir.path + "/registry.sqlite", "--listen", "127.0.0.1:\(port)",
                            "--seed", BuiltProducts.repositoryPath("scripts/testbeds/demo-seed.json")]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() }
        let up = try Kiosk(registryURL: "http://127.0.0.1:\(port)")
        defer { up.directory.remove() }
        var registry: Row?
        for _ in 0..<100 {
            let (_, rows) = try diag(up, ["registry"])
            registry = rows.first { $0.id == "registry" }
            if registry?.status == "ok" { break }
            usleep(100_000)
        }
        #expect(registry?.status == "ok" && registry?.detail.contains("reachable") == true && registry?.detail.contains(" ms") == true,
                "\(String(describing: registry))")
        #expect(registry?.detail.contains("clock skew") == true)

        kill(server.processIdentifier, SIGKILL)
        server.waitUntilExit()
        let (r, rows) = try diag(up, ["registry"])
        let down = try row(rows, "registry")
        #expect(down.status == "fail" && down.detail.contains("registry unreachable") && down.action.contains("network"), "\(down)")
        #expect(r.status == 2)
    }

    @Test func registryHealthClockSkewAndIdentity() throws {
        let port = freeLoopbackPort()
        let registry = try FakeHTTPServer(routes: ["/v1/health": ["status": "ok", "serverTimeOffset": 0]], port: port)
        defer { registry.stop() }
        let kiosk = try Kiosk(registryURL: "http://127.0.0.1:\(port)")
        defer { kiosk.directory.remove() }
        var (_, rows) = try diag(kiosk, ["registry"])
        var health = try row(rows, "registry")
        #expect(health.status == "ok" && health.detail.contains("clock skew") && health.detail.contains("(serverTime)"), "\(health)")
        #expect(try row(rows, "identity").status == "ok")

        let skewedPort = freeLoopbackPort()
        let skewed = try FakeHTTPServer(routes: ["/v1/health": ["status": "ok", "serverTimeOffset": 900]], port: skewedPort)
        defer { skewed.stop() }
        let late = try Kiosk(registryURL: "http://127.0.0.1:\(skewedPort)")
        defer { late.directory.remove() }
        (_, rows) = try diag(late, ["registry"])
        health = try row(rows, "registry")
        #expect(health.status == "fail" && health.detail.contains("clock skew -") && health.action.contains("NTP"), "\(health)")

        let refusingPort = freeLoopbackPort()
        let refusing = try FakeHTTPServer(routes: ["/v1/health": ["_status": 403, "code": "kiosk.unknown"]], port: refusingPort)
        defer { refusing.stop() }
        let stranger = try Kiosk(registryURL: "http://127.0.0.1:\(refusingPort)")
        defer { stranger.directory.remove() }
        (_, rows) = try diag(stranger, ["registry"])
        health = try row(rows, "registry")
        #expect(health.status == "fail" && health.detail.contains("refused this kiosk's identity demo-kiosk-01"), "\(health)")
    }

    @Test func maintenanceTalksToKioskdAndSaysWhenItIsNotRunning() throws {
        let kiosk = try Kiosk()
        defer { kiosk.directory.remove() }
        var r = try ProcessRunner.run(kioskctl, ["maintenance", "on", "--reason", "replacing toner", "--socket", kiosk.socket], timeout: 30)
        #expect(r.status == 2 && r.stderr.contains("kioskd is not running") && r.stderr.contains("start it first"), "\(r.stderr)")

        let daemon = try FakeHTTPServer(routes: ["/v1/status": ["version": "0.1.0"], "/v1/maintenance": ["on": true]])
        defer { daemon.stop() }
        r = try ProcessRunner.run(kioskctl, ["maintenance", "on", "--reason", "replacing toner", "--socket", daemon.socketPath], timeout: 30)
        #expect(r.status == 0, "\(r.stderr)")
        let post = try #require(daemon.posts().last)
        #expect(post.hasPrefix("/v1/maintenance ") && post.contains("\"on\":true") && post.contains("replacing toner"), "\(post)")

        r = try ProcessRunner.run(kioskctl, ["maintenance", "sideways", "--reason", "x"], timeout: 30)
        #expect(r.status != 0)
        r = try ProcessRunner.run(kioskctl, ["maintenance", "off", "--socket", daemon.socketPath], timeout: 30)
        #expect(r.status != 0 && r.stderr.contains("--reason"))
    }

    @Test func theSupportBundleHoldsNoPersonalDataOrSecrets() throws {
        let name = "欧阳娜娜"
        let idNumber = "441900199003181234"
        let secret = "S3cretKeyMaterial"
        let kiosk = try Kiosk()
        defer { kiosk.directory.remove() }
        let fm = FileManager.default
        // Personal data where kioskd keeps state: an outbox with an application, a cache, a
        // spooled document, a ledger; the ID number in a log line.
        let state = kiosk.state
        for dir in ["logs", "cache", "spool", "config"] { try fm.createDirectory(atPath: state + "/" + dir, withIntermediateDirectories: true) }
        try Data("SQLite format 3\0 application {\"name\":\"\(name)\",\"idNumber\":\"\(idNumber)\"}".utf8).write(to: URL(fileURLWithPath: state + "/outbox.sqlite"))
        try Data("{\"legalRepresentative\":\"\(name)\",\"legalRepresentativeIdNumber\":\"\(idNumber)\"}".utf8).write(to: URL(fileURLWithPath: state + "/cache/enterprise.json"))
        try Data("%PDF-1.4 \(name) \(idNumber)".utf8).write(to: URL(fileURLWithPath: state + "/spool/certificate.pdf"))
        try Data("[{\"requestID\":\"r1\",\"kind\":\"receipt\",\"queue\":\"a4\",\"state\":\"completed\",\"detail\":\"\(idNumber)\"}]".utf8)
            .write(to: URL(fileURLWithPath: state + "/print-ledger.json"))
        try "2026-11-23T10:00:00Z info reader: card read for \(idNumber), session s-42\n2026-11-23T10:00:03Z info {\"holderName\":\"\(name)\"} 姓名：\(name)\n2026-11-23T10:00:05Z info printer a4: job 7 completed\n"
            .write(toFile: state + "/logs/kioskd.log", atomically: true, encoding: .utf8)
        // Secrets in the configuration: a private key file and a password.
        try fm.createDirectory(atPath: kiosk.config + "/keys", withIntermediateDirectories: true)
        try secret.write(toFile: kiosk.config + "/keys/kiosk.key", atomically: true, encoding: .utf8)
        try "proxy:\n  url: http://kiosk:\(secret)@proxy.example:3128\n  password: \(secret)\n".write(toFile: kiosk.config + "/network.yaml", atomically: true, encoding: .utf8)

        let output = kiosk.directory.path + "/support.tar.gz"
        // Nothing is written outside the output file: not even a scratch copy in TMPDIR.
        let scratch = kiosk.directory.path + "/tmp"
        try fm.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let r = try ProcessRunner.run(kioskctl, ["support-bundle", "-o", output] + kiosk.arguments,
                                      environment: ["CUPS_SERVER": "127.0.0.1:1", "TMPDIR": scratch], timeout: 90)
        #expect(r.status == 0, "\(r.stderr)")
        let beside = try fm.contentsOfDirectory(atPath: scratch)
        #expect(beside.isEmpty, "written beside the bundle: \(beside)")
        #expect(((try? fm.attributesOfItem(atPath: output))?[.posixPermissions] as? Int) == 0o600)
        let extracted = kiosk.directory.path + "/extracted"
        try fm.createDirectory(atPath: extracted, withIntermediateDirectories: true)
        let untar = try ProcessRunner.run("/bin/tar", ["-xzf", output, "-C", extracted], timeout: 30)
        #expect(untar.status == 0, "\(untar.stderr)")

        var files: [String: Data] = [:]
        for relative in (fm.enumerator(atPath: extracted)?.allObjects as? [String]) ?? [] {
            var isDirectory: ObjCBool = false
            let path = extracted + "/" + relative
            if fm.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                files[relative.split(separator: "/").dropFirst().joined(separator: "/")] = fm.contents(atPath: path)
            }
        }
        for expected in ["versions.txt", "diag.json", "outbox.json", "config/kiosk.yaml", "config/network.yaml", "logs/kioskd.log"] {
            #expect(files[expected] != nil, "\(expected) missing from \(files.keys.sorted())")
        }
        #expect(files["config/keys/kiosk.key"] == nil)
        let diagJSON = try JSONSerialization.jsonObject(with: files["diag.json"] ?? Data()) as? [String: Any]
        #expect((diagJSON?["checks"] as? [Any])?.isEmpty == false)
        #expect(String(decoding: files["logs/kioskd.log"] ?? Data(), as: UTF8.self).contains("job 7 completed"))
        #expect(String(decoding: files["versions.txt"] ?? Data(), as: UTF8.self).contains("kioskctl"))
        for (path, data) in files {
            for needle in [name, idNumber, secret] {
                #expect(data.range(of: Data(needle.utf8)) == nil, "\(path) holds \(needle)")
            }
        }
    }
}
