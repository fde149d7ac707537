import Foundation
import IDCardReader
import KioskCore
import TestSupport
import Testing

/// The reader state machine against the in-process simulator.
@Suite struct EngineTests {
    static func make(card: CardIdentity? = SampleCards.resident) -> (ReaderSimulator, SimulatedTransport, CardPresenceMachine) {
        let simulator = ReaderSimulator(card: card)
        let transport = SimulatedTransport(simulator: simulator)
        var timing = ReaderTiming()
        timing.readFingerprint = true
        let machine = CardPresenceMachine(reader: SAMReader(transport: transport, timing: timing))
        return (simulator, transport, machine)
    }

    @Test func readsOncethenSeesTheSameCardUntilRemoved() throws {
        let (simulator, _, machine) = EngineTests.make()
        let first = try machine.poll()
        guard case .cardRead(let card)? = first.first else { Issue.record("expected a read, got \(first)"); return }
        #expect(card.identity == SampleCards.resident)
        #expect(card.fingerprint.count == 1024)
        #expect(try machine.poll().isEmpty)  // same card still there: find says 80, select succeeds
        #expect(try machine.poll().isEmpty)
        simulator.remove()
        let removed = try machine.poll()
        guard case .cardRemoved? = removed.first else { Issue.record("expected removal, got \(removed)"); return }
        #expect(try machine.poll().isEmpty)
    }

    @Test func noCardMeansNoEvents() throws {
        let (_, _, machine) = EngineTests.make(card: nil)
        #expect(try machine.poll().isEmpty)
        #expect(machine.state == .empty)
    }

    @Test func aCardPulledMidReadIsReportedAndTheNextCardReads() throws {
        let (simulator, _, machine) = EngineTests.make()
        simulator.inject(.removeCardDuringRead)
        let events = try machine.poll()
        guard case .readFailed(let error)? = events.first else { Issue.record("got \(events)"); return }
        #expect(error == .status(.selectCardFailed, command: "select card") || error == .status(.readCardFailed, command: "read text, photo and fingerprint"))
        simulator.place(SimulatedCard(identity: SampleCards.foreigner2017))
        guard case .cardRead(let card)? = try machine.poll().first else { Issue.record("no read"); return }
        #expect(card.identity.cardType == .foreigner2017)
    }

    @Test("every failure status of a read is retried, then reported", arguments: SAMStatus.known.filter { !$0.isSuccess && $0 != .noContent })
    func failureStatuses(status: SAMStatus) throws {
        let (simulator, _, machine) = EngineTests.make()
        simulator.inject(.readStatus(status))
        // One failed attempt, then the retry (find → select → read) succeeds.
        guard case .cardRead? = try machine.poll().first else { Issue.record("\(status): retry did not read"); return }

        let (simulator2, _, machine2) = EngineTests.make()
        for _ in 0..<3 { simulator2.inject(.readStatus(status)) }
        let events = try machine2.poll()
        guard case .readFailed(.status(let reported, _))? = events.first else { Issue.record("\(status): \(events)"); return }
        #expect(reported == status)
    }

    @Test func frameFaultsAreRecoveredByRetrying() throws {
        for fault in [SimulatorFault.badChecksum, .truncated, .garbageBefore, .noAnswer] {
            let (simulator, _, machine) = EngineTests.make()
            simulator.setLatency(0)
            _ = try machine.poll()  // read
            simulator.remove()
            _ = try machine.poll()  // removed
            simulator.place(SimulatedCard(identity: SampleCards.hkMacaoTaiwan))
            simulator.inject(fault)
            var events = try machine.poll()
            for _ in 0..<2 where events.isEmpty || { if case .readFailed? = events.first { return true }; return false }() {
                events = try machine.poll()
            }
            guard case .cardRead(let card)? = events.first else { Issue.record("\(fault): \(events)"); continue }
            #expect(card.identity.cardType == .hkMacaoTaiwan)
        }
    }

    @Test func splitChunksAreReassembled() throws {
        let (simulator, _, machine) = EngineTests.make(card: SampleCards.foreigner2023)
        simulator.setChunkSize(7)
        guard case .cardRead(let card)? = try machine.poll().first else { Issue.record("no read"); return }
        #expect(card.identity == SampleCards.foreigner2023)
    }

    @Test func repeatedFailuresResetTheSAM() throws {
        let (simulator, _, machine) = EngineTests.make()
        for _ in 0..<9 { simulator.inject(.readStatus(.readCardFailed)) }
        for _ in 0..<3 {
            guard case .readFailed? = try machine.poll().first else { Issue.record("expected failure"); return }
        }
        #expect(machine.samResets == 1)
        guard case .cardRead? = try machine.poll().first else { Issue.record("no read after reset"); return }
    }

    @Test func aLateAnswerToATimedOutCommandIsSkipped() throws {
        let simulator = ReaderSimulator(card: SampleCards.resident)
        let reader = SAMReader(transport: SimulatedTransport(simulator: simulator))
        reader.timing.readMilliseconds = 100
        simulator.setLatency(300, for: "read")
        _ = try reader.findCard()
        _ = try reader.selectCard()
        #expect(throws: ReaderError.transport(.timeout, command: "read text and photo")) { try reader.readCard() }
        simulator.setLatency(0, for: "read")
        simulator.setLatency(250, for: "other")  // the late read answer arrives while this one is awaited
        #expect(try reader.samStatus() == .success)
        #expect(reader.staleFramesSkipped == 1)
    }

    @Test func unpluggingThrowsSoTheServiceCanReopen() throws {
        let (_, transport, machine) = EngineTests.make()
        _ = try machine.poll()
        transport.setUnplugged(true)
        #expect(throws: ReaderError.self) { try machine.poll() }
    }

    @Test func theServiceReconnectsWhenTheReaderComesBack() async throws {
        let simulator = ReaderSimulator(card: nil)
        let plugged = PlugState()
        var timing = ReaderTiming()
        timing.pollIntervalMilliseconds = 20
        let service = ReaderPoller(timing: timing) { () throws(ReaderError) -> any ReaderTransport in
            guard plugged.isPlugged else { throw .noReader("unplugged") }
            let transport = SimulatedTransport(simulator: simulator)
            plugged.current = transport
            return transport
        }
        service.reopenIntervalMilliseconds = 50
        service.start()
        defer { service.stop() }
        var iterator = service.events.makeAsyncIterator()
        guard case .connected(_, let samID)? = await iterator.next() else { Issue.record("no connect"); return }
        #expect(samID == "05.01-20101129-0001228293-0296863149")
        simulator.place(SimulatedCard(identity: SampleCards.resident))
        guard case .cardRead? = await iterator.next() else { Issue.record("no read"); return }
        plugged.unplug()
        guard case .cardRemoved? = await iterator.next() else { Issue.record("no removal"); return }
        guard case .disconnected? = await iterator.next() else { Issue.record("no disconnect"); return }
        simulator.remove()
        plugged.plug()
        var sawConnect = false
        while let event = await iterator.next() {
            if case .connected = event { sawConnect = true; break }
        }
        #expect(sawConnect)
        simulator.place(SimulatedCard(identity: SampleCards.foreigner2023))
        guard case .cardRead(let card)? = await iterator.next() else { Issue.record("no read after replug"); return }
        #expect(card.identity.cardType == .foreigner2023)
    }

    @Test func aReaderGoneAtItsFirstCommandIsNeverReportedConnected() async throws {
        let simulator = ReaderSimulator(card: nil)
        let opens = Locked(0)
        var timing = ReaderTiming()
        timing.pollIntervalMilliseconds = 20
        // The first three opens succeed on a device that is gone at once (its USB locked up);
        // the fourth is a working reader.
        let service = ReaderPoller(timing: timing) { () throws(ReaderError) -> any ReaderTransport in
            let transport = SimulatedTransport(simulator: simulator)
            if opens.withLock({ $0 += 1; return $0 }) <= 3 { transport.setUnplugged(true) }
            return transport
        }
        service.reopenIntervalMilliseconds = 20
        service.start()
        defer { service.stop() }
        var events: [String] = []
        for await event in service.events {
            switch event {
            case .connected: events.append("connected")
            case .disconnected: events.append("disconnected")
            default: events.append("other")
            }
            if case .connected = event { break }
        }
        #expect(events == ["disconnected", "connected"], "one disconnect for the three failed opens, then connected")
        #expect(opens.withLock { $0 } == 4)
        #expect(service.cycles >= 4, "every open counts as progress for the watchdog")
    }
}

final class PlugState: @unchecked Sendable {
    private let lock = NSLock()
    private var plugged = true
    var current: SimulatedTransport? {
        get { lock.withLock { _current } }
        set { lock.withLock { _current = newValue } }
    }
    private var _current: SimulatedTransport?
    var isPlugged: Bool { lock.withLock { plugged } }
    func unplug() { lock.withLock { plugged = false }; current?.setUnplugged(true) }
    func plug() { lock.withLock { plugged = true } }
}

/// The control FIFO both simulators read: lines whole however they are written, a writer that
/// never ends its line cannot grow the buffer, and a reader never blocks.
@Suite struct ControlFIFOTests {
    @Test func linesComeOutWholeHoweverTheyAreWritten() throws {
        let dir = try TemporaryDirectory(prefix: "control-fifo")
        defer { dir.remove() }
        let fifo = try ControlFIFO(path: dir.path + "/control")
        #expect(fifo.lines().isEmpty, "nothing written: an empty answer at once, not a wait")
        let writer = try #require(FileHandle(forWritingAtPath: dir.path + "/control"))
        writer.write(Data("place res".utf8))
        #expect(fifo.waitForLines(timeoutMilliseconds: 1000).isEmpty)
        writer.write(Data("ident\n\n  remove  \nfault".utf8))
        #expect(fifo.waitForLines(timeoutMilliseconds: 1000) == ["place resident", "remove"])
        writer.write(Data(" checksum\n".utf8))
        #expect(fifo.waitForLines(timeoutMilliseconds: 1000) == ["fault checksum"])
        // A writer closing does not end the reader (no end-of-file between writers).
        try writer.close()
        let again = try #require(FileHandle(forWritingAtPath: dir.path + "/control"))
        again.write(Data(String(repeating: "x", count: ControlFIFO.maximumLineBytes + 10).utf8))
        #expect(fifo.waitForLines(timeoutMilliseconds: 1000).isEmpty)
        again.write(Data("\nremove\n".utf8))
        #expect(fifo.waitForLines(timeoutMilliseconds: 1000) == ["remove"], "the overlong line was dropped, not applied")
        try again.close()
    }

    @Test func aPathThatCannotBeAFIFOIsAClearError() {
        #expect(throws: SimulatorHostError.self) { try ControlFIFO(path: "/nonexistent-dir/control") }
    }
}
