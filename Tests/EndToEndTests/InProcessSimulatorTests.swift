import Foundation
import TestSupport
import Testing

/// `kioskd --simulator-control FIFO`: the in-process reader simulator, driven through the same
/// control FIFO reader as the stand-alone simulator, with the real daemon.
@Suite(.serialized) struct InProcessSimulatorTests {
    @Test func controlLinesPlaceAndRemoveACardAndABadOneIsRefusedWithoutHarm() throws {
        let control = try TemporaryDirectory(prefix: "sim-control")
        defer { control.remove() }
        let fifo = control.path + "/control"
        let bed = try KioskdTestBed(arguments: ["--simulator-control", fifo])
        defer { _ = bed.stop(); bed.directory.remove() }
        func status() -> String { bed.curl(bed.technicianSocket, "GET", "/v1/status").1 }
        let writer = try #require(FileHandle(forWritingAtPath: fifo), "kioskd made the FIFO")
        defer { try? writer.close() }
        #expect(eventually(10) { status().contains(#""readerPresent":true"#) }, "\(status().prefix(400))")
        // A line in two writes, as a slow writer may send it.
        writer.write(Data("place resi".utf8))
        writer.write(Data("dent\n".utf8))
        #expect(eventually(10) { status().contains(#""sessionActive":true"#) }, "\(status().prefix(400))")
        writer.write(Data("no-such-command\nremove\n".utf8))
        #expect(eventually(10) { status().contains(#""sessionActive":false"#) }, "\(status().prefix(400))")
        #expect(bed.process.log.contains("simulator control refused"))
        #expect(bed.process.isRunning)
    }
}
