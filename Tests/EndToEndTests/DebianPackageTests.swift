import Foundation
import Testing
import TestSupport

/// The Debian packages: built with debhelper from this build's programs, clean under lintian,
/// installed by dpkg into a scratch root (its maintainer scripts run against that root): files,
/// accounts, directories and units in place; a reinstall keeps the site's /etc/yitiji and brings
/// the package's defaults back.
@Suite(.serialized, .enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/dpkg-buildpackage")))
struct DebianPackageTests {
    @Test func thePackagesBuildCleanAndInstallIntoAScratchRoot() throws {
        let dir = try TemporaryDirectory(prefix: "deb")
        defer { dir.remove() }
        let bin = URL(fileURLWithPath: BuiltProducts.path("kioskd")).deletingLastPathComponent().path
        let built = try ProcessRunner.run("/bin/bash", [BuiltProducts.repositoryPath("scripts/package.sh"), "--fast", "--from", bin,
                                                        "--out", dir.path + "/out"], timeout: 600)
        #expect(built.status == 0, "lintian or the build said: \(built.stdout.suffix(3000)) \(built.stderr.suffix(3000))")
        let kiosk = dir.path + "/out/yitiji-kiosk_0.1.0_amd64.deb", registry = dir.path + "/out/yitiji-registry_0.1.0_amd64.deb"
        try #require(FileManager.default.fileExists(atPath: kiosk) && FileManager.default.fileExists(atPath: registry))

        let contents = try ProcessRunner.run("/usr/bin/dpkg-deb", ["-c", kiosk], timeout: 60).stdout
        for path in ["./usr/bin/kioskd", "./usr/bin/kiosk", "./usr/bin/kioskctl", "./usr/sbin/yitiji-seal-keys",
                     "./lib/systemd/system/kioskd.service", "./lib/systemd/system/kiosk@.service", "./lib/udev/rules.d/70-yitiji-readers.rules",
                     "./usr/lib/sysusers.d/yitiji-kiosk.conf", "./usr/lib/tmpfiles.d/yitiji-kiosk.conf",
                     "./usr/share/yitiji/kiosk-config/kiosk.yaml", "./usr/share/yitiji/readers/models.json", "./usr/share/yitiji/foot.ini",
                     "./usr/share/man/man1/kioskctl.1.gz", "./usr/share/bash-completion/completions/kioskctl",
                     "./usr/share/zsh/vendor-completions/_kioskd", "./usr/share/fish/vendor_completions.d/kiosk.fish"] {
            #expect(contents.contains(path), "\(path) is not in yitiji-kiosk")
        }
        #expect(!contents.contains("keys/root.json") && !contents.contains("demo-documents.pub"), "no demonstration key is packaged")
        let registryContents = try ProcessRunner.run("/usr/bin/dpkg-deb", ["-c", registry], timeout: 60).stdout
        #expect(registryContents.contains("./usr/bin/registryd") && registryContents.contains("./lib/systemd/system/registryd.service")
                && registryContents.contains("openapi/registry.yaml"))

        // dpkg installs both into a scratch root; the maintainer scripts work on that root.
        let root = dir.path + "/root"
        let fm = FileManager.default
        for sub in ["var/lib/dpkg/info", "var/lib/dpkg/updates", "etc/cups"] {
            try fm.createDirectory(atPath: root + "/" + sub, withIntermediateDirectories: true)
        }
        for file in ["var/lib/dpkg/status", "var/lib/dpkg/available"] { _ = fm.createFile(atPath: root + "/" + file, contents: nil) }
        try "PreserveJobFiles Yes\n".write(toFile: root + "/etc/cups/cupsd.conf", atomically: true, encoding: .utf8)
        func install() throws -> ProcessResult {
            try ProcessRunner.run("/usr/bin/dpkg", ["--root=\(root)", "--force-script-chrootless", "--force-depends", "-i", kiosk, registry],
                                  timeout: 300)
        }
        var installed = try install()
        #expect(installed.status == 0, "\(installed.stderr.suffix(2000))")
        let passwd = (try? String(contentsOfFile: root + "/etc/passwd", encoding: .utf8)) ?? ""
        let group = (try? String(contentsOfFile: root + "/etc/group", encoding: .utf8)) ?? ""
        #expect(passwd.contains("yitiji:") && passwd.contains("yitiji-screen:") && passwd.contains("registryd:"), "\(passwd)")
        #expect(group.contains("yitiji-tech:") && group.contains("yitiji-citizen:"), "\(group)")
        func mode(_ path: String) -> Int { ((try? fm.attributesOfItem(atPath: root + path))?[.posixPermissions] as? Int) ?? -1 }
        #expect(mode("/var/lib/yitiji") == 0o750 && mode("/var/lib/yitiji-keys") == 0o700 && mode("/var/lib/registryd") == 0o750)
        #expect(fm.fileExists(atPath: root + "/etc/yitiji/kiosk.yaml") && !fm.fileExists(atPath: root + "/etc/yitiji/texts.yaml"),
                "the site gets its own kiosk.yaml; the rest stays the package's")
        #expect(try String(contentsOfFile: root + "/etc/cups/cupsd.conf", encoding: .utf8).contains("PreserveJobFiles No"))

        // The site edits its configuration; an old default lingers; a reinstall keeps the one
        // and brings the package's version of the other.
        let siteFile = root + "/etc/yitiji/kiosk.yaml"
        try (try String(contentsOfFile: siteFile, encoding: .utf8)).replacingOccurrences(of: "demo-kiosk-01", with: "dg-hall-07")
            .write(toFile: siteFile, atomically: true, encoding: .utf8)
        try "stale: true\n".write(toFile: root + "/usr/share/yitiji/kiosk-config/texts.yaml", atomically: true, encoding: .utf8)
        installed = try install()
        #expect(installed.status == 0, "\(installed.stderr.suffix(2000))")
        #expect(try String(contentsOfFile: siteFile, encoding: .utf8).contains("dg-hall-07"), "the site's /etc/yitiji is kept")
        #expect(try String(contentsOfFile: root + "/usr/share/yitiji/kiosk-config/texts.yaml", encoding: .utf8).contains("idle.prompt"),
                "the package's defaults come back")
        // The programs read the site's layer over the package's defaults.
        let diag = try ProcessRunner.run(BuiltProducts.path("kioskctl"), ["diag", "config", "--json", "--config", root + "/etc/yitiji",
                                                                           "--state-dir", dir.path + "/state", "--socket", dir.path + "/none.sock"],
                                         environment: ["YITIJI_DATA_DIR": root + "/usr/share/yitiji", "CUPS_SERVER": "127.0.0.1:1"], timeout: 60)
        #expect(diag.stdout.contains("dg-hall-07") && diag.stdout.contains(#""status":"ok""#), "\(diag.stdout) \(diag.stderr)")

        // The units as a reviewer checks them.
        for (unit, limit) in [("lib/systemd/system/kioskd.service", 2.5), ("lib/systemd/system/registryd.service", 2.5)] {
            let security = try ProcessRunner.run("/usr/bin/systemd-analyze", ["security", "--offline=yes", root + "/" + unit], timeout: 60)
            let score = security.stdout.range(of: #"exposure level for [^:]+: ([0-9.]+)"#, options: .regularExpression)
                .flatMap { Double(security.stdout[$0].split(separator: " ").last ?? "") }
            #expect((score ?? 99) <= limit, "\(unit): \(security.stdout.suffix(300))")
        }
    }
}
