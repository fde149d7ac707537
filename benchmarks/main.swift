// yitiji-bench: prints the figures behind Yitiji's speed targets.
// Usage: swift run -c release yitiji-bench [NAME ...]   (no name: all without a test bed)
//        yitiji-bench outbox-enqueue relay-drain registry-reads   (the last two start registryd, built alongside)
//        yitiji-bench sign-reads   (signed requests made ahead for wrk; see scripts/bench-registry.sh)
//        yitiji-bench fleet --kiosks N --keys FILE --registry URL…   (a simulated fleet; see scripts/bench-fleet.sh)
//        yitiji-bench usb-read  (run under the emulated reader's environment; see the README)
import Foundation
import Crypto
import IDCardReader
import KioskCore
import Printing

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

/// A whole find → select → read through a transport; `placeCard` runs before each read.
func endToEndRead(transport: any ReaderTransport, label: String, count: Int, placeCard: () throws -> Void = {}) throws {
    let reader = SAMReader(transport: transport)
    reader.timing.readFingerprint = true
    var samples: [Double] = []
    var exchanges: [Double] = []
    for _ in 0..<count {
        try placeCard()
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

/// The repository (for fixtures and templates), from this file's path.
let repository: String = {
    var url = URL(fileURLWithPath: #filePath)
    url.deleteLastPathComponent(); url.deleteLastPathComponent()
    return url.path
}()

func documentRenderer() throws -> DocumentRenderer {
    try DocumentRenderer(signingKey: DocumentSigningKey(key: Curve25519.Signing.PrivateKey()), provider: "演示市政务服务和数据管理局",
                         templatesDirectory: repository + "/kiosk-config/templates")
}

func fixture(_ kind: String) throws -> Data {
    try Data(contentsOf: URL(fileURLWithPath: repository + "/Tests/Fixtures/documents/\(kind).json"))
}

/// Warm rendering of a business licence, and its size.
func licenceBenchmark() throws {
    let renderer = try documentRenderer()
    let json = try fixture("business-licence")
    _ = try renderer.render(kind: .businessLicence, json: json)
    var samples: [Double] = []
    var size = 0
    for _ in 0..<100 {
        samples.append(try time { size = try renderer.render(kind: .businessLicence, json: json).pdf.count })
    }
    report("business licence, warm", samples, unit: "ms")
    print("business licence: \(size / 1024) KB (1 page)")
}

/// A long social-insurance certificate: time and size per page.
func longDocumentBenchmark() throws {
    let renderer = try documentRenderer()
    var record = try JSONDecoder().decode(SocialInsuranceRecord.self, from: try fixture("social-insurance-certificate"))
    let first = record.payments[0]
    record.payments = (0..<2400).map { i in
        var p = first
        p.month = "\(2000 + i / 120)-\(String(format: "%02d", i % 12 + 1))"
        return p
    }
    let json = try JSONEncoder().encode(record)
    _ = try renderer.render(kind: .socialInsuranceCertificate, json: json)
    var samples: [Double] = []
    var pages = 0, size = 0
    for _ in 0..<5 {
        samples.append(try time {
            let doc = try renderer.render(kind: .socialInsuranceCertificate, json: json)
            pages = doc.pageCount
            size = doc.pdf.count
        })
    }
    report("social-insurance certificate, \(pages) pages", samples, unit: "ms")
    let median = samples.sorted()[samples.count / 2]
    print(String(format: "long document: %.2f ms per page, %d KB per page", median * 1000 / Double(pages), size / 1024 / pages))
}

/// From starting `kioskctl document render` to the PDF on disk.
func firstPDFBenchmark() throws {
    let kioskctl = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("kioskctl").path
    guard FileManager.default.fileExists(atPath: kioskctl) else { throw BenchError("build kioskctl in the same configuration first") }
    let out = NSTemporaryDirectory() + "/bench-licence.pdf"
    var samples: [Double] = []
    for _ in 0..<10 {
        samples.append(try time {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: kioskctl)
            p.arguments = ["document", "render", "--kind", "business-licence", "--input",
                           repository + "/Tests/Fixtures/documents/business-licence.json", "-o", out]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
        })
    }
    report("process start to first PDF (kioskctl document render)", samples, unit: "ms")
}

/// Submit-to-completed against the CUPS server CUPS_SERVER names, beside `lp` for the same file.
func printLatencyBenchmark() throws {
    guard ProcessInfo.processInfo.environment["CUPS_SERVER"] != nil else { throw BenchError("start scripts/testbeds/cups.sh and source its env") }
    let pdf = try documentRenderer().render(kind: .businessLicence, json: try fixture("business-licence")).pdf
    let runner = PrintJobRunner(client: try CupsClient())
    var ours: [Double] = []
    for _ in 0..<5 {
        ours.append(time {
            _ = runner.print(queue: "a4", pdf: pdf, title: "bench", options: PrintOptions(), timeoutSeconds: 60)
        })
    }
    report("yitiji submit → completed (a4)", ours, unit: "ms")
    let path = NSTemporaryDirectory() + "/bench-print.pdf"
    try pdf.write(to: URL(fileURLWithPath: path))
    var lp: [Double] = []
    for _ in 0..<5 {
        lp.append(try time {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/lp")
            p.arguments = ["-d", "a4", path]
            let pipe = Pipe()
            p.standardOutput = pipe
            try p.run()
            p.waitUntilExit()
            let line = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            guard let id = line.split(separator: " ").first(where: { $0.hasPrefix("a4-") }) else { return }
            // Poll as a shell script would: until lpstat no longer lists the job as not completed.
            while true {
                let q = Process()
                q.executableURL = URL(fileURLWithPath: "/usr/bin/lpstat")
                q.arguments = ["-o", "a4"]
                let qp = Pipe()
                q.standardOutput = qp
                try q.run()
                q.waitUntilExit()
                if !String(decoding: qp.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).contains(String(id)) { break }
                Thread.sleep(forTimeInterval: 0.05)
            }
        })
    }
    report("lp + lpstat polling, same file (a4)", lp, unit: "ms")
}

let arguments = Array(CommandLine.arguments.dropFirst())
// The fleet simulator takes options of its own.
switch arguments.first {
case "fleet", "fleet-shard", "fleet-keys":
    do {
        let rest = Array(arguments.dropFirst())
        switch arguments.first {
        case "fleet": try fleet(rest)
        case "fleet-shard": try fleetShard(rest)
        default: try fleetKeys(rest)
        }
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("\(arguments.first ?? ""): \(error)\n".utf8))
        exit(1)
    }
default: break
}
let benchmarks: [(name: String, run: () throws -> Void)] = [
    ("decode", decodeReadResponse),
    ("licence", licenceBenchmark),
    ("long-document", longDocumentBenchmark),
    ("first-pdf", firstPDFBenchmark),
    ("print-latency", printLatencyBenchmark),
    ("simulated-read", {
        // The simulator answers find with 80 after a read, so the card is placed again each time.
        let simulator = ReaderSimulator(card: SampleCards.resident)
        try endToEndRead(transport: SimulatedTransport(simulator: simulator), label: "in-process simulator", count: 2000) {
            simulator.place(SimulatedCard(identity: SampleCards.resident))
        }
    }),
    ("usb-read", {
        // Needs the emulated (or a real) reader: the card must be re-placed between reads, so the
        // emulated reader's simulator is told through its control FIFO when one is given.
        let context = try USBContext()
        let database = try ReaderModelDatabase.loadDefault()
        let (transport, found) = try ReaderDiscovery.openSelected(selection: "auto", device: nil, database: database, context: context)
        defer { transport.close() }
        let control = ProcessInfo.processInfo.environment["YITIJI_SIM_CONTROL"]
        try endToEndRead(transport: transport, label: "\(found.model.usbID) libusb", count: 50) {
            if let control { try "place resident\n".write(toFile: control, atomically: false, encoding: .utf8) }
            Thread.sleep(forTimeInterval: 0.01)
        }
    }),
]

let registryBenchmarks: [(name: String, run: () throws -> Void)] = [
    ("outbox-enqueue", outboxEnqueueBenchmark),
    ("relay-drain", { try runAsync(relayDrainBenchmark) }),
    ("client-decode", { try runAsync(generatedClientDecodeBenchmark) }),
    ("catalogue-watch", { try runAsync(catalogueWatchBenchmark) }),
    ("name-search", { try runAsync(nameSearchBenchmark) }),
    ("registry-reads", { try runAsync(signedReadBenchmark) }),
    ("sign-reads", signReads),
    ("config-apply", { try runAsync(configApplyBenchmark) }),
    ("config-fanout", { try runAsync { try await configFanoutBenchmark(kiosks: Int(ProcessInfo.processInfo.environment["BENCH_KIOSKS"] ?? "") ?? 100) } }),
]
let wanted = Set(arguments)
let needsTestBed: Set<String> = ["name-search", "usb-read", "print-latency", "relay-drain", "registry-reads", "config-fanout", "config-apply", "sign-reads"]
for bench in benchmarks + registryBenchmarks where wanted.isEmpty ? !needsTestBed.contains(bench.name) : wanted.contains(bench.name) {
    do { try bench.run() } catch { print("\(bench.name): failed: \(error)") }
}
