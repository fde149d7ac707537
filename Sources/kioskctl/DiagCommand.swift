import ArgumentParser
import Diagnostics
import Foundation
import KioskConfig

/// Where kioskd and its files are: shared by diag, maintenance and support-bundle.
struct KioskLocationOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The configuration directory (default: $YITIJI_CONFIG_DIR, the applied bundle under <state-dir>/config/current, /etc/yitiji, else the embedded default).", valueName: "dir"))
    var config: String?

    @Option(name: .customLong("state-dir"), help: ArgumentHelp("kioskd's state directory (default: $YITIJI_STATE_DIR or /var/lib/yitiji).", valueName: "dir"))
    var stateDirectory: String?

    @Option(name: .customLong("keys-dir"), help: ArgumentHelp("kioskd's keys directory (default: $YITIJI_KEYS_DIR or <state-dir>-keys).", valueName: "dir"))
    var keysDirectory: String?

    @Option(name: .customLong("credential-store"), help: ArgumentHelp("Where yitiji-seal-keys keeps the sealed keys (default: $YITIJI_CREDENTIAL_STORE or /etc/credstore.encrypted).", valueName: "dir"))
    var credentialStore: String?

    @Option(name: .customLong("runtime-dir"), help: ArgumentHelp("kioskd's runtime directory (default: $YITIJI_RUNTIME_DIR or /run/yitiji).", valueName: "dir"))
    var runtimeDirectory: String?

    @Option(help: ArgumentHelp("kioskd's technician socket (default: $YITIJI_TECHNICIAN_SOCKET or <runtime-dir>/technician.sock).", valueName: "path"))
    var socket: String?

    @Option(name: .customLong("cups-spool"), help: ArgumentHelp("The CUPS spool directory, for the disk check.", valueName: "dir"))
    var cupsSpool: String = "/var/spool/cups"

    @Option(help: ArgumentHelp("The reader model database (default: the installed drivers/readers/models.json).", valueName: "file"))
    var models: String?

    @Option(help: ArgumentHelp("Seconds each check may take before it is abandoned (1–60).", valueName: "seconds"))
    var deadline: Double = 5

    func validate() throws {
        guard deadline >= 1, deadline <= 60 else { throw ValidationError("--deadline must be between 1 and 60 seconds") }
    }

    /// The environment for a run; kioskd's figures come from its technician socket when it answers.
    func environment(verbose: Bool) -> DiagnosticEnvironment {
        let env = ProcessInfo.processInfo.environment
        func nonEmpty(_ key: String) -> String? { env[key].flatMap { $0.isEmpty ? nil : $0 } }
        let runtime = URL(fileURLWithPath: runtimeDirectory ?? nonEmpty("YITIJI_RUNTIME_DIR") ?? "/run/yitiji")
        let state = URL(fileURLWithPath: stateDirectory ?? nonEmpty("YITIJI_STATE_DIR") ?? "/var/lib/yitiji")
        // The configuration in use: the one named, else the applied bundle generation, else the default.
        let applied = state.appendingPathComponent("config/current")
        var configDirectory: URL
        if let config {
            configDirectory = URL(fileURLWithPath: config)
        } else if nonEmpty("YITIJI_CONFIG_DIR") == nil, FileManager.default.fileExists(atPath: applied.appendingPathComponent("kiosk.yaml").path) {
            configDirectory = applied
        } else {
            configDirectory = KioskConfiguration.defaultDirectory()
        }
        // A site directory holding only what the site changed, laid over the packaged defaults as kioskd does.
        let work = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("yitiji-kioskctl-\(getuid())")
        if let merged = try? SiteLayer.resolve(configDirectory, workDirectory: work) { configDirectory = merged }
        var environment = DiagnosticEnvironment(
            configDirectory: configDirectory,
            stateDirectory: state,
            runtimeDirectory: runtime,
            technicianSocket: socket ?? nonEmpty("YITIJI_TECHNICIAN_SOCKET"),
            cupsServer: nonEmpty("CUPS_SERVER"),
            cupsSpoolDirectory: URL(fileURLWithPath: cupsSpool),
            readerModelsPath: models,
            checkDeadlineSeconds: deadline,
            verbose: verbose)
        environment.keysDirectoryOverride = (keysDirectory ?? nonEmpty("YITIJI_KEYS_DIR")).map { URL(fileURLWithPath: $0) }
        if let store = credentialStore ?? nonEmpty("YITIJI_CREDENTIAL_STORE") { environment.credentialStore = URL(fileURLWithPath: store) }
        let client = TechnicianClient(socketPath: environment.technicianSocket)
        if client.probe() == nil {
            let providers = TechnicianSocketProviders(client: client, timeoutSeconds: min(3, deadline))
            environment.outbox = providers
            environment.heartbeat = providers
            environment.reader = providers
            environment.verifier = providers
        }
        return environment
    }
}

/// The areas `diag AREA` accepts.
enum DiagArea: String, ExpressibleByArgument, CaseIterable {
    case reader, printer, registry, keys, queue, config, disk, verifier

    var areas: Set<DiagnosticArea> {
        switch self {
        case .reader: return [.reader]
        case .printer: return [.printer]
        case .registry: return [.registry]
        case .queue: return [.queue]
        case .config: return [.config]
        case .keys: return [.keys]
        case .disk: return [.system]
        case .verifier: return [.verifier]
        }
    }
}

struct DiagCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diag",
        abstract: "Find out why the kiosk does not work, and what to do.",
        discussion: """
        Runs every check and prints a table: check, status (ok, warn, fail), detail, what to do. \
        kioskd is checked first; when it is down, diag says so and checks what it can directly \
        (USB and serial readers, CUPS queues, the network, the disk, the configuration). Each check \
        has 5 seconds by default (--deadline): a hung device cannot hang diag.

        Checks: daemon, reader, printer.<role> (one per printer role in kiosk.yaml), registry, \
        identity, keys, heartbeat, outbox, disk, config, freshness, verifier (the person–card \
        verifier: probed through kioskd, or directly when kioskd is down).

        Exit codes: 0 all ok, 1 warnings, 2 failures. Colour only on a terminal, never with NO_COLOR set.

        Examples:
          kioskctl diag
          kioskctl diag --json
          kioskctl diag printer --verbose
          kioskctl diag reader --deadline 10

        Shell completions: kioskctl --generate-completion-script bash|zsh|fish
        """)

    @Argument(help: ArgumentHelp("One area: reader, printer, registry, queue, config or disk (default: all).", valueName: "area"))
    var area: DiagArea?

    @Flag(help: "Print {\"checks\": [{\"id\", \"status\", \"detail\", \"action\"}]} as JSON.")
    var json = false

    @Flag(name: [.short, .long], help: "Add raw detail: reader frames in hex, IPP attributes, HTTP answers.")
    var verbose = false

    @OptionGroup var location: KioskLocationOptions

    func run() async throws {
        let environment = location.environment(verbose: verbose)
        let report = await DiagnosticRunner(environment: environment).run(areas: area?.areas)
        if json {
            print(report.json(verbose: verbose))
        } else {
            let isTerminal = isatty(STDOUT_FILENO) == 1
            let formatter = TableFormatter(colour: TableFormatter.wantsColour(isTerminal: isTerminal),
                                           width: TerminalSize.columns(isTerminal: isTerminal), verbose: verbose)
            print(formatter.render(report))
        }
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}

/// The terminal's width.
enum TerminalSize {
    static func columns(isTerminal: Bool) -> Int {
        if let text = ProcessInfo.processInfo.environment["COLUMNS"], let value = Int(text), value >= 60 { return value }
        if isTerminal {
            var size = winsize()
            if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col >= 60 { return Int(size.ws_col) }
        }
        return 140
    }
}
