import ArgumentParser

struct PrinterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "printer",
        abstract: "Inspect printers and print test pages.",
        subcommands: []
    )
}
