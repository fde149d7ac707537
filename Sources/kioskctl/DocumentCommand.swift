import ArgumentParser

struct DocumentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "document",
        abstract: "Render, print and verify documents.",
        subcommands: [DocumentRenderCommand.self, DocumentVerifyCommand.self, DocumentPrintCommand.self]
    )
}
