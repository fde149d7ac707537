import ArgumentParser

struct ReaderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reader",
        abstract: "Find, read and decode ID-card readers.",
        subcommands: [ReaderListCommand.self, ReaderReadCommand.self, ReaderWatchCommand.self, ReaderDecodeCommand.self]
    )
}
