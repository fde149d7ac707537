/// Why a transport operation failed.
public enum TransportError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Nothing arrived (or could be sent) before the deadline.
    case timeout
    /// The device went away (unplugged, or the port closed under us).
    case disconnected
    /// The device or port could not be opened; `reason` says why and what to check.
    case openFailed(reason: String)
    /// Any other I/O failure, with the underlying error's text.
    case io(String)

    public var description: String {
        switch self {
        case .timeout: return "the reader did not answer in time"
        case .disconnected: return "the reader was disconnected"
        case let .openFailed(reason): return "the reader could not be opened: \(reason)"
        case let .io(text): return "reader I/O error: \(text)"
        }
    }
}

/// A byte pipe to an ID-card reader. It carries whole SAM_V request frames out and response
/// bytes in; it never parses a card. Calls block the calling thread for at most their timeout,
/// so the reader engine runs them on a thread of its own.
///
/// Implementations: libusb vendor bulk (four-endpoint and chunked), USB HID, serial tty, and the
/// in-process simulator.
public protocol ReaderTransport: AnyObject {
    /// A short human description, e.g. `usb 0400:c35a bus 1 device 2` or `serial /dev/ttyUSB0`.
    var endpointDescription: String { get }

    /// Sends one complete request frame (preamble through checksum).
    func write(_ frame: [UInt8], timeoutMilliseconds: Int) throws(TransportError)

    /// Returns the next bytes the reader sent: at least one and at most `maxCount`, or throws
    /// `.timeout` when nothing arrived within `timeoutMilliseconds`.
    func read(maxCount: Int, timeoutMilliseconds: Int) throws(TransportError) -> [UInt8]

    /// Drops any input already buffered, e.g. before retrying a command.
    func discardInput()

    /// Releases the device. Further calls throw `.disconnected`.
    func close()
}
