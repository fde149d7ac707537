import ArgumentParser

struct ReaderDecodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "decode",
        abstract: "Decode reader response frames (hex on stdin) into a card.")
    func run() async throws { throw NotAvailable(command: "reader decode") }
}
