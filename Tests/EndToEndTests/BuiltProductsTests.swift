import Foundation
import Testing
import TestSupport

@Test func kioskctlPrintsItsVersion() throws {
    let result = try ProcessRunner.run(BuiltProducts.path("kioskctl"), ["--version"], timeout: 30)
    #expect(result.status == 0)
    #expect(result.stdout.contains("0."))
}

/// `scripts/install.sh --destdir` lays a kiosk out as a package would, and a reinstall keeps the
/// kiosk's configuration.
@Test func theInstallScriptLaysOutAKioskAndKeepsItsConfiguration() throws {
    let dir = try TemporaryDirectory(prefix: "install")
    defer { dir.remove() }
    let script = BuiltProducts.repositoryPath("scripts/install.sh")
    let from = BuiltProducts.directory.path
    var result = try ProcessRunner.run(script, ["--destdir", dir.path, "--from", from], timeout: 120)
    #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
    let fm = FileManager.default
    for file in ["usr/bin/kioskd", "usr/bin/kiosk", "usr/bin/kioskctl", "etc/yitiji/kiosk.yaml", "etc/yitiji/services.yaml",
                 "etc/yitiji/readers/models.json", "etc/udev/rules.d/70-yitiji-readers.rules",
                 "etc/systemd/system/kioskd.service", "etc/systemd/system/kiosk@.service",
                 "usr/share/doc/yitiji/openapi/local-api.yaml", "usr/share/bash-completion/completions/kioskctl",
                 "usr/share/yitiji/foot.ini", "usr/sbin/yitiji-seal-keys", "usr/share/yitiji/kiosk-config/kiosk.yaml",
                 "usr/share/yitiji/readers/models.json"] {
        #expect(fm.fileExists(atPath: dir.path + "/" + file), "\(file) is missing")
    }
    let completion = try String(contentsOfFile: dir.path + "/usr/share/bash-completion/completions/kioskctl", encoding: .utf8)
    #expect(completion.contains("diag") && completion.contains("maintenance"))
    // The installed configuration is valid as it stands.
    let installed = try ProcessRunner.run(dir.path + "/usr/bin/kioskctl", ["config", "validate", dir.path + "/etc/yitiji"], timeout: 30)
    #expect(installed.status == 0, "\(installed.stdout) \(installed.stderr)")

    let kioskYAML = dir.path + "/etc/yitiji/kiosk.yaml"
    try (try String(contentsOfFile: kioskYAML, encoding: .utf8) + "\n# changed on site\n").write(toFile: kioskYAML, atomically: true, encoding: .utf8)
    result = try ProcessRunner.run(script, ["--destdir", dir.path, "--from", from], timeout: 120)
    #expect(result.status == 0 && result.stderr.contains("kept"), "\(result.stderr)")
    #expect(try String(contentsOfFile: kioskYAML, encoding: .utf8).contains("# changed on site"))

    let wrong = try ProcessRunner.run(script, ["--destdir", dir.path, "--bogus"], timeout: 30)
    #expect(wrong.status == 2 && wrong.stderr.contains("unknown argument '--bogus'"))
}

@Test func kioskctlValidatesAConfigurationFolderOffline() throws {
    let kioskctl = BuiltProducts.path("kioskctl")
    let good = try ProcessRunner.run(kioskctl, ["config", "validate", BuiltProducts.repositoryPath("kiosk-config")], timeout: 30)
    #expect(good.status == 0 && good.stdout.contains("valid: kiosk demo-kiosk-01"), "\(good.stdout) \(good.stderr)")
    let dir = try TemporaryDirectory(prefix: "config")
    defer { dir.remove() }
    for name in ["kiosk.yaml", "services.yaml", "evaluation.yaml", "texts.yaml"] {
        try FileManager.default.copyItem(atPath: BuiltProducts.repositoryPath("kiosk-config/" + name), toPath: dir.path + "/" + name)
    }
    let kiosk = dir.path + "/kiosk.yaml"
    try (try String(contentsOfFile: kiosk, encoding: .utf8)).replacingOccurrences(of: "requestTimeoutSeconds: 5", with: "requestTimeoutSeconds: -5")
        .write(toFile: kiosk, atomically: true, encoding: .utf8)
    let bad = try ProcessRunner.run(kioskctl, ["config", "validate", dir.path], timeout: 30)
    #expect(bad.status == 1 && bad.stderr.contains("kiosk.yaml") && bad.stderr.contains("requestTimeoutSeconds"), "\(bad.stderr)")
}
