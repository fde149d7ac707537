import ArgumentParser
import Diagnostics
import Foundation

/// `on` or `off`.
enum MaintenanceMode: String, ExpressibleByArgument, CaseIterable {
    case on, off
}

struct MaintenanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "maintenance",
        abstract: "Take the kiosk out of service for citizens, or put it back.",
        discussion: """
        Maintenance mode is kioskd's: the citizen screen shows that the kiosk is being serviced and \
        no session starts until it is switched off. The reason is recorded in kioskd's audit log.

        Exit codes: 0 done, 1 kioskd refused, 2 kioskd is not running or invalid arguments.

        Examples:
          kioskctl maintenance on --reason "replacing the A4 toner"
          kioskctl maintenance off --reason "toner replaced, test page printed"
        """)

    @Argument(help: ArgumentHelp("on or off.", valueName: "on|off"))
    var mode: MaintenanceMode

    @Option(help: ArgumentHelp("Why (recorded in the audit log), 3–200 characters.", valueName: "text"))
    var reason: String

    @OptionGroup var location: KioskLocationOptions
    @OptionGroup var output: JSONOption

    func validate() throws {
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (3...200).contains(trimmed.count) else {
            throw ValidationError("--reason must say why in 3 to 200 characters")
        }
        guard !trimmed.contains(where: { $0.isNewline }) else { throw ValidationError("--reason must be one line") }
    }

    func run() async throws {
        output.apply()
        let environment = location.environment(verbose: false)
        let client = TechnicianClient(socketPath: environment.technicianSocket)
        do {
            try await client.setMaintenance(on: mode == .on, reason: reason.trimmingCharacters(in: .whitespacesAndNewlines),
                                            timeoutSeconds: location.deadline)
        } catch {
            if error.meansNotRunning {
                throw CardOutput.fail("kioskd is not running: maintenance mode is kioskd's; start it first (systemctl start kioskd), then run this again (\(error))", code: 2)
            }
            if case .status(let code, _) = error {
                throw CardOutput.fail("kioskd refused: \(error)" + (code == 404 ? " (this kioskd has no maintenance mode: update it)" : ""), code: 1)
            }
            throw CardOutput.fail("\(error)", code: 2)
        }
        CardOutput.report("maintenance mode \(mode.rawValue): \(reason)", fields: ["maintenance": mode.rawValue, "reason": reason])
    }
}
