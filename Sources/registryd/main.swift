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
        discussion: "Example: registryd --db /var/lib/registryd/registry.sqlite --listen 127.0.0.1:8480 --seed demo-seed.json",
        version: KioskCore.version)

    @Option(help: "The SQLite database file (created if missing).")
    var db: String
    @Option(help: "HOST:PORT to listen on.")
    var listen: String = "127.0.0.1:8480"
    @Option(help: "A seed file to load first (all of it or nothing).")
    var seed: String?

    func validate() throws {
        let parts = listen.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]), (0...65535).contains(port) else {
            throw ValidationError("--listen must be HOST:PORT, e.g. 127.0.0.1:8480")
        }
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
        let parts = listen.split(separator: ":")
        let router = Router()
        RegistryRoutes.add(to: router, store: store)
        let app = Application(router: router, configuration: .init(address: .hostname(String(parts[0]), port: Int(parts[1]) ?? 8480)))
        try await app.runService()
    }
}
