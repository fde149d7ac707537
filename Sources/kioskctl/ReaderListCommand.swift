import ArgumentParser

struct ReaderListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list",
        abstract: "List the ID-card readers found (USB and serial).")
    func run() async throws { throw NotAvailable(command: "reader list") }
}
