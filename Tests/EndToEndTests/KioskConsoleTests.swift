import Foundation
import TestSupport
import Testing

/// The citizen's screen as installed: the real `kiosk` inside foot inside cage (the unit's
/// command line and the shipped foot.ini), on cage's headless output, against a real kioskd.
/// A screenshot (grim) is read back by OCR (tesseract, simplified Chinese): the idle screen's
/// Chinese prompt must come out as text, which boxes for missing glyphs never do; and each of the
/// prompt's characters, drawn by HarfBuzz with the font foot.ini names, must be found in it
/// (`scripts/testbeds/glyph-match.py`). The same screen with fonts that lack Chinese is the control
/// that shows both checks can fail.
@Suite(.serialized, .enabled(if: getuid() == 0 && ["/usr/bin/cage", "/usr/bin/foot", "/usr/bin/grim", "/usr/bin/tesseract", "/usr/bin/Xwayland"]
    .allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }))
struct KioskConsoleTests {
    /// The idle screen's prompt, and the face foot.ini draws Chinese with (Noto Sans Mono CJK SC in
    /// Debian's fonts-noto-cjk).
    static let referenceText = "请将身份证放在读卡区"
    static let cjkFont = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
    static let cjkFace = "7"

    /// Runs `kiosk` in foot in cage as `nobody` (cage refuses root) and takes a screenshot once
    /// `ready` holds; answers the OCR text.
    func screenshotText(socket: String, in dir: TemporaryDirectory, environment extra: [String: String] = [:],
                        seconds: Double = 30) throws -> (text: String, log: String, match: Double, matchLine: String) {
        let runtime = dir.path + "/xdg"
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: true)
        chown(runtime, 65534, 65534)
        chmod(runtime, 0o700)
        let shot = runtime + "/screen.png"
        var environment = ["XDG_RUNTIME_DIR": runtime, "WLR_BACKENDS": "headless", "WLR_LIBINPUT_NO_DEVICES": "1",
                           "WLR_RENDERER": "pixman", "LANG": "C.UTF-8", "PATH": "/usr/bin:/bin"]
        for (key, value) in extra { environment[key] = value }
        let assignments = environment.map { "\($0.key)=\($0.value)" }
        // The unit's command line, with the shipped foot.ini.
        let command = ["/usr/sbin/runuser", "-u", "nobody", "--", "/usr/bin/env"] + assignments + [
            "/usr/bin/cage", "--", "/usr/bin/foot", "--config=" + BuiltProducts.repositoryPath("dist/screen/foot.ini"),
            BuiltProducts.path("kiosk"), "--socket", socket]
        let cage = try DaemonProcess(command[0], Array(command.dropFirst()), environment: ProcessInfo.processInfo.environment,
                                     logPath: dir.path + "/cage.log")
        defer { cage.stop() }
        var text = ""
        _ = eventually(seconds) {
            guard FileManager.default.fileExists(atPath: runtime + "/wayland-0") else { return false }
            let grab = try? ProcessRunner.run("/usr/sbin/runuser", ["-u", "nobody", "--", "/usr/bin/env", "XDG_RUNTIME_DIR=\(runtime)",
                                                                    "WAYLAND_DISPLAY=wayland-0", "/usr/bin/grim", shot], timeout: 20)
            guard grab?.status == 0 else { return false }
            text = (try? ProcessRunner.run("/usr/bin/tesseract", [shot, "-", "-l", "chi_sim"], timeout: 30).stdout) ?? ""
            return text.contains("身份证")
        }
        // The reference: the prompt's characters drawn by HarfBuzz with the font foot.ini names for
        // Chinese, searched for in the same screen.
        let ppm = runtime + "/screen.ppm"
        _ = try? ProcessRunner.run("/usr/sbin/runuser", ["-u", "nobody", "--", "/usr/bin/env", "XDG_RUNTIME_DIR=\(runtime)",
                                                         "WAYLAND_DISPLAY=wayland-0", "/usr/bin/grim", "-t", "ppm", ppm], timeout: 20)
        let matched = try ProcessRunner.run("/usr/bin/python3", [BuiltProducts.repositoryPath("scripts/testbeds/glyph-match.py"), ppm,
                                                                 Self.referenceText, Self.cjkFont, Self.cjkFace], timeout: 120)
        let score = matched.stdout.firstMatch(of: /best=([0-9.]+)/).flatMap { Double($0.1) } ?? 0
        return (text.replacingOccurrences(of: " ", with: ""), cage.log, score, matched.stdout + matched.stderr)
    }

    @Test func theIdleScreenDrawsChineseAsGlyphsInsideCageAndFoot() throws {
        let bed = try KioskStack()
        defer { bed.stop() }
        // What the install's group membership grants the screen's account: the citizen socket.
        for path in [bed.kioskd.directory.path, bed.kioskd.runtimeDirectory] { chmod(path, 0o755) }
        chmod(bed.kioskd.citizenSocket, 0o666)
        let dir = try TemporaryDirectory(prefix: "console")
        defer { dir.remove() }
        chmod(dir.path, 0o755)

        let (text, log, match, matchLine) = try screenshotText(socket: bed.kioskd.citizenSocket, in: dir)
        // OCR misreads a character here and there; three in a row of the prompt only come from glyphs.
        #expect(text.contains("身份证"), "OCR read: \(text)\n\(log.suffix(800))")
        // And the screen holds the reference rendering of every character of the prompt.
        #expect(match >= 0.8, "the reference rendering of the prompt was not found on the screen: \(matchLine)")
        print("glyph match with CJK fonts: \(matchLine)")

        // The control: the same screen with fonts that hold no Chinese draws boxes, which OCR
        // cannot read as the prompt.
        let fonts = dir.path + "/fonts.conf"
        try """
        <?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">
        <fontconfig><dir>/usr/share/fonts/truetype/dejavu</dir><cachedir>\(dir.path)/fc-cache</cachedir></fontconfig>
        """.write(toFile: fonts, atomically: true, encoding: .utf8)
        let control = try TemporaryDirectory(prefix: "console-control")
        defer { control.remove() }
        chmod(control.path, 0o755)
        let (boxes, _, boxMatch, boxLine) = try screenshotText(socket: bed.kioskd.citizenSocket, in: control,
                                                               environment: ["FONTCONFIG_FILE": fonts], seconds: 10)
        #expect(!boxes.contains("身份证"), "without CJK fonts OCR still read: \(boxes)")
        #expect(boxMatch < 0.6, "without CJK fonts the reference was still found: \(boxLine)")
        print("glyph match without CJK fonts: \(boxLine)")
    }
}
