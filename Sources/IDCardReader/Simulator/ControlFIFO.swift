import Foundation
import KioskCore
#if canImport(Glibc)
import Glibc
#endif

/// The simulator's control FIFO (`place resident`, `remove`, `fault checksum` …): one reader
/// for the stand-alone simulator and kioskd's in-process one. Opened read-write and non-blocking,
/// so it never sees end-of-file between writers and never blocks its owner; lines may arrive in
/// any pieces and are handed out whole.
public final class ControlFIFO: Sendable {
    /// The descriptor, for `poll` (readable when a writer wrote).
    public let descriptor: Int32
    private let buffer = Locked<[UInt8]>([])
    /// Longest control line kept: a writer that never ends its line cannot grow the buffer.
    public static let maximumLineBytes = 4096

    /// Opens the FIFO at `path`, creating it (mode 0600) if missing.
    public init(path: String) throws(SimulatorHostError) {
        if !FileManager.default.fileExists(atPath: path) {
            guard mkfifo(path, 0o600) == 0 else {
                throw SimulatorHostError("cannot create control FIFO \(path): \(String(cString: strerror(errno)))")
            }
        }
        descriptor = open(path, O_RDWR | O_NONBLOCK)
        guard descriptor >= 0 else {
            throw SimulatorHostError("cannot open control FIFO \(path): \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(descriptor) }

    /// The whole lines written since the last call (trimmed, empty ones left out); never blocks.
    public func lines() -> [String] {
        buffer.withLock { buffer in
            var chunk = [UInt8](repeating: 0, count: 512)
            while true {
                let n = chunk.withUnsafeMutableBytes { raw -> Int in
                    guard let base = raw.baseAddress else { return 0 }
                    return read(descriptor, base, raw.count)
                }
                guard n > 0 else { break }
                buffer += chunk.prefix(n)
            }
            return Self.take(from: &buffer)
        }
    }

    /// Splits whole lines off `buffer`, keeping a partial last line (at most `maximumLineBytes`).
    static func take(from buffer: inout [UInt8]) -> [String] {
        var lines: [String] = []
        while let newline = buffer.firstIndex(of: 0x0A) {
            let line = String(decoding: buffer[..<newline], as: UTF8.self).trimmingCharacters(in: .whitespaces)
            buffer.removeSubrange(...newline)
            if !line.isEmpty { lines.append(line) }
        }
        if buffer.count > maximumLineBytes { buffer.removeAll() }
        return lines
    }

    /// Waits up to `timeoutMilliseconds` for a writer, then returns the lines written.
    public func waitForLines(timeoutMilliseconds: Int32) -> [String] {
        var fds = [pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)]
        _ = poll(&fds, 1, timeoutMilliseconds)
        return lines()
    }
}
