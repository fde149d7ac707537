import ArgumentParser
import Foundation
import KioskConfig
import KioskCore
import KioskDaemon
import SystemdSupport
import Logging

/// `kioskd`: the kiosk's daemon.
@main
struct KioskdCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kioskd",
        abstract: "The kiosk daemon: reader, printers, sessions, registry, local API.",
        discussion: """
        Configuration from /etc/yitiji (else the embedded kiosk-config/), state in /var/lib/yitiji,
        sockets in /run/yitiji; each can be overridden. Stops gracefully on SIGTERM or SIGINT.
        Examples:
          kioskd
          kioskd --config ./kiosk-config --state /tmp/k/state --runtime /tmp/k/run --metrics-port 9464
        """,
        version: Yitiji.version)

    @Option(help: "Configuration directory.")
    var config: String?
    @Option(help: "State directory.")
    var state: String = "/var/lib/yitiji"
    @Option(help: "Runtime directory (sockets).")
    var runtime: String = "/run/yitiji"
    @Option(help: "Directory of the keys that protect the state (outbox.key, audit.secret), mode 0700, apart from the state (default: the state directory's path followed by -keys).")
    var keys: String?
    @Option(help: "Group allowed on the citizen socket.")
    var citizenGroup: String?
    @Option(help: "Group allowed on the technician socket (otherwise owner only).")
    var technicianGroup: String?
    @Option(help: "Serve Prometheus metrics on 127.0.0.1 at this port.")
    var metricsPort: Int?
    @Option(help: "Use the in-process reader simulator, controlled through this FIFO (place …, remove).")
    var simulatorControl: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"
    @Flag(help: "Make the kiosk's registry key and document signing key if missing, print what central operations must register, and exit.")
    var enrol = false
    @Flag(help: "Trust the demonstration fleet's public keys (demos and tests only); without it kioskd refuses to start with them.")
    var demo = false

    func validate() throws {
        if let metricsPort, !(1...65535).contains(metricsPort) { throw ValidationError("--metrics-port must be 1 to 65535") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level '\(logLevel)' is not a log level") }
    }

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        // A parent may have left these blocked; shutdown depends on them.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for sig in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&unblock, sig) }
        sigprocmask(SIG_UNBLOCK, &unblock, nil)
        // Everything kioskd creates (state, sockets before their mode is set) is its own alone.
        umask(0o077)
        let level = Logger.Level(rawValue: logLevel) ?? .info
        // Under systemd, lines carry their priority for the journal; elsewhere, timestamps.
        let journal = JournalLogHandler.standardErrorIsJournal()
        LoggingSystem.bootstrap { label in
            if journal {
                var handler = JournalLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let siteDirectory = config.map { URL(fileURLWithPath: $0) } ?? KioskConfiguration.defaultDirectory()
        // A site directory holding only what the site changed is laid over the packaged defaults.
        let configDirectory: URL
        let work = enrol ? URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("yitiji-enrol-\(getpid())") : URL(fileURLWithPath: runtime)
        do { configDirectory = try SiteLayer.resolve(siteDirectory, workDirectory: work) } catch {
            FileHandle.standardError.write(Data("kioskd: \(error)\n".utf8))
            throw ExitCode(78)
        }
        if enrol {
            do {
                let stateURL = URL(fileURLWithPath: state)
                print(try KioskEnrolment.ensureKey(configDirectory: configDirectory, stateDirectory: stateURL))
                let documentKey = try KioskEnrolment.ensureDocumentKey(stateDirectory: stateURL)
                print("document signing key: \(documentKey) (kioskd registers it at the registry when it starts)")
            } catch {
                FileHandle.standardError.write(Data("kioskd: \(error)\n".utf8))
                throw ExitCode(78)
            }
            return
        }
        var options = DaemonOptions(configDirectory: configDirectory, stateDirectory: URL(fileURLWithPath: state),
                                    runtimeDirectory: URL(fileURLWithPath: runtime), citizenGroup: citizenGroup,
                                    technicianGroup: technicianGroup, metricsPort: metricsPort,
                                    simulatorControl: simulatorControl)
        options.allowDemoKeys = demo
        options.siteDirectory = siteDirectory
        options.keysDirectory = keys.map { URL(fileURLWithPath: $0) }
        let daemon: Kioskd
        do { daemon = try Kioskd(options: options) } catch {
            FileHandle.standardError.write(Data("kioskd: \(error)\n".utf8))
            throw ExitCode(78) // EX_CONFIG: systemd does not restart in a loop on a bad configuration
        }
        try await daemon.run()
    }
}
