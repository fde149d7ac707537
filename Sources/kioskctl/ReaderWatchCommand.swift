import ArgumentParser
import Foundation
import IDCardReader
import KioskCore

struct ReaderWatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Print reader events (connected, card read, removed, unplugged) as they happen.",
        discussion: """
        Opens the reader directly and keeps polling, reopening it when it is unplugged and plugged
        back. One line per event; personal fields masked. Stops after --count events or on Ctrl-C.
        Exit codes: 0 stopped after --count events or on Ctrl-C, 2 no reader could be opened.
        Example: kioskctl reader watch --count 3
        """)

    @OptionGroup var selection: ReaderSelectionOptions
    @Option(help: "Stop after this many events (0: never).")
    var count: Int = 0

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let database = try selection.database()
        let select = selection.device != nil ? "serial" : selection.select
        let device = selection.device
        var timing = ReaderTiming()
        timing.pollIntervalMilliseconds = 200
        let service = ReaderPoller(timing: timing) { () throws(ReaderError) -> any ReaderTransport in
            let context: USBContext
            do { context = try USBContext() } catch { throw .noReader("\(error)") }
            return try ReaderDiscovery.openSelected(selection: select, device: device, database: database, context: context).0
        }
        service.start()
        defer { service.stop() }
        var seen = 0
        for await event in service.events {
            let line: String
            switch event {
            case let .connected(endpoint, samID): line = "connected \(endpoint) SAM \(samID ?? "unknown")"
            case .disconnected(let reason): line = "disconnected: \(reason)"
            case .cardRead(let card):
                line = "card read: \(card.identity.cardType.rawValue) \(card.identity.maskedName) \(card.identity.maskedIDNumber)"
                card.wipe()
            case .cardRemoved: line = "card removed"
            case .readFailed(let error): line = "read failed: \(error)"
            }
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
            seen += 1
            if count > 0, seen >= count { break }
        }
    }
}
