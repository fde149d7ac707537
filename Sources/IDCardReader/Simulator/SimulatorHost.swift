import Foundation
#if canImport(Glibc)
import Glibc
#endif
import KioskCore

/// Serves a `ReaderSimulator` on file descriptors: host bytes in, reader bytes out (stdio for
/// the emulated USB reader, or a pseudo-terminal for the serial transport), with a control FIFO
/// that takes the simulator's control lines (`place resident`, `remove`, `fault checksum` …).
// Unchecked: descriptors, queue, counters and `statusPath` belong to the thread in `run()`; only stopping is shared.
public final class SimulatorHost: @unchecked Sendable {
    public let simulator: ReaderSimulator
    private let input: Int32
    private let output: Int32
    private var control: ControlFIFO?
    private var queue: [(due: UInt64, bytes: [UInt8])] = []
    /// Kept open so a pty master does not see EIO while no client has the slave open.
    private var keepAlive: Int32 = -1
    private let stopped = Locked(false)
    private var controlsApplied = 0
    private var powerCycles = 0
    /// When set, a status file rewritten (atomically) after every control line and every host
    /// command: `controls N` (control lines applied so far, `power-cycle` apart), `power-cycles N`
    /// (sent by the USB emulator on unplug) and `find N`, `select N`, `read N`, `other N`
    /// (commands received). Test beds wait on it instead of sleeping.
    public var statusPath: String? { didSet { writeStatus() } }

    /// Makes `run()` return within a second.
    public func stop() { stopped.withLock { $0 = true } }

    public init(simulator: ReaderSimulator, input: Int32, output: Int32) {
        self.simulator = simulator
        self.input = input
        self.output = output
    }

    /// Creates a pseudo-terminal, links its slave at `linkPath`, and returns a host serving the master.
    public static func pseudoTerminal(simulator: ReaderSimulator, linkPath: String) throws -> SimulatorHost {
        // /dev/ptmx with TIOCSPTLCK (unlock) and TIOCGPTN (number): posix_openpt without the libc macros.
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        var unlock: Int32 = 0
        var number: UInt32 = 0
        guard master >= 0, ioctl(master, UInt(0x4004_5431), &unlock) == 0,
              ioctl(master, UInt(0x8004_5430), &number) == 0 else {
            throw SimulatorHostError("cannot create a pseudo-terminal: \(String(cString: strerror(errno)))")
        }
        let slavePath = "/dev/pts/\(number)"
        var tio = termios()
        tcgetattr(master, &tio)
        cfmakeraw(&tio)
        tcsetattr(master, TCSANOW, &tio)
        try? FileManager.default.removeItem(atPath: linkPath)
        guard symlink(slavePath, linkPath) == 0 else {
            throw SimulatorHostError("cannot link \(linkPath) to \(slavePath): \(String(cString: strerror(errno)))")
        }
        let host = SimulatorHost(simulator: simulator, input: master, output: master)
        host.keepAlive = open(slavePath, O_RDWR | O_NOCTTY)
        if host.keepAlive >= 0 {
            var slaveTio = termios()
            tcgetattr(host.keepAlive, &slaveTio)
            cfmakeraw(&slaveTio)
            tcsetattr(host.keepAlive, TCSANOW, &slaveTio)
        }
        return host
    }

    /// Opens (creating if needed) the control FIFO at `path`.
    public func openControl(path: String) throws {
        control = try ControlFIFO(path: path)
    }

    private static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Serves until the input closes (stdio) or forever (pty).
    public func run() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !stopped.withLock({ $0 }) {
            flushDue()
            var fds = [pollfd(fd: input, events: Int16(POLLIN), revents: 0)]
            if let control { fds.append(pollfd(fd: control.descriptor, events: Int16(POLLIN), revents: 0)) }
            var timeout: Int32 = 1000
            if let next = queue.first {
                let now = SimulatorHost.now()
                timeout = next.due <= now ? 0 : Int32(min(1000, (next.due - now) / 1_000_000 + 1))
            }
            let r = poll(&fds, nfds_t(fds.count), timeout)
            if r < 0 && errno != EINTR { return }
            if fds[0].revents & Int16(POLLIN) != 0 {
                let n = buffer.withUnsafeMutableBytes { raw -> Int in
                    guard let base = raw.baseAddress else { return 0 }
                    return read(input, base, raw.count)
                }
                if n == 0 { return }
                if n > 0 {
                    var due = SimulatorHost.now()
                    for reply in simulator.receive(Array(buffer.prefix(n))) {
                        due += UInt64(reply.delayMilliseconds) * 1_000_000
                        queue.append((due, reply.bytes))
                    }
                    writeStatus()
                } else if errno != EAGAIN && errno != EINTR && keepAlive < 0 {
                    return
                }
            } else if fds[0].revents & Int16(POLLHUP) != 0 && keepAlive < 0 {
                return
            }
            if fds.count > 1, fds[1].revents & Int16(POLLIN) != 0 { readControl() }
        }
    }

    private func flushDue() {
        let now = SimulatorHost.now()
        while let first = queue.first, first.due <= now {
            queue.removeFirst()
            var sent = 0
            while sent < first.bytes.count {
                let n = first.bytes.withUnsafeBytes { raw -> Int in
                    guard let base = raw.baseAddress else { return 0 }
                    return write(output, base + sent, first.bytes.count - sent)
                }
                if n <= 0 { if errno == EAGAIN || errno == EINTR { continue } else { return } }
                sent += n
            }
        }
    }

    private func readControl() {
        guard let control else { return }
        for line in control.lines() {
            if line == "power-cycle" {
                queue.removeAll()  // answers the reader had not sent yet die with its power
                powerCycles += 1
            } else {
                controlsApplied += 1
            }
            if let problem = simulator.control(line) {
                FileHandle.standardError.write(Data("reader simulator: \(problem)\n".utf8))
            }
        }
        writeStatus()
    }
}

extension SimulatorHost {
    fileprivate func writeStatus() {
        guard let statusPath else { return }
        let counts = simulator.commandCounts
        var text = "controls \(controlsApplied)\npower-cycles \(powerCycles)\n"
        for kind in ["find", "select", "read", "other"] { text += "\(kind) \(counts[kind] ?? 0)\n" }
        let temporary = statusPath + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8)) else { return }
        _ = rename(temporary, statusPath)
    }
}

/// A simulator host could not start.
public struct SimulatorHostError: Error, CustomStringConvertible {
    public let description: String
    init(_ text: String) { description = text }
}
