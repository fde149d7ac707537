import ArgumentParser

struct DocumentVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify",
        abstract: "Verify a printed document's verification code.")
    func run() async throws { throw NotAvailable(command: "document verify") }
}
