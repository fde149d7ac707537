import ArgumentParser
import KioskCore

/// `kioskctl`: the technician's command line.
@main
struct Kioskctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kioskctl",
        abstract: "Diagnose and operate a Yitiji kiosk.",
        discussion: """
        Start with `kioskctl diag`: it says what is wrong and what to do.
        Shell completions: kioskctl --generate-completion-script bash|zsh|fish
        """,
        version: Yitiji.version,
        subcommands: [
            ReaderCommand.self,
            ValidateCommand.self,
            DocumentCommand.self,
            PrinterCommand.self,
            QueueCommand.self,
            ConfigCommand.self,
            DiagCommand.self,
            StatusCommand.self,
            EventsCommand.self,
            MaintenanceCommand.self,
            AuditCommand.self,
            SupportBundleCommand.self,
        ]
    )
}

/// Thrown by commands that are declared but not available in this build.
struct NotAvailable: Error, CustomStringConvertible {
    let command: String
    var description: String { "'\(command)' is not available in this build" }
}
