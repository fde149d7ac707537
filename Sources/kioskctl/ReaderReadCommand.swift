import ArgumentParser

struct ReaderReadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "read",
        abstract: "Wait for a card and print it.")
    func run() async throws { throw NotAvailable(command: "reader read") }
}
