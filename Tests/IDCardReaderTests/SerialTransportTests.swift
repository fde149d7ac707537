import Foundation
import IDCardReader
import KioskCore
import TestSupport
import Testing

/// The serial transport over a real pseudo-terminal pair, the simulator on the other side.
@Suite struct SerialTransportTests {
    /// A device that is not a terminal is refused, and its descriptor closed once: a second close
    /// would hit whatever the number belongs to by then (another thread's socket).
    @Test func aDeviceThatIsNotATerminalIsRefusedAndClosedOnce() throws {
        for _ in 0..<50 {
            errno = 0
            do {
                _ = try SerialTransport(path: "/dev/null")
                Issue.record("/dev/null was taken for a terminal")
            } catch {
                #expect("\(error)".contains("not a terminal"), "\(error)")
            }
            #expect(errno != EBADF, "the descriptor was closed twice")
        }
    }

    @Test func readsEveryCardKindThroughAPseudoTerminal() throws {
        let dir = try TemporaryDirectory(prefix: "serial")
        defer { dir.remove() }
        let link = dir.path + "/tty"
        let simulator = ReaderSimulator(card: SampleCards.resident)
        let host = try SimulatorHost.pseudoTerminal(simulator: simulator, linkPath: link)
        let thread = Thread { host.run() }
        thread.start()
        defer { host.stop() }
        let transport = try SerialTransport(path: link)
        defer { transport.close() }
        let reader = SAMReader(transport: transport)
        #expect(try reader.samIdentifier().description == "05.01-20101129-0001228293-0296863149")
        for name in SampleCards.byName.keys.sorted() {
            let card = try #require(SampleCards.byName[name])
            simulator.place(SimulatedCard(identity: card))
            #expect(try reader.readNewCard().identity == card)
        }
        // A response in 5-byte chunks with latency still arrives whole.
        simulator.setChunkSize(5)
        simulator.setLatency(30)
        simulator.place(SimulatedCard(identity: SampleCards.hkMacaoTaiwan))
        #expect(try reader.readNewCard().identity == SampleCards.hkMacaoTaiwan)
        // No answer: a timeout, then the next command works.
        simulator.setChunkSize(0)
        simulator.inject(.noAnswer)
        #expect(throws: ReaderError.transport(.timeout, command: "SAM status")) { try reader.samStatus() }
        #expect(try reader.samStatus() == .success)
    }

    @Test func aMissingPortSaysSo() {
        #expect(throws: TransportError.self) { try SerialTransport(path: "/nonexistent/ttyUSB9") }
    }
}
