import ArgumentParser
import Foundation
import IDCardReader

struct ReaderReadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Wait for a card and print it.",
        discussion: """
        Opens the reader directly and waits for a card. Personal fields are masked unless --show.
        Exit codes: 0 card read, 1 no card or the card could not be read, 2 no reader (or one
        that stopped answering: the command ends within --timeout plus 5 s whatever the reader does).
        Examples:
          kioskctl reader read --timeout 20
          kioskctl reader read --json --device /dev/ttyUSB0
        """)

    @OptionGroup var selection: ReaderSelectionOptions
    @Flag(help: "Print the card as JSON (as `reader decode`).")
    var json = false
    @Flag(help: "Show personal fields in clear.")
    var show = false
    @Option(help: "Seconds to wait for a card.")
    var timeout: Double = 15

    func validate() throws {
        guard timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout must be between 0 and 3600 seconds") }
    }

    /// Beyond the card's wait, the longest a reader's own transfer timeouts may add.
    static let grace: Double = 5

    func run() throws {
        // The USB transport gives up a transfer that never ends; this deadline is the last resort
        // for whatever else could wait on a broken device (opening, closing): the command ends
        // at it whatever the stack does.
        let deadline = timeout + Self.grace
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: deadline)
            FileHandle.standardError.write(Data("""
                kioskctl: the reader gave no answer within \(Int(deadline)) s; it may have been disconnected: check its cable, \
                then kioskctl reader list

                """.utf8))
            Foundation.exit(2)
        }
        let database = try selection.database()
        let context: USBContext
        do { context = try USBContext() } catch { throw CardOutput.fail("\(error)", code: 2) }
        let transport: any ReaderTransport
        let found: FoundReader
        do {
            (transport, found) = try ReaderDiscovery.openSelected(
                selection: selection.device != nil ? "serial" : selection.select, device: selection.device,
                database: database, context: context)
        } catch { throw CardOutput.fail(error.description, code: 2) }
        defer { transport.close() }
        if !json { FileHandle.standardError.write(Data("reader: \(found)\nplace the card on the reader…\n".utf8)) }
        let reader = SAMReader(transport: transport, timing: found.model.timing)
        let machine = CardPresenceMachine(reader: reader)
        let card: CardRead
        do { card = try machine.waitForCard(timeoutMilliseconds: Int(timeout * 1000)) } catch {
            throw CardOutput.fail(error.description, code: error.isDisconnect ? 2 : 1)
        }
        defer { card.wipe() }
        print(json ? try CardOutput.json(card.identity) : CardOutput.human(card.identity, show: show))
    }
}
