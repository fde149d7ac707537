import Foundation
#if canImport(Glibc)
import Glibc
#endif
import KioskCore

/// `pipe2(2)`: both ends close-on-exec from the start, so no other child inherits them.
@_silgen_name("pipe2")
private func systemPipe2(_ descriptors: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32

/// The verifier program as the configuration names it: an absolute path and its arguments.
///
/// Each call starts it in a process group of its own with a clean environment, writes one request
/// line, reads one answer line, and kills the whole group when the deadline passes or the answer
/// is in: a verifier that hangs or crashes is reported, never waited for.
public struct VerifierCommand: Sendable, Equatable {
    /// The program and its arguments.
    public let arguments: [String]

    /// - Throws: `launchFailed` when the list is empty or the program is not an absolute path.
    public init(_ arguments: [String]) throws(VerifierError) {
        guard let program = arguments.first, program.hasPrefix("/") else {
            throw .launchFailed("the command's first word must be the program's absolute path, e.g. /usr/lib/yitiji/verifier/face-verify")
        }
        self.arguments = arguments
    }

    /// The environment the verifier gets: nothing of kioskd's.
    static let environment = ["PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"]

    private static let ignoreBrokenPipes: Void = { signal(SIGPIPE, SIG_IGN) }()

    /// How long a verifier that answered may take to end on its own before its group is killed.
    static let grace: Double = 0.5

    /// Sends `request` and answers the first line the verifier writes (without its line end).
    /// Blocking: run it off the concurrency pool.
    public func exchange(_ request: [UInt8], timeout: Double) -> Result<[UInt8], VerifierError> {
        // A verifier that closes its input early must give EPIPE here, not end the caller.
        _ = Self.ignoreBrokenPipes
        let deadline = Date().addingTimeInterval(timeout)
        var input: [Int32] = [-1, -1], output: [Int32] = [-1, -1]
        guard systemPipe2(&input, O_CLOEXEC) == 0 else { return .failure(.launchFailed("pipe: \(String(cString: strerror(errno)))")) }
        guard systemPipe2(&output, O_CLOEXEC) == 0 else {
            close(input[0]); close(input[1])
            return .failure(.launchFailed("pipe: \(String(cString: strerror(errno)))"))
        }
        let pid: pid_t
        switch spawn(stdin: input[0], stdout: output[1]) {
        case .success(let started): pid = started
        case .failure(let error):
            for fd in input + output { close(fd) }
            return .failure(error)
        }
        close(input[0]); close(output[1])
        var writer = input[1]
        let reader = output[0]
        _ = fcntl(writer, F_SETFL, fcntl(writer, F_GETFL) | O_NONBLOCK)
        _ = fcntl(reader, F_SETFL, fcntl(reader, F_GETFL) | O_NONBLOCK)
        defer {
            if writer >= 0 { close(writer) }
            close(reader)
        }

        var written = 0
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        let outcome: Result<[UInt8], VerifierError>
        exchange: while true {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { outcome = .failure(.timedOut(seconds: timeout)); break }
            var fds = [pollfd(fd: reader, events: Int16(POLLIN), revents: 0)]
            if writer >= 0 { fds.append(pollfd(fd: writer, events: Int16(POLLOUT), revents: 0)) }
            let ready = poll(&fds, nfds_t(fds.count), Int32(min(left * 1000, 1000).rounded(.up)))
            if ready < 0, errno != EINTR { outcome = .failure(.launchFailed("poll: \(String(cString: strerror(errno)))")); break }
            if ready <= 0 { continue }
            if writer >= 0, fds.count > 1, fds[1].revents != 0 {
                let count = request.withUnsafeBytes { raw in
                    write(writer, raw.baseAddress! + written, raw.count - written)
                }
                if count > 0 { written += count }
                // Done, or the verifier closed its input (it may still answer, e.g. an error).
                if written == request.count || (count < 0 && errno != EAGAIN && errno != EINTR) {
                    close(writer)
                    writer = -1
                }
            }
            if fds[0].revents != 0 {
                let count = read(reader, &chunk, chunk.count)
                if count > 0 {
                    answer += chunk[0..<count]
                    if let end = answer.firstIndex(of: 0x0A) {
                        outcome = .success(Array(answer[..<end]))
                        break exchange
                    }
                    if answer.count > VerifierProtocol.maximumAnswer {
                        outcome = .failure(.oversized(VerifierProtocol.maximumAnswer))
                        break exchange
                    }
                } else if count == 0 || (errno != EAGAIN && errno != EINTR) {
                    // End of its output without a line: how did it end?
                    outcome = .failure(.endedWithoutAnswer(Self.reap(pid, within: 1) ?? "still running, output closed"))
                    break exchange
                }
            }
        }
        wipeBytes(&chunk)
        Self.finish(pid, grace: (try? outcome.get()) != nil ? Self.grace : 0)
        return outcome
    }

    /// Starts the program with its standard input and output on the given descriptors, standard
    /// error discarded, in a new process group, with default signal handling.
    private func spawn(stdin: Int32, stdout: Int32) -> Result<pid_t, VerifierError> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = Self.environment.map { strdup($0) } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid = pid_t()
        let status = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard status == 0 else {
            return .failure(.launchFailed("\(arguments[0]): \(String(cString: strerror(status)))"))
        }
        return .success(pid)
    }

    /// How `pid` ended, if it ends within `seconds`; nil if it is still running.
    private static func reap(_ pid: pid_t, within seconds: Double) -> String? {
        let until = Date().addingTimeInterval(seconds)
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { return describe(status) }
            if result < 0 { return "already reaped" }
            if Date() >= until { return nil }
            usleep(10_000)
        }
    }

    /// `exit code N` or `killed by signal N`.
    static func describe(_ status: Int32) -> String {
        let signal = status & 0x7F
        return signal == 0 ? "exit code \((status >> 8) & 0xFF)" : "killed by signal \(signal)"
    }

    /// Lets the verifier end on its own for `grace` seconds, then kills its process group and
    /// reaps it on another thread (a process stuck in the kernel never holds the caller).
    private static func finish(_ pid: pid_t, grace: Double) {
        if grace > 0, reap(pid, within: grace) != nil {
            kill(-pid, SIGKILL)   // helpers it left behind
            return
        }
        kill(-pid, SIGKILL)
        kill(pid, SIGKILL)
        DispatchQueue.global(qos: .utility).async {
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
        }
    }
}
