import ArgumentParser
import Foundation
import Hummingbird
import KioskCore
import Registry
import RegistryServer

/// `registryd`: the reference central registry.
@main
struct Registryd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registryd",
        abstract: "The reference central registry for Yitiji kiosks.",
        discussion: """
            Examples:
              registryd --db /var/lib/registryd/registry.sqlite --listen 127.0.0.1:8480 --seed demo-seed.json
              registryd kiosk add KIOSK-0001 --public-key BASE64 --db /var/lib/registryd/registry.sqlite
              registryd kiosk list --db /var/lib/registryd/registry.sqlite
            """,
        version: KioskCore.version,
        subcommands: [Serve.self, Kiosk.self],
        defaultSubcommand: Serve.self)
}

/// Serves the HTTP API.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the registry's HTTP API (the default).")

    @Option(help: "The SQLite database file (created if missing).")
    var db: String
    @Option(help: "HOST:PORT to listen on.")
    var listen: String = "127.0.0.1:8480"
    @Option(help: "A seed file to load first (all of it or nothing).")
    var seed: String?
    @Flag(help: "Answer GET /v1/enterprises… (public data) without a kiosk signature. For benchmarks and demos only.")
    var publicReads = false
    @Option(help: "Days idempotency keys are remembered (at least 7).")
    var idempotencyDays: Int = 8

    func validate() throws {
        let parts = listen.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]), (0...65535).contains(port) else {
            throw ValidationError("--listen must be HOST:PORT, e.g. 127.0.0.1:8480")
        }
        guard idempotencyDays >= 7 else { throw ValidationError("--idempotency-days must be at least 7") }
    }

    func run() async throws {
        let store = try SQLiteRegistryStore(path: db)
        if let seed {
            guard let data = FileManager.default.contents(atPath: seed) else { throw ValidationError("cannot read \(seed)") }
            let parsed: RegistrySeed
            do { parsed = try RegistrySeed.load(data) } catch {
                FileHandle.standardError.write(Data("registryd: \(seed): \(error.description); nothing was loaded\n".utf8))
                throw ExitCode(2)
            }
            try await store.load(parsed)
            FileHandle.standardError.write(Data("registryd: loaded \(parsed.enterprises.count) enterprises and \(parsed.persons.count) persons\n".utf8))
        }
        var options = RegistryOptions()
        options.publicReads = publicReads
        options.idempotencyRetention = TimeInterval(idempotencyDays) * 24 * 3600
        if publicReads {
            FileHandle.standardError.write(Data("registryd: --public-reads: enterprise reads need no signature (benchmarks and demos only)\n".utf8))
        }
        let parts = listen.split(separator: ":")
        let router = Router(context: RegistryRequestContext.self)
        RegistryRoutes.add(to: router, store: store, options: options)
        let app = Application(router: router, configuration: .init(address: .hostname(String(parts[0]), port: Int(parts[1]) ?? 8480)))
        try await app.runService()
    }
}

/// Registers and lists kiosks.
struct Kiosk: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Register, list and remove kiosks.",
                                                    subcommands: [Add.self, List.self, Remove.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a kiosk's Ed25519 public key (or replace it).")
        @Argument(help: "The kiosk ID (1 to 64 of A-Z a-z 0-9 . _ -).")
        var id: String
        @Option(help: "Base64 of the kiosk's raw 32-byte Ed25519 public key.")
        var publicKey: String
        @Option(help: "A note, e.g. where the kiosk stands.")
        var note: String = ""
        @Option(help: "The SQLite database file.")
        var db: String

        func run() async throws {
            guard let raw = Data(base64Encoded: publicKey.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw ValidationError("--public-key must be base64 of the 32-byte Ed25519 public key")
            }
            do {
                try await SQLiteRegistryStore(path: db).addKiosk(id: id, publicKey: raw, note: note)
            } catch let error as StoreError {
                throw ValidationError(error.description)
            }
            print("registered kiosk \(id)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List registered kiosks.")
        @Option(help: "The SQLite database file.")
        var db: String
        @Flag(help: "JSON output.")
        var json = false

        func run() async throws {
            let kiosks = try await SQLiteRegistryStore(path: db).kiosks()
            if json {
                print(String(decoding: try RegistryJSON.encoder().encode(kiosks), as: UTF8.self))
                return
            }
            for k in kiosks {
                let seen = k.lastHeartbeatAt.map { ISO8601DateFormatter().string(from: $0) } ?? "never"
                print("\(k.id)\t\(k.publicKey)\tlast heartbeat \(seen)\t\(k.note)")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a kiosk: its requests are refused from now on.")
        @Argument var id: String
        @Option(help: "The SQLite database file.")
        var db: String

        func run() async throws {
            guard try await SQLiteRegistryStore(path: db).removeKiosk(id: id) else {
                FileHandle.standardError.write(Data("registryd: no kiosk \(id)\n".utf8))
                throw ExitCode(1)
            }
            print("removed kiosk \(id)")
        }
    }
}
