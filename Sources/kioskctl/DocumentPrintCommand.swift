import ArgumentParser

struct DocumentPrintCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "print",
        abstract: "Render a document and print it through CUPS.")
    func run() async throws { throw NotAvailable(command: "document print") }
}
