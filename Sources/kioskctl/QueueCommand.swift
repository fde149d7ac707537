import ArgumentParser
import Foundation
import KioskAPI
import Registry

struct QueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "Inspect and repair the offline outbox (kioskd must be running).",
        discussion: """
        The outbox holds every write to the registry (applications, ratings, print records,
        heartbeats) until the registry has it. Items the registry refused, that expired or kept
        failing are dead letters: retry them once the cause is fixed, or purge them (asked first,
        recorded in the audit log).
        Exit codes: 0 done, 2 kioskd is not running or refused (no such item: the line says why),
        64 invalid arguments.
        Examples:
          kioskctl queue status
          kioskctl queue list --dead
          kioskctl queue show 42
          kioskctl queue retry 42 --reason "registry fixed the schema"
          kioskctl queue purge 42 --reason "duplicate, confirmed with the applicant"
        """,
        subcommands: [QueueStatusCommand.self, QueueListCommand.self, QueueShowCommand.self, QueueRetryCommand.self,
                      QueuePurgeCommand.self])
}

func fetch<T: Decodable>(_ daemon: DaemonSocketOptions, _ path: String, as type: T.Type) async throws -> T {
    try await daemon.get(path, as: T.self)
}

func age(_ seconds: Double?) -> String {
    guard let seconds else { return "-" }
    if seconds < 120 { return "\(Int(seconds)) s" }
    if seconds < 7200 { return "\(Int(seconds / 60)) min" }
    if seconds < 172_800 { return "\(Int(seconds / 3600)) h" }
    return "\(Int(seconds / 86400)) d"
}

struct QueueStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Depth, oldest item and dead letters per stream.")
    @OptionGroup var daemon: DaemonSocketOptions
    @Flag(help: "JSON instead of text.") var json = false

    func run() async throws {
        let status = try await fetch(daemon, "/v1/queue", as: OutboxStatus.self)
        if json { return printJSON(status) }
        print("STREAM          WAITING  OLDEST    DEAD  LAST ERROR")
        for s in status.streams {
            print("\(s.stream.rawValue.padding(toLength: 15, withPad: " ", startingAt: 0)) \(String(s.depth).padding(toLength: 8, withPad: " ", startingAt: 0)) \(age(s.oldestAgeSeconds).padding(toLength: 9, withPad: " ", startingAt: 0)) \(String(s.deadLetters).padding(toLength: 5, withPad: " ", startingAt: 0)) \(s.lastError ?? "")")
        }
        print("total: \(status.depth) waiting, \(status.deadLetters) dead letter(s)")
    }
}

struct QueueListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Waiting items (or dead letters), oldest first.")
    @OptionGroup var daemon: DaemonSocketOptions
    @Flag(help: "Dead letters instead of waiting items.") var dead = false
    @Option(help: "Only this stream: applications, ratings, print-records, heartbeats.") var stream: String?
    @Option(help: "At most this many.") var limit: Int = 100
    @Flag(help: "JSON instead of text.") var json = false

    func validate() throws {
        if let stream, SubmissionKind(rawValue: stream) == nil {
            throw ValidationError("--stream must be one of \(SubmissionKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard (1...1000).contains(limit) else { throw ValidationError("--limit must be 1 to 1000") }
    }

    func run() async throws {
        var path = "/v1/queue/items?limit=\(limit)"
        if dead { path += "&dead=true" }
        if let stream { path += "&stream=\(stream)" }
        let items = try await fetch(daemon, path, as: [OutboxItemSummary].self)
        if json { return printJSON(items) }
        if items.isEmpty { print(dead ? "no dead letters" : "nothing waiting") }
        for i in items {
            let why = i.dead ? (i.deadReason ?? "") : (i.lastError ?? "")
            print("\(i.id)\t\(i.stream.rawValue)\t\(i.trackingNumber ?? "-")\tattempts \(i.attempts)\t\(age(-i.createdAt.timeIntervalSinceNow)) old\t\(why)")
        }
    }
}

struct QueueShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "One item with its content (the applicant masked).")
    @OptionGroup var daemon: DaemonSocketOptions
    @Argument(help: "The item's id (from `queue list`).") var id: Int64
    @Flag(help: "JSON instead of text.") var json = false

    func run() async throws {
        let detail = try await fetch(daemon, "/v1/queue/items/\(id)", as: QueueItemDetail.self)
        if json { return printJSON(detail) }
        let i = detail.item
        print("item        \(i.id) (\(i.dead ? "dead letter" : "waiting"))")
        print("stream      \(i.stream.rawValue)")
        print("tracking    \(i.trackingNumber ?? "-")")
        print("key         \(i.idempotencyKey)")
        print("created     \(i.createdAt)")
        print("attempts    \(i.attempts)")
        if let e = i.lastError { print("last error  \(e)") }
        if let r = i.deadReason { print("dead because \(r)") }
        print("content     \(detail.payload)")
    }
}

/// Who runs the command, for the audit trail.
func technicianName() -> String {
    let env = ProcessInfo.processInfo.environment
    return env["SUDO_USER"] ?? env["USER"] ?? "uid \(getuid())"
}

struct QueueRetryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "retry", abstract: "Send a dead letter again (audited).")
    @OptionGroup var daemon: DaemonSocketOptions
    @Argument(help: "The dead letter's id.") var id: Int64
    @Option(help: "Why (recorded).") var reason: String

    func run() async throws {
        let body = try JSONEncoder().encode(QueueOperationRequest(who: technicianName(), why: reason))
        _ = try await daemon.send(.POST, "/v1/queue/items/\(id)/retry", body: body)
        print("item \(id) is queued again")
    }
}

struct QueuePurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "purge",
                                                    abstract: "Remove an item for good (asks first; audited).")
    @OptionGroup var daemon: DaemonSocketOptions
    @Argument(help: "The item's id.") var id: Int64
    @Option(help: "Why (recorded).") var reason: String
    @Flag(help: "Do not ask (for scripts).") var yes = false

    func run() async throws {
        let detail = try await fetch(daemon, "/v1/queue/items/\(id)", as: QueueItemDetail.self)
        if !yes {
            guard isatty(STDIN_FILENO) == 1 else {
                throw CardOutput.fail("purge asks for confirmation: run it on a terminal, or add --yes", code: 2)
            }
            let what = "\(detail.item.stream.rawValue) \(detail.item.trackingNumber ?? "")"
            FileHandle.standardError.write(Data("Purge item \(id) (\(what))? It will never reach the registry. [y/N] ".utf8))
            guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else {
                print("not purged")
                return
            }
        }
        let body = try JSONEncoder().encode(QueueOperationRequest(who: technicianName(), why: reason))
        _ = try await daemon.send(.POST, "/v1/queue/items/\(id)/purge", body: body)
        print("item \(id) purged (recorded in the audit log)")
    }
}
