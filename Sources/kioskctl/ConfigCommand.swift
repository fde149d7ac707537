import ArgumentParser
import Diagnostics
import Foundation
import KioskAPI
import KioskConfig
import NIOHTTP1

/// Where kioskctl finds kioskd's technician socket.
struct DaemonSocketOptions: ParsableArguments {
    @Option(name: .customLong("socket"), help: "kioskd's technician socket.")
    var socket: String = ProcessInfo.processInfo.environment["YITIJI_TECHNICIAN_SOCKET"] ?? "/run/yitiji/technician.sock"

    var client: TechnicianClient { TechnicianClient(socketPath: socket) }

    /// Sends a request to kioskd; a refusal or a missing kioskd ends the command with its reason.
    func send(_ method: HTTPMethod, _ path: String, body: Data? = nil, accepting: Set<Int> = []) async throws -> Data {
        do { return try await client.send(method, path, body: body, timeoutSeconds: 15) } catch {
            if case let .status(code, text) = error {
                if accepting.contains(code) { return Data(text.utf8) }
                let detail = (try? JSONDecoder().decode(CitizenAPIError.self, from: Data(text.utf8)))?.detail ?? text
                throw CardOutput.fail("kioskd refused (\(code)): \(detail)", code: 2)
            }
            throw CardOutput.fail(error.description + (error.meansNotRunning ? "; start it: systemctl start kioskd" : ""), code: 2)
        }
    }

    /// GETs `path` and decodes the answer (dates in ISO 8601).
    func get<T: Decodable>(_ path: String, as type: T.Type) async throws -> T {
        try decode(T.self, await send(.GET, path), path)
    }

    func decode<T: Decodable>(_ type: T.Type, _ data: Data, _ path: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do { return try decoder.decode(T.self, from: data) } catch {
            throw CardOutput.fail("unexpected answer from kioskd for \(path): \(error)", code: 2)
        }
    }
}

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "The configuration kioskd runs: show it, what changed, its history, roll back, apply a bundle.",
        discussion: """
        Exit codes: 0 done, 1 a bundle rejected or rolled back (apply) or a configuration that does
        not validate (validate names file, line and field), 2 kioskd is not running or refused
        (the line printed says why), 64 invalid arguments.
        Examples:
          kioskctl config show
          kioskctl config diff
          kioskctl config history --json
          kioskctl config rollback --reason "新版菜单有误"
          kioskctl config apply bundle.json
          kioskctl config validate /etc/yitiji          (offline: kioskd is not asked)
        """,
        subcommands: [ConfigShowCommand.self, ConfigDiffCommand.self, ConfigHistoryCommand.self, ConfigRollbackCommand.self,
                      ConfigApplyCommand.self, ConfigValidateCommand.self])
}

func printJSON<T: Encodable>(_ value: T) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    if let data = try? encoder.encode(value) { print(String(decoding: data, as: UTF8.self)) }
}

struct ConfigShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "The configuration in use and its layers.")
    @OptionGroup var daemon: DaemonSocketOptions
    @Flag(help: "JSON instead of text.") var json = false

    func run() async throws {
        let view = try await daemon.get("/v1/config", as: ConfigurationView.self)
        if json { return printJSON(view) }
        print("kiosk       \(view.kioskId) (site \(view.site))")
        print("directory   \(view.directory)")
        print("generation  \(view.generation.map(String.init) ?? "embedded default")")
        print("layers      \(view.layers.isEmpty ? "none" : ConfigGeneration.layerText(view.layers))")
        print("registry    \(view.registryURL)")
        print("trust       \(view.trustedRoot ? "root installed" : "no trusted root: bundles cannot be verified")")
        if let last = view.history.last {
            print("last event  \(last.time) \(last.result) \(last.target ?? "") \(last.version.map { "v\($0)" } ?? "") \(last.reason ?? "")")
        }
    }
}

struct ConfigDiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "diff",
                                                    abstract: "What the configuration in use changed against the one before it.")
    @OptionGroup var daemon: DaemonSocketOptions
    @Flag(help: "JSON instead of text.") var json = false

    func run() async throws {
        let diffs = try await daemon.get("/v1/config/diff", as: [ConfigFileDiff].self)
        if json { return printJSON(diffs) }
        if diffs.isEmpty { print("no differences: the embedded default (or an unchanged generation) is in use") }
        for diff in diffs {
            print("\(diff.change) \(diff.path)")
            for line in diff.lines { print("  \(line)") }
        }
    }
}

struct ConfigHistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history", abstract: "Bundles applied, rejected and rolled back.")
    @OptionGroup var daemon: DaemonSocketOptions
    @Flag(help: "JSON instead of text.") var json = false

    func run() async throws {
        let view = try await daemon.get("/v1/config", as: ConfigurationView.self)
        if json { return printJSON(view.history) }
        if view.history.isEmpty { print("no configuration events yet") }
        for e in view.history {
            print("\(e.time)  \(e.result.padding(toLength: 14, withPad: " ", startingAt: 0)) \(e.target ?? "-") \(e.version.map { "v\($0)" } ?? "")  generation \(e.generation)  \(e.reason ?? "")")
        }
    }
}

struct ConfigRollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rollback",
                                                    abstract: "Return to the previous configuration (recorded in the audit log).")
    @OptionGroup var daemon: DaemonSocketOptions
    @Option(help: "Why (recorded).") var reason: String

    func validate() throws {
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--reason must not be empty") }
    }

    func run() async throws {
        let body = try JSONEncoder().encode(RollbackRequest(reason: reason))
        let view = try daemon.decode(ConfigurationView.self, try await daemon.send(.POST, "/v1/config/rollback", body: body), "/v1/config/rollback")
        print("rolled back: generation \(view.generation.map(String.init) ?? "embedded default") is in use")
    }
}

struct ConfigApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "apply",
                                                    abstract: "Hand a signed bundle to kioskd (verified like one from the registry).")
    @OptionGroup var daemon: DaemonSocketOptions
    @Argument(help: "The signed bundle (JSON envelope).") var bundle: String

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: bundle) else { throw CardOutput.fail("cannot read \(bundle)", code: 2) }
        let event = try daemon.decode(ConfigurationView.Event.self, try await daemon.send(.POST, "/v1/config/bundles", body: data, accepting: [422]),
                                  "/v1/config/bundles")
        if event.result == "committed" {
            print("applied: \(event.target ?? "") v\(event.version ?? 0), generation \(event.generation)")
        } else {
            throw CardOutput.fail("\(event.result): \(event.reason ?? "")", code: 1)
        }
    }
}

struct ConfigValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a configuration folder as kioskd would load it (offline).",
        discussion: """
        Prints what it holds, or the first problem with its file, line and field. Exit 0 valid, 1 invalid.
        Examples:
          kioskctl config validate /etc/yitiji
          kioskctl config validate ./my-site-config
        """)

    @Argument(help: "The folder holding kiosk.yaml, services.yaml, evaluation.yaml and texts.yaml.")
    var directory: String = "/etc/yitiji"

    func run() throws {
        do throws(ConfigurationError) {
            let loaded = try KioskConfiguration.load(from: URL(fileURLWithPath: directory))
            let s = loaded.settings
            print("valid: kiosk \(s.kiosk.id) at \(s.kiosk.site), registry \(s.registry.url), "
                + "\(loaded.services.items.count) service(s), printer roles \(s.printers.keys.sorted().joined(separator: ", ")), "
                + "evaluation form v\(loaded.evaluation.version)")
        } catch {
            throw CardOutput.fail("invalid: \(error)", code: 1)
        }
    }
}
