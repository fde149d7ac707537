import Foundation

/// A program running in a private tmux server of a given size: keys sent as a person would type
/// them, the screen read back as text (CJK characters two columns wide, as the terminal shows them).
public final class TmuxScreen: @unchecked Sendable {
    let socket: String
    public let session = "kiosk"

    /// Starts `command` (a shell command line) in a new tmux session `width`×`height`.
    public init(_ command: String, width: Int = 80, height: Int = 24, environment: [String: String] = [:]) throws {
        socket = "yitiji-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let env = environment.map { "\($0.key)=\(Self.quote($0.value))" }.joined(separator: " ")
        let result = try ProcessRunner.runScript("/usr/bin/tmux", [
            "-L", socket, "-u", "-f", "/dev/null", "new-session", "-d", "-s", session, "-x", String(width), "-y", String(height),
            "env \(env) LANG=C.UTF-8 TERM=tmux-256color \(command)"], timeout: 20)
        guard result.status == 0 else { throw ProcessRunnerError.launchFailed("tmux", result.stderr) }
        _ = try? ProcessRunner.runScript("/usr/bin/tmux", ["-L", socket, "set-option", "-g", "remain-on-exit", "on"], timeout: 10)
    }

    static func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// Sends tmux key names (`Enter`, `Escape`, `Up`, `BSpace`, `e`, …) one after another.
    public func press(_ keys: String...) {
        for key in keys {
            _ = try? ProcessRunner.runScript("/usr/bin/tmux", ["-L", socket, "send-keys", "-t", session, key], timeout: 10)
            usleep(60_000)
        }
    }

    /// Types text literally.
    public func type(_ text: String) {
        _ = try? ProcessRunner.runScript("/usr/bin/tmux", ["-L", socket, "send-keys", "-t", session, "-l", text], timeout: 10)
        usleep(100_000)
    }

    /// The screen now, lines without trailing spaces.
    public func capture() -> String {
        let result = try? ProcessRunner.runScript("/usr/bin/tmux", ["-L", socket, "capture-pane", "-p", "-t", session], timeout: 10)
        return (result?.stdout ?? "").split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) }
            .joined(separator: "\n")
    }

    /// Waits until the screen contains `text`; returns the screen (which the caller checks).
    @discardableResult
    public func waitFor(_ text: String, seconds: Double = 10) -> String {
        var screen = ""
        _ = eventually(seconds) {
            screen = capture()
            return screen.contains(text)
        }
        return screen
    }

    /// Picks a menu item with `keys` (its digit, or arrows then Enter): its guide comes first,
    /// Enter starts the service.
    public func choose(_ keys: [String], guide: String = "办事指南") {
        for key in keys { press(key) }
        waitFor(guide)
        press("Enter")
    }

    /// Changes the terminal's size.
    public func resize(width: Int, height: Int) {
        _ = try? ProcessRunner.runScript("/usr/bin/tmux", ["-L", socket, "resize-window", "-t", session, "-x", String(width),
                                                           "-y", String(height)], timeout: 10)
        usleep(300_000)
    }

    /// Ends the session and its server.
    public func stop() {
        _ = try? ProcessRunner.runScript("/usr/bin/tmux", ["-L", socket, "kill-server"], timeout: 10)
    }
}

/// Screens kept as text files beside the tests: compared on every run, written anew when
/// `YITIJI_RECORD_SNAPSHOTS=1`. Returns nil when they match, else what differs.
public func compareSnapshot(_ screen: String, named name: String) -> String? {
    let path = BuiltProducts.repositoryPath("Tests/EndToEndTests/Snapshots/\(name).txt")
    if ProcessInfo.processInfo.environment["YITIJI_RECORD_SNAPSHOTS"] == "1" || !FileManager.default.fileExists(atPath: path) {
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try? (screen + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return nil
    }
    let stored = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").trimmingCharacters(in: .newlines)
    let now = screen.trimmingCharacters(in: .newlines)
    return stored == now ? nil : "screen \(name) differs from its snapshot:\n--- stored\n\(stored)\n--- now\n\(now)"
}
