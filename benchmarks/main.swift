// yitiji-bench: prints the figures behind Yitiji's speed targets.
// Usage: swift run -c release yitiji-bench [NAME ...]   (no name: all)
//        yitiji-bench usb-read --device 0400:c35a  (run under the emulated reader's environment)
import Foundation
import IDCardReader
import KioskCore

/// Median and 99th percentile of `samples` (seconds), printed in microseconds or milliseconds.
func report(_ name: String, _ samples: [Double], unit: String = "µs") {
    let sorted = samples.sorted()
    let scale = unit == "µs" ? 1e6 : 1e3
    func at(_ q: Double) -> String {
        String(format: "%.2f", sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] * scale)
    }
    print("\(name): n=\(sorted.count) median=\(at(0.5))\(unit) p99=\(at(0.99))\(unit) min=\(at(0))\(unit)")
}

func time(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// Decoding a `30 10` response (2321 bytes) from bytes into a card.
func decodeReadResponse() throws {
    let simulator = ReaderSimulator(card: SampleCards.resident)
    _ = simulator.receive(SAMCommand.findCard.frame)
    _ = simulator.receive(SAMCommand.selectCard.frame)
    let frame = simulator.receive(SAMCommand.readTextAndFingerprint.frame).flatMap(\.bytes)
    var samples: [Double] = []
    for _ in 0..<20_000 {
        samples.append(try time {
            var decoder = SAMFrameDecoder()
            decoder.append(frame)
            guard let response = try decoder.nextResponse() else { throw BenchError("no frame") }
            let card = try CardText.decodeRead(data: response.data)
            if card.identity.idNumber.isEmpty { throw BenchError("empty card") }
        })
    }
    report("decode 30 10 response → card", samples)
}

/// A whole find → select → read through a transport; which one depends on the arguments.
func endToEndRead(transport: any ReaderTransport, label: String, count: Int) throws {
    let reader = SAMReader(transport: transport)
    var timing = ReaderTiming()
    timing.readFingerprint = true
    reader.timing = timing
    var samples: [Double] = []
    var exchanges: [Double] = []
    for _ in 0..<count {
        samples.append(try time {
            _ = try reader.findCard()
            _ = try reader.selectCard()
            _ = try reader.readCard()
        })
        exchanges.append(try time { _ = try reader.samStatus() })
    }
    report("\(label): find+select+read (30 10)", samples, unit: "ms")
    report("\(label): one small exchange (SAM status)", exchanges, unit: "ms")
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ text: String) { description = text }
}

/// Placed card for each read: the simulator answers find with 80 after a read, so re-place it.
final class ReplacingTransport: ReaderTransport {
    let inner: SimulatedTransport
    init(_ inner: SimulatedTransport) { self.inner = inner }
    var endpointDescription: String { inner.endpointDescription }
    func write(_ frame: [UInt8], timeoutMilliseconds: Int) throws(TransportError) {
        if frame == SAMCommand.findCard.frame { inner.simulator.place(SimulatedCard(identity: SampleCards.resident)) }
        try inner.write(frame, timeoutMilliseconds: timeoutMilliseconds)
    }
    func read(maxCount: Int, timeoutMilliseconds: Int) throws(TransportError) -> [UInt8] {
        try inner.read(maxCount: maxCount, timeoutMilliseconds: timeoutMilliseconds)
    }
    func discardInput() { inner.discardInput() }
    func close() { inner.close() }
}

let arguments = Array(CommandLine.arguments.dropFirst())
let benchmarks: [(name: String, run: () throws -> Void)] = [
    ("decode", decodeReadResponse),
    ("simulated-read", {
        let transport = ReplacingTransport(SimulatedTransport(simulator: ReaderSimulator(card: SampleCards.resident)))
        try endToEndRead(transport: transport, label: "in-process simulator", count: 2000)
    }),
    ("usb-read", {
        // Needs the emulated (or a real) reader: the card must be re-placed between reads, so the
        // emulated reader's simulator is told through its control FIFO when one is given.
        let context = try USBContext()
        let database = try ReaderModelDatabase.loadDefault()
        let (transport, found) = try ReaderDiscovery.openSelected(selection: "auto", device: nil, database: database, context: context)
        defer { transport.close() }
        let control = ProcessInfo.processInfo.environment["YITIJI_SIM_CONTROL"]
        let reader = SAMReader(transport: transport)
        reader.timing.readFingerprint = true
        var reads: [Double] = []
        var small: [Double] = []
        for _ in 0..<50 {
            if let control { try "place resident\n".write(toFile: control, atomically: false, encoding: .utf8) }
            Thread.sleep(forTimeInterval: 0.01)
            reads.append(try time {
                _ = try reader.findCard()
                _ = try reader.selectCard()
                _ = try reader.readCard()
            })
            small.append(try time { _ = try reader.samStatus() })
        }
        report("\(found.model.usbID) libusb: find+select+read (30 10)", reads, unit: "ms")
        report("\(found.model.usbID) libusb: one small exchange (SAM status)", small, unit: "ms")
    }),
]

let wanted = Set(arguments)
for bench in benchmarks where wanted.isEmpty ? bench.name != "usb-read" : wanted.contains(bench.name) {
    do { try bench.run() } catch { print("\(bench.name): failed: \(error)") }
}
