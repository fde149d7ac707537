import Foundation
import Testing
import TestSupport

/// The packages installed on a Debian machine whose PID 1 is systemd, and their units run as an
/// operator runs them: registryd and kioskd under their own accounts and sandboxes, readiness
/// through sd_notify, `systemctl status` text, the journal's priorities, reload, a crash, a stop.
@Suite(.serialized, .enabled(if: SystemdMachine.isAvailable && FileManager.default.isExecutableFile(atPath: "/usr/bin/dpkg-buildpackage")))
struct SystemdMachineTests {
    /// What the kiosk's package may leave unmet on this machine: the printing system, the screen
    /// and the input method's data, none of which the units under test use (the CJK fonts are lent
    /// by the host). Any other unmet dependency is a package that does not install.
    static let notOnTheMachine: Set<String> = [
        "cups", "cage", "foot", "xwayland", "fonts-noto-cjk", "librime1", "rime-data-luna-pinyin", "rime-prelude", "rime-essay", "libopencc-data"]

    @Test func theUnitsRunUnderSystemdAsInstalled() throws {
        let dir = try TemporaryDirectory(prefix: "units")
        defer { dir.remove() }
        let bin = URL(fileURLWithPath: BuiltProducts.path("kioskd")).deletingLastPathComponent().path
        let built = try ProcessRunner.run("/bin/bash", [BuiltProducts.repositoryPath("scripts/package.sh"), "--fast", "--no-lintian",
                                                        "--from", bin, "--out", dir.path], timeout: 600)
        try #require(built.status == 0, "\(built.stderr.suffix(3000))")
        let machine = try SystemdMachine()
        defer { machine.stop() }
        try machine.copy([dir.path + "/yitiji-kiosk_0.1.0_amd64.deb", dir.path + "/yitiji-registry_0.1.0_amd64.deb"])
        let installed = try machine.run(["dpkg", "--force-depends", "-i", "/tmp/in/yitiji-kiosk_0.1.0_amd64.deb",
                                         "/tmp/in/yitiji-registry_0.1.0_amd64.deb"], timeout: 300)
        #expect(installed.status == 0, "\(installed.stderr.suffix(2000))")
        let unmet = Set(installed.stderr.matches(of: /depends on ([a-z0-9.+-]+)/).map { String($0.1) })
        #expect(unmet.isSubset(of: Self.notOnTheMachine), "the packages need what nothing installs: \(unmet.subtracting(Self.notOnTheMachine))")

        // registryd under its unit.
        #expect(try machine.run(["systemctl", "start", "registryd"]).status == 0)
        #expect(try machine.run(["curl", "-sf", "--retry", "20", "--retry-connrefused", "--retry-delay", "0", "--max-time", "10",
                                 "http://127.0.0.1:8480/v1/health"]).stdout.contains(#""status":"ok""#))

        // The documented enrolment, as the kiosk's own account: the site's /etc/yitiji laid over
        // the packaged defaults by an account that owns neither.
        let enrol = try machine.run(["runuser", "-u", "yitiji", "--", "kioskd", "--enrol", "--config", "/etc/yitiji", "--state", "/var/lib/yitiji"])
        let add = enrol.stdout.split(separator: "\n").first { $0.hasPrefix("registryd kiosk add ") }
        let addLine = try #require(add, "kioskd --enrol: \(enrol.stdout) \(enrol.stderr)")
        let registered = try machine.run(["runuser", "-u", "registryd", "--"] + addLine.split(separator: " ").map(String.init)
                                          + ["--db", "/var/lib/registryd/registry.sqlite"])
        #expect(registered.status == 0, "\(registered.stderr)")

        // Type=notify: `systemctl start` returns once kioskd said READY=1 with both sockets up.
        let started = try machine.run(["systemctl", "start", "kioskd"])
        #expect(started.status == 0, "\(started.stderr) \((try? machine.run(["journalctl", "-u", "kioskd", "--no-pager", "-o", "cat"]).stdout.suffix(3000)) ?? "")")
        func show(_ property: String) throws -> String {
            try machine.run(["systemctl", "show", "-p", property, "--value", "kioskd"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(try show("ActiveState") == "active")
        let sockets = try machine.run(["stat", "-c", "%n %G %a", "/run/yitiji/citizen.sock", "/run/yitiji/technician.sock"]).stdout
        #expect(sockets.contains("/run/yitiji/citizen.sock yitiji-citizen 660") && sockets.contains("/run/yitiji/technician.sock yitiji-tech 660"),
                "\(sockets)")
        // STATUS= for `systemctl status`: it serves, and says what is missing.
        #expect(eventually(10) { ((try? show("StatusText")) ?? "").hasPrefix("serving; reader missing") }, "\((try? show("StatusText")) ?? "")")
        let status = try machine.run(["systemctl", "status", "--no-pager", "kioskd"]).stdout
        #expect(status.contains("Status: \"serving;"), "\(status)")
        // The screen's account reaches the citizen socket, not the technician's.
        #expect(try machine.run(["runuser", "-u", "yitiji-screen", "--", "curl", "-s", "--unix-socket", "/run/yitiji/citizen.sock",
                                 "http://kioskd/v1/status"]).stdout.contains("\"readerPresent\":false"))
        #expect(try machine.run(["runuser", "-u", "yitiji-screen", "--", "curl", "-s", "--unix-socket", "/run/yitiji/technician.sock",
                                 "http://kioskd/v1/queue"]).status != 0)
        let overview = try machine.run(["kioskctl", "status"])
        #expect(overview.status == 0 && overview.stdout.contains("reader:      missing"), "\(overview.stdout) \(overview.stderr)")

        // The journal keeps priorities: the missing reader is a warning, the start-up is not.
        func journal(_ arguments: [String] = []) throws -> String {
            try machine.run(["journalctl", "-u", "kioskd", "--no-pager", "-o", "cat"] + arguments).stdout
        }
        #expect(try journal(["-p", "warning"]).contains("reader disconnected"))
        #expect(try !journal(["-p", "warning"]).contains("kioskd ready"))
        #expect(try journal(["-p", "info"]).contains("kioskd ready"))

        // `systemctl reload`: the site's files again, without a restart; a broken file is refused.
        let pid = try show("MainPID")
        #expect(try machine.run(["systemctl", "reload", "kioskd"]).status == 0)
        #expect(eventually(10) { ((try? journal()) ?? "").contains("site configuration reloaded") })
        try machine.shell("printf 'texts: [unclosed\\n' > /etc/yitiji/texts.yaml")
        #expect(try machine.run(["systemctl", "reload", "kioskd"]).status == 0)
        #expect(eventually(10) { ((try? journal(["-p", "err"])) ?? "").contains("texts.yaml") }, "\((try? journal().suffix(2000)) ?? "")")
        #expect(try show("MainPID") == pid && show("ActiveState") == "active")
        try machine.shell("rm /etc/yitiji/texts.yaml")

        // A crash: systemd starts it again (Restart=on-failure), ready once more.
        #expect(try machine.run(["systemctl", "kill", "--signal=SIGKILL", "kioskd"]).status == 0)
        #expect(eventually(20) { let now = (try? show("MainPID")) ?? ""; return now != pid && now != "0" && ((try? show("ActiveState")) ?? "") == "active" },
                "\((try? machine.run(["systemctl", "status", "--no-pager", "kioskd"]).stdout) ?? "")")

        // A stop is graceful: SIGTERM, a clean exit, well inside TimeoutStopSec.
        let stopping = Date()
        #expect(try machine.run(["systemctl", "stop", "kioskd"]).status == 0)
        #expect(Date().timeIntervalSince(stopping) < 10)
        #expect(try show("ExecMainStatus") == "0" && show("Result") == "success", "\((try? journal().suffix(2000)) ?? "")")

        // The live units are as exposed as the offline check says.
        for (unit, ceiling) in [("kioskd", 2.5), ("registryd", 2.5)] {
            let security = try machine.run(["systemd-analyze", "security", "--no-pager", unit]).stdout
            let score = security.firstMatch(of: /Overall exposure level for \S+: ([0-9.]+)/).flatMap { Double($0.1) }
            #expect((score ?? 10) <= ceiling, "\(unit): \(security.suffix(400))")
        }
    }
}
