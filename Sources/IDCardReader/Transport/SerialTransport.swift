import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A reader behind a USB-serial bridge (CH340, PL2303, CP210x) or any tty: raw 8N1 through termios.
public final class SerialTransport: ReaderTransport {
    public let path: String
    private var fd: Int32

    /// Opens `path` at `baudRate` (115200 by default), raw, 8 data bits, no parity, 1 stop bit.
    public init(path: String, baudRate: Int = 115_200) throws(TransportError) {
        self.path = path
        let fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let why = String(cString: strerror(errno))
            let hint = errno == EACCES ? " (add the kiosk user to the dialout group, or install the udev rule)" : ""
            throw .openFailed(reason: "\(path): \(why)\(hint)")
        }
        self.fd = fd
        var tio = termios()
        // Once `self.fd` is set, a throw runs deinit, which closes it: close through `close()`
        // only, or the number is closed twice (and may by then belong to another thread's socket).
        guard tcgetattr(fd, &tio) == 0 else {
            let reason = String(cString: strerror(errno))
            close()
            throw .openFailed(reason: "\(path) is not a terminal: \(reason)")
        }
        cfmakeraw(&tio)
        let speed: speed_t
        switch baudRate {
        case 9600: speed = speed_t(B9600)
        case 19200: speed = speed_t(B19200)
        case 38400: speed = speed_t(B38400)
        case 57600: speed = speed_t(B57600)
        default: speed = speed_t(B115200)
        }
        cfsetispeed(&tio, speed)
        cfsetospeed(&tio, speed)
        tio.c_cflag |= tcflag_t(CLOCAL) | tcflag_t(CREAD)
        tio.c_cflag &= ~(tcflag_t(PARENB) | tcflag_t(CSTOPB) | tcflag_t(CRTSCTS))
        tio.c_cflag = (tio.c_cflag & ~tcflag_t(CSIZE)) | tcflag_t(CS8)
        guard tcsetattr(fd, TCSANOW, &tio) == 0 else {
            let reason = String(cString: strerror(errno))
            close()
            throw .openFailed(reason: "\(path): cannot set 8N1: \(reason)")
        }
        tcflush(fd, TCIOFLUSH)
    }

    deinit { close() }

    public var endpointDescription: String { "serial \(path)" }

    private func wait(for events: Int16, milliseconds: Int) throws(TransportError) -> Bool {
        guard fd >= 0 else { throw .disconnected }
        var p = pollfd(fd: fd, events: events, revents: 0)
        let r = poll(&p, 1, Int32(clamping: max(0, milliseconds)))
        if r < 0 {
            if errno == EINTR { return false }
            throw .io(String(cString: strerror(errno)))
        }
        if r == 0 { return false }
        if p.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 && p.revents & events == 0 {
            throw .disconnected
        }
        return true
    }

    public func write(_ frame: [UInt8], timeoutMilliseconds: Int) throws(TransportError) {
        var sent = 0
        let deadline = Date().addingTimeInterval(Double(timeoutMilliseconds) / 1000)
        while sent < frame.count {
            let n = frame.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return Glibc.write(fd, base + sent, frame.count - sent)
            }
            if n > 0 { sent += n; continue }
            if n < 0, errno != EAGAIN, errno != EINTR {
                throw errno == EIO || errno == ENXIO || errno == ENODEV ? .disconnected : .io(String(cString: strerror(errno)))
            }
            let left = Int(deadline.timeIntervalSinceNow * 1000)
            guard left > 0 else { throw .timeout }
            _ = try wait(for: Int16(POLLOUT), milliseconds: left)
        }
    }

    public func read(maxCount: Int, timeoutMilliseconds: Int) throws(TransportError) -> [UInt8] {
        let deadline = Date().addingTimeInterval(Double(timeoutMilliseconds) / 1000)
        var buffer = [UInt8](repeating: 0, count: max(1, maxCount))
        while true {
            let n = buffer.withUnsafeMutableBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return Glibc.read(fd, base, raw.count)
            }
            if n > 0 { return Array(buffer.prefix(n)) }
            if n == 0 { throw .disconnected }
            if errno != EAGAIN, errno != EINTR {
                throw errno == EIO || errno == ENXIO || errno == ENODEV ? .disconnected : .io(String(cString: strerror(errno)))
            }
            let left = Int(deadline.timeIntervalSinceNow * 1000)
            guard left > 0 else { throw .timeout }
            _ = try wait(for: Int16(POLLIN), milliseconds: left)
        }
    }

    public func discardInput() {
        if fd >= 0 { tcflush(fd, TCIFLUSH) }
    }

    public func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }
}
