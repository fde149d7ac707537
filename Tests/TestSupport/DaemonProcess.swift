import Foundation

/// A long-running program under test (kioskd, registryd) started with posix_spawn: an empty
/// signal mask and default handlers (a test runner's children inherit blocked signals otherwise),
/// its output in a log file, and real signals to stop it — SIGTERM, or SIGKILL for crash tests.
public final class DaemonProcess: @unchecked Sendable {
    public let pid: pid_t
    /// Where its standard output and error go.
    public let logPath: String
    private var exitStatus: Int32?
    private let lock = NSLock()

    public init(_ executable: String, _ arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment,
                logPath: String) throws {
        self.logPath = logPath
        pid = try spawnWithCleanSignals(executable, arguments, environment: environment, stdout: logPath, stderr: nil, append: true)
    }

    /// Whether it still runs (reaps it when it has ended).
    public var isRunning: Bool {
        lock.withLock {
            if exitStatus != nil { return false }
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { exitStatus = status; return false }
            return r == 0
        }
    }

    /// Sends `signal` and waits up to `seconds` for it to end; SIGKILL after that. Returns the
    /// raw wait status. A program that ignores a graceful signal (SIGTERM, SIGINT) is hung: every
    /// thread's stack and the end of its log go to standard error first, to say where.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, seconds: Double = 10) -> Int32 {
        if isRunning { kill(pid, signal) }
        let deadline = Date().addingTimeInterval(seconds)
        while isRunning, Date() < deadline { usleep(10_000) }
        if isRunning {
            if signal == SIGTERM || signal == SIGINT {
                FileHandle.standardError.write(Data(hangReport(reason: "did not end \(seconds) s after signal \(signal)").utf8))
            }
            kill(pid, SIGKILL)
            while isRunning { usleep(10_000) }
        }
        return lock.withLock { exitStatus ?? -1 }
    }

    /// Every thread's stack (gdb, when installed) and the last lines of the log, for a test that
    /// found the program no longer answering.
    public func hangReport(reason: String) -> String {
        var report = "=== \(logPath): pid \(pid) \(reason)\n"
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/gdb"), isRunning,
           let stacks = try? ProcessRunner.run("/usr/bin/gdb", ["-batch", "-nx", "-p", "\(pid)", "-ex", "thread apply all bt 40"], timeout: 60) {
            report += stacks.stdout.split(separator: "\n").filter { $0.hasPrefix("#") || $0.hasPrefix("Thread") }.joined(separator: "\n") + "\n"
        } else {
            for task in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? [] {
                let name = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/comm", encoding: .utf8)) ?? "?"
                let wchan = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/wchan", encoding: .utf8)) ?? "?"
                report += "thread \(task) \(name.trimmingCharacters(in: .whitespacesAndNewlines)) waits in \(wchan)\n"
            }
        }
        report += "--- last of its log:\n" + log.suffix(6000) + "\n===\n"
        return report
    }

    /// What it logged so far.
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    deinit { if isRunning { kill(pid, SIGKILL); var s: Int32 = 0; waitpid(pid, &s, 0) } }
}

/// Waits up to `seconds` for `condition`, polling without blocking a thread of the concurrency
/// pool: what an `async` test uses (a blocked pool thread stalls every test running beside it).
public func waitUntil(_ seconds: Double = 10, _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        // Cancelled: one last look, not a busy loop until the deadline.
        do { try await Task.sleep(for: .milliseconds(20)) } catch { break }
    }
    return await condition()
}

/// Runs blocking work (starting a test bed, a child process to its end) on a thread of its own,
/// so that an `async` test does not hold a thread of the concurrency pool meanwhile.
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.start()
    }
}

/// Waits until `condition` holds, polling; false when `seconds` pass first.
public func eventually(_ seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}

/// posix_spawn with an empty signal mask and default handlers (a test runner's children inherit
/// blocked signals otherwise), stdin from /dev/null, stdout to a file and stderr to another (or the
/// same when nil).
func spawnWithCleanSignals(_ executable: String, _ arguments: [String], environment: [String: String],
                           stdout: String, stderr: String?, append: Bool) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    let mode = O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC)
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, stdout, mode, 0o644)
    if let stderr { posix_spawn_file_actions_addopen(&actions, 2, stderr, mode, 0o644) } else { posix_spawn_file_actions_adddup2(&actions, 1, 2) }
    var attr = posix_spawnattr_t()
    posix_spawnattr_init(&attr)
    defer { posix_spawnattr_destroy(&attr) }
    var empty = sigset_t()
    sigemptyset(&empty)
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attr, &empty)
    posix_spawnattr_setsigdefault(&attr, &all)
    posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { envp.forEach { free($0) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, executable, &actions, &attr, argv, envp)
    guard rc == 0 else { throw ProcessRunnerError.launchFailed(executable, String(cString: strerror(rc))) }
    return pid
}
