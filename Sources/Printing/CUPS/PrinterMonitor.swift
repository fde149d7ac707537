import Foundation

/// Watches printers and publishes a printer's status whenever it changes (first poll: all of
/// them). An unreachable CUPS shows as every printer offline.
public final class PrinterMonitor: @unchecked Sendable {
    private let queues: [String]
    private let interval: Double
    private let connect: @Sendable () throws -> CupsClient
    private let lock = NSLock()
    private var stopped = false
    private var continuation: AsyncStream<PrinterStatus>.Continuation?
    /// Status changes, for one consumer.
    public let events: AsyncStream<PrinterStatus>

    public init(queues: [String], intervalSeconds: Double = 2, connect: @escaping @Sendable () throws -> CupsClient = { try CupsClient() }) {
        self.queues = queues
        interval = intervalSeconds
        self.connect = connect
        var c: AsyncStream<PrinterStatus>.Continuation?
        events = AsyncStream(bufferingPolicy: .bufferingNewest(64)) { c = $0 }
        continuation = c
    }

    public func start() {
        let thread = Thread { [self] in self.loop() }
        thread.name = "printer-monitor"
        thread.start()
    }

    public func stop() { lock.withLock { stopped = true } }

    /// Polling rounds completed: the watchdog's sign that the monitor lives.
    public var cycles: Int { lock.withLock { cycleCount } }
    private var cycleCount = 0

    private var isStopped: Bool { lock.withLock { stopped } }

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
                    continuation?.yield(status)
                }
            }
            lock.withLock { cycleCount &+= 1 }
            var waited = 0.0
            while waited < interval, !isStopped {
                Thread.sleep(forTimeInterval: 0.05)
                waited += 0.05
            }
        }
        continuation?.finish()
    }
}
