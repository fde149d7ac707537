import Foundation

/// An in-process transport to a `ReaderSimulator`, honouring its latency and chunking.
/// For unit tests of the layers above the transport; end-to-end tests use the real transports.
public final class SimulatedTransport: ReaderTransport, @unchecked Sendable {
    public let simulator: ReaderSimulator
    private let lock = NSCondition()
    private var pending: [(due: UInt64, bytes: [UInt8])] = []
    private var unplugged = false
    private var closed = false

    public init(simulator: ReaderSimulator) { self.simulator = simulator }

    public var endpointDescription: String { "simulator" }

    /// Simulates pulling the cable (true) or plugging it back (false).
    public func setUnplugged(_ value: Bool) {
        lock.withLock {
            unplugged = value
            pending.removeAll()
            lock.broadcast()
        }
    }

    private static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    public func write(_ frame: [UInt8], timeoutMilliseconds: Int) throws(TransportError) {
        let gone = lock.withLock { unplugged || closed }
        if gone { throw .disconnected }
        let replies = simulator.receive(frame)
        lock.withLock {
            var due = SimulatedTransport.now()
            for reply in replies {
                due += UInt64(reply.delayMilliseconds) * 1_000_000
                pending.append((due, reply.bytes))
            }
            lock.broadcast()
        }
    }

    public func read(maxCount: Int, timeoutMilliseconds: Int) throws(TransportError) -> [UInt8] {
        let deadline = SimulatedTransport.now() + UInt64(timeoutMilliseconds) * 1_000_000
        lock.lock()
        defer { lock.unlock() }
        while true {
            if unplugged || closed { throw .disconnected }
            let now = SimulatedTransport.now()
            if let first = pending.first, first.due <= now {
                var bytes = first.bytes
                if bytes.count > maxCount {
                    pending[0].bytes = Array(bytes[maxCount...])
                    bytes = Array(bytes.prefix(maxCount))
                } else {
                    pending.removeFirst()
                }
                return bytes
            }
            guard now < deadline else { throw .timeout }
            let wake = min(deadline, pending.first?.due ?? deadline)
            let seconds = Double(wake - now) / 1e9
            _ = lock.wait(until: Date().addingTimeInterval(max(0.0005, seconds)))
        }
    }

    public func discardInput() {
        lock.withLock {
            let now = SimulatedTransport.now()
            pending.removeAll { $0.due <= now }
        }
    }

    public func close() { lock.withLock { closed = true; lock.broadcast() } }
}
