import ArgumentParser
import Foundation
import KioskClient
import KioskCore
import KioskTerminal
import KioskUI

/// `kiosk`: the citizen's full-screen interface.
@main
struct KioskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kiosk",
        abstract: "The citizen's full-screen interface, a client of kioskd's citizen socket.",
        discussion: """
        Keys: arrows, Enter, Esc/Backspace to go back, digits for menu items, E for English.
        Example: kiosk --socket /run/yitiji/citizen.sock
        """,
        version: KioskCore.version)

    @Option(help: "kioskd's citizen socket.")
    var socket: String = "/run/yitiji/citizen.sock"
    @Flag(help: "Let Ctrl-C leave the interface (demos; a kiosk ignores it).")
    var allowQuit = false
    @Option(help: "Demo without a reader: the simulated reader's control FIFO. Ctrl-P places a card, Ctrl-O another person's card, Ctrl-R removes it.")
    var cardControl: String?

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let client = CitizenSocketClient(socketPath: socket)
        let terminal = Terminal(environment: ProcessInfo.processInfo.environment)
        let runner = TerminalRunner(service: client, terminal: terminal, allowQuit: allowQuit, cardControl: cardControl)
        signal(SIGTERM, SIG_IGN)
        signal(SIGHUP, SIG_IGN)
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGHUP] {
            let source = DispatchSource.makeSignalSource(signal: sig)
            source.setEventHandler { runner.requestQuit() }
            source.resume()
            sources.append(source)
        }
        await runner.run()
        _ = sources
        await client.shutdown()
    }
}
