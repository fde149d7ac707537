import ArgumentParser
import Foundation
import KioskClient
import KioskCore
import KioskInput
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
        In text fields, lower-case letters are pinyin (librime, luna pinyin): pick a candidate with
        its number or space, page with - and =; F2 switches between pinyin and Latin letters.
        Example: kiosk --socket /run/yitiji/citizen.sock
        """,
        version: Yitiji.version)

    @Option(help: "kioskd's citizen socket.")
    var socket: String = "/run/yitiji/citizen.sock"
    @Flag(help: "Let Ctrl-C leave the interface (demos; a kiosk ignores it).")
    var allowQuit = false
    @Option(help: "Demo without a reader: the simulated reader's control FIFO. Ctrl-P places a card, Ctrl-O another person's card, Ctrl-R removes it.")
    var cardControl: String?
    @Option(help: "The RIME data of the pinyin input.")
    var rimeData: String = RimePinyin.defaultSharedData
    @Flag(help: "No pinyin input: letters go into text fields as typed.")
    var noPinyin = false

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let client = CitizenSocketClient(socketPath: socket)
        let terminal = Terminal(environment: ProcessInfo.processInfo.environment)
        var pinyin: RimePinyin?
        if !noPinyin {
            // The engine's compiled schema only; nothing typed is kept.
            let environment = ProcessInfo.processInfo.environment
            let base = environment["RUNTIME_DIRECTORY"] ?? environment["XDG_RUNTIME_DIR"] ?? NSTemporaryDirectory()
            do { pinyin = try RimePinyin(sharedDataDirectory: rimeData, userDataDirectory: base + "/yitiji-rime-\(getuid())") } catch {
                FileHandle.standardError.write(Data("kiosk: pinyin input unavailable: \(error)\n".utf8))
            }
        }
        let runner = TerminalRunner(service: client, terminal: terminal, allowQuit: allowQuit, cardControl: cardControl, inputMethod: pinyin)
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
