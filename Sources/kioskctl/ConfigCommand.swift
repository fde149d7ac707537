import ArgumentParser
import Foundation
import KioskAPI
import KioskClient

/// Where kioskctl finds kioskd's technician socket.
struct DaemonSocketOptions: ParsableArguments {
    @Option(name: .customLong("socket"), help: "kioskd's technician socket.")
    var socket: String = ProcessInfo.processInfo.environment["YITIJI_TECHNICIAN_SOCKET"] ?? "/run/yitiji/technician.sock"

    var client: TechnicianSocketClient { TechnicianSocketClient(socketPath: socket) }
}

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "The configuration kioskd runs: show it, what changed, its history, roll back, apply a bundle.",
        discussion: """
        Examples:
          kioskctl config show
          kioskctl config diff
          kioskctl config history --json
          kioskctl config rollback --reason "新版菜单有误"
          kioskctl config apply bundle.json
        """,
        subcommands: [ConfigShowCommand.self, ConfigDiffCommand.self, ConfigHistoryCommand.self, ConfigRollbackCommand.self,
                      ConfigApplyCommand.self])
}

func printJSON<T: Encodable>(_ value: T) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    if let data = try? encoder.encode(value) { print(String(decoding: data, as: UTF8.self)) }
}

func failDaemon(_ error: TechnicianClientError) -> Never {
    CardOutput.fail(error.description, code: 2)
}

struct ConfigShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "The configuration in use and its layers.")
    @OptionGroup var daemon: DaemonSocketOptions
    @Flag(help: "JSON instead of text.") var json = false

    func run() async throws {
        let view: ConfigurationView
        do { view = try await daemon.client.configuration() } catch { failDaemon(error) }
        if json { return printJSON(view) }
        print("kiosk       \(view.kioskId) (site \(view.site))")
        print("directory   \(view.directory)")
        print("generation  \(view.generation.map(String.init) ?? "embedded default")")
        print("layers      \(view.layers.isEmpty ? "none" : view.layers.sorted { $0.key < $1.key }.map { "\($0.key) v\($0.value)" }.joined(separator: ", "))")
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
        let diffs: [ConfigFileDiff]
        do { diffs = try await daemon.client.configurationDiff() } catch { failDaemon(error) }
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
        let view: ConfigurationView
        do { view = try await daemon.client.configuration() } catch { failDaemon(error) }
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
        let view: ConfigurationView
        do { view = try await daemon.client.rollbackConfiguration(reason: reason) } catch { failDaemon(error) }
        print("rolled back: generation \(view.generation.map(String.init) ?? "embedded default") is in use")
    }
}

struct ConfigApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "apply",
                                                    abstract: "Hand a signed bundle to kioskd (verified like one from the registry).")
    @OptionGroup var daemon: DaemonSocketOptions
    @Argument(help: "The signed bundle (JSON envelope).") var bundle: String

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: bundle) else { CardOutput.fail("cannot read \(bundle)", code: 2) }
        let event: ConfigurationView.Event
        do { event = try await daemon.client.applyBundle(data) } catch { failDaemon(error) }
        if event.result == "committed" {
            print("applied: \(event.target ?? "") v\(event.version ?? 0), generation \(event.generation)")
        } else {
            CardOutput.fail("\(event.result): \(event.reason ?? "")", code: 1)
        }
    }
}
