import ArgumentParser

struct DocumentRenderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "render",
        abstract: "Render a document to PDF.")
    func run() async throws { throw NotAvailable(command: "document render") }
}
