import Foundation
import KioskCore

/// Watches printers and publishes a printer's status whenever it changes (first poll: all of
/// them). An unreachable CUPS shows as every printer offline.
public final class PrinterMonitor: Sendable {
    private struct State {
        var stopped = false
        var cycleCount = 0
    }

    private let queues: [String]
    private let interval: Double
    private let connect: @Sendable () throws -> CupsClient
    private let state = Locked(State())
    private let continuation: AsyncStream<PrinterStatus>.Continuation
    /// Status changes, for one consumer.
    public let events: AsyncStream<PrinterStatus>

    public init(queues: [String], intervalSeconds: Double = 2, connect: @escaping @Sendable () throws -> CupsClient = { try CupsClient() }) {
        self.queues = queues
        interval = intervalSeconds
        self.connect = connect
        (events, continuation) = AsyncStream.makeStream(of: PrinterStatus.self, bufferingPolicy: .bufferingNewest(64))
    }

    public func start() {
        let thread = Thread { [self] in self.loop() }
        thread.name = "printer-monitor"
        thread.start()
    }

    public func stop() { state.withLock { $0.stopped = true } }

    /// Polling rounds completed: the watchdog's sign that the monitor lives.
    public var cycles: Int { state.withLock { $0.cycleCount } }

    private var isStopped: Bool { state.withLock { $0.stopped } }

    private func loop() {
        var last: [String: PrinterStatus] = [:]
        var client: CupsClient?
        while !isStopped {
            if client == nil { client = try? connect() }
            for queue in queues {
                let status: PrinterStatus
                if let client, let s = try? client.status(queue: queue) {
                    status = s
                } else {
                    status = PrinterStatus(queue: queue, state: 3, reasons: [], accepting: false,
                                           message: "CUPS unreachable or no such queue", reachable: false)
                    client = nil
                }
                if last[queue] != status {
                    last[queue] = status
                    continuation.yield(status)
                }
            }
            state.withLock { $0.cycleCount &+= 1 }
            var waited = 0.0
            while waited < interval, !isStopped {
                Thread.sleep(forTimeInterval: 0.05)
                waited += 0.05
            }
        }
        continuation.finish()
    }
}
