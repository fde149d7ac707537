#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The controlling terminal: raw mode for key-by-key input, its size, and the alternate screen.
/// Restores the terminal as it found it on `restore()`.
public final class Terminal: @unchecked Sendable {
    private let input: Int32
    private let output: Int32
    private var saved = termios()
    private var isRaw = false

    /// Whether styles should be used: off when `NO_COLOR` is set or output is not a terminal.
    public let useStyles: Bool

    public init(input: Int32 = STDIN_FILENO, output: Int32 = STDOUT_FILENO, environment: [String: String]) {
        self.input = input
        self.output = output
        useStyles = environment["NO_COLOR"] == nil && isatty(output) == 1
    }

    /// Columns and rows, or 80×24 when the size cannot be read.
    public var size: (width: Int, height: Int) {
        var ws = winsize()
        if ioctl(output, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0, ws.ws_row > 0 {
            return (Int(ws.ws_col), Int(ws.ws_row))
        }
        return (80, 24)
    }

    /// Switches to raw input, the alternate screen, and hides the cursor.
    public func enter() {
        if isatty(input) == 1, tcgetattr(input, &saved) == 0 {
            var raw = saved
            raw.c_iflag &= ~tcflag_t(BRKINT | ICRNL | INPCK | ISTRIP | IXON)
            raw.c_oflag &= ~tcflag_t(OPOST)
            raw.c_cflag |= tcflag_t(CS8)
            raw.c_lflag &= ~tcflag_t(ECHO | ICANON | IEXTEN | ISIG)
            withUnsafeMutableBytes(of: &raw.c_cc) { cc in
                cc[Int(VMIN)] = 0
                cc[Int(VTIME)] = 1
            }
            if tcsetattr(input, TCSAFLUSH, &raw) == 0 { isRaw = true }
        }
        write("\u{1B}[?1049h\u{1B}[?25l\u{1B}[2J")
    }

    /// Leaves the alternate screen and restores the saved terminal mode.
    public func restore() {
        write("\u{1B}[0m\u{1B}[?25h\u{1B}[?1049l")
        if isRaw {
            tcsetattr(input, TCSAFLUSH, &saved)
            isRaw = false
        }
    }

    /// Writes text to the terminal, all of it.
    public func write(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { buffer in
                Glibc.write(output, buffer.baseAddress!.advanced(by: offset), buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return
            }
            offset += written
        }
    }

    /// Waits up to `timeoutMilliseconds` for input and returns what arrived (empty on timeout).
    /// Returns nil when input has closed.
    public func readBytes(timeoutMilliseconds: Int32) -> [UInt8]? {
        var fds = pollfd(fd: input, events: Int16(POLLIN), revents: 0)
        let ready = poll(&fds, 1, timeoutMilliseconds)
        guard ready > 0 else { return ready == 0 || errno == EINTR ? [] : nil }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
        if count == 0 { return nil }
        if count < 0 { return errno == EINTR || errno == EAGAIN ? [] : nil }
        return Array(buffer[0..<count])
    }
}
