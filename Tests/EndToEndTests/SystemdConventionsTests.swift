import Foundation
import TestSupport
import Testing

/// The real kioskd under systemd's protocols, with systemd's side played by the test: a notify
/// socket (`READY=1`, `STATUS=`, `WATCHDOG=1`) and a journal stream (`JOURNAL_STREAM`).
@Suite(.serialized) struct SystemdConventionsTests {
    /// A datagram socket like systemd's notify socket: collects what kioskd says.
    final class NotifySocket: @unchecked Sendable {
        let path: String
        let fd: Int32
        private let lock = NSLock()
        private var received: [String] = []

        init(path: String) throws {
            self.path = path
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { buffer in for (i, b) in path.utf8.enumerated() { buffer[i] = b } }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard bound == 0 else { throw ProcessRunnerError.launchFailed("notify socket", String(cString: strerror(errno))) }
            var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let thread = Thread { [self] in
                var buffer = [UInt8](repeating: 0, count: 4096)
                while true {
                    let n = recv(fd, &buffer, buffer.count, 0)
                    if n > 0 { lock.withLock { received.append(String(decoding: buffer[0..<n], as: UTF8.self)) } }
                    if n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) { break }
                }
            }
            thread.start()
        }

        var messages: [String] { lock.withLock { received } }

        deinit { close(fd) }
    }

    /// kioskd started as systemd would start it; `cups` names the CUPS server it polls.
    func start(in dir: TemporaryDirectory, notify: NotifySocket, reader: EmulatedUSBReader, cups: [String: String],
               watchdogMicroseconds: Int = 2_000_000) throws -> KioskdTestBed {
        let log = dir.path + "/kioskd.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        var info = stat()
        stat(log, &info)
        let environment = reader.environment.merging(cups) { $1 }.merging([
            "NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "\(watchdogMicroseconds)", "JOURNAL_STREAM": "\(info.st_dev):\(info.st_ino)",
        ]) { $1 }
        return try KioskdTestBed(environment: environment, adjust: { $0.replacingOccurrences(of: "http://127.0.0.1:8480", with: "http://127.0.0.1:1") },
                                 directory: dir)
    }

    @Test func kioskdSaysItsStatusLogsWithPrioritiesAndFeedsTheWatchdogWhileItsMonitorsPoll() throws {
        let reader = try EmulatedUSBReader()
        defer { reader.stop() }
        let cups = try CupsTestBed()
        defer { cups.stop() }
        let dir = try TemporaryDirectory(prefix: "systemd")
        defer { dir.remove() }
        let notify = try NotifySocket(path: dir.path + "/notify.sock")
        let bed = try start(in: dir, notify: notify, reader: reader, cups: cups.environment)
        defer { bed.stop() }
        #expect(eventually(20) { notify.messages.contains("READY=1") }, "\(notify.messages)")
        #expect(eventually(20) { notify.messages.contains { $0.hasPrefix("STATUS=serving; reader ok; a4 ready") } }, "\(notify.messages)")
        let fed = notify.messages.filter { $0 == "WATCHDOG=1" }.count
        #expect(eventually(10) { notify.messages.filter { $0 == "WATCHDOG=1" }.count >= fed + 3 }, "the watchdog is fed while all polls")
        // The printer is stopped: the status line says so.
        try cups.fault("a4", "stop-printer")
        #expect(eventually(20) { notify.messages.contains { $0.hasPrefix("STATUS=") && $0.contains("a4 stopped") } }, "\(notify.messages.suffix(5))")
        // Every log line carries its priority for the journal.
        let lines = bed.process.log.split(separator: "\n")
        #expect(!lines.isEmpty && lines.allSatisfy { $0.range(of: #"^<[0-7]>"#, options: .regularExpression) != nil }, "\(lines.prefix(5))")
        #expect(lines.contains { $0.hasPrefix("<5>") && $0.contains("kioskd ready") }, "notice")
    }

    @Test func aReaderWhoseUSBLocksUpIsMissingWhileTheWatchdogStaysFed() throws {
        let reader = try EmulatedUSBReader()
        defer { reader.stop() }
        let cups = try CupsTestBed()
        defer { cups.stop() }
        let dir = try TemporaryDirectory(prefix: "systemd-wedged")
        defer { dir.remove() }
        let notify = try NotifySocket(path: dir.path + "/notify.sock")
        // A wedged transfer ends within its timeout and two seconds of grace: the watchdog's window
        // (its interval, 5 s here as 30 s in the unit) is longer than that.
        let bed = try start(in: dir, notify: notify, reader: reader, cups: cups.environment, watchdogMicroseconds: 5_000_000)
        defer { bed.stop() }
        #expect(eventually(20) { notify.messages.contains { $0.hasPrefix("STATUS=serving; reader ok") } }, "\(notify.messages)")
        // Transfers that never end, cancellations that never come back: the reader's transport
        // gives the device up, kioskd says the reader is missing and keeps its reader thread
        // going (no restart by the watchdog), and takes the reader back after a power cycle.
        reader.wedge()
        #expect(eventually(20) { notify.messages.contains { $0.hasPrefix("STATUS=") && $0.contains("reader missing") } },
                "\(notify.messages.suffix(5))")
        let missingAt = notify.messages.count
        let fed = notify.messages.filter { $0 == "WATCHDOG=1" }.count
        #expect(eventually(20) { notify.messages.filter { $0 == "WATCHDOG=1" }.count >= fed + 4 }, "the watchdog is fed while the reader is wedged")
        let since = notify.messages.dropFirst(missingAt)
        #expect(!since.contains { $0.hasPrefix("STATUS=") && $0.contains("reader ok") }, "a wedged reader is not taken for a working one: \(Array(since))")
        #expect(!bed.process.log.contains("watchdog not fed"), "\(bed.process.log.suffix(800))")
        #expect(bed.process.log.contains("reader disconnected"))
        reader.unplug()
        reader.plug()
        #expect(eventually(20) { notify.messages.dropFirst(missingAt).contains { $0.hasPrefix("STATUS=") && $0.contains("reader ok") } },
                "\(notify.messages.suffix(5))")
    }

    @Test func aHungPrinterMonitorStarvesTheWatchdog() throws {
        let reader = try EmulatedUSBReader()
        defer { reader.stop() }
        // A "CUPS server" that takes the connection and never answers: every poll hangs.
        let silent = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(silent) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(silent, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        listen(silent, 16)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(silent, $0, &length) } }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let dir = try TemporaryDirectory(prefix: "systemd-hung")
        defer { dir.remove() }
        let notify = try NotifySocket(path: dir.path + "/notify.sock")
        let bed = try start(in: dir, notify: notify, reader: reader, cups: ["CUPS_SERVER": "127.0.0.1:\(port)"])
        defer { _ = bed.process.stop(signal: SIGKILL) }
        #expect(eventually(20) { notify.messages.contains("READY=1") })
        #expect(eventually(15) { bed.process.log.contains("watchdog not fed") }, "\(bed.process.log.suffix(800))")
        let fed = notify.messages.filter { $0 == "WATCHDOG=1" }.count
        Thread.sleep(forTimeInterval: 3)
        #expect(notify.messages.filter { $0 == "WATCHDOG=1" }.count == fed, "no feeding while the printer monitor hangs")
        #expect(bed.process.log.contains("printers"))
    }
}
