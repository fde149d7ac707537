import ArgumentParser
import Foundation
import Hummingbird
import NIOSSL
import KioskConfig
import KioskCore
import Logging
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle
import SystemdSupport
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
              registryd kiosk add HALL1-W03 --role counter --site hall-1 --public-key BASE64 --db /var/lib/registryd/registry.sqlite
              registryd kiosk import hall-2-kiosks.txt --db /var/lib/registryd/registry.sqlite
              registryd kiosk list --db /var/lib/registryd/registry.sqlite
              registryd hall call --site hall-1 --queue A --counter 3 --db /var/lib/registryd/registry.sqlite
              registryd appointments import today.json --db /var/lib/registryd/registry.sqlite
              registryd applications set-status SQ-20261203-00000042 --status approved --db /var/lib/registryd/registry.sqlite
              registryd config publish bundle.json --target fleet --stage 10 --db /var/lib/registryd/registry.sqlite
            """,
        version: Yitiji.version,
        subcommands: [Serve.self, Kiosk.self, Hall.self, Appointments.self, Applications.self, Deliveries.self, Config.self],
        defaultSubcommand: Serve.self)
}

/// Where registryd keeps its data: a SQLite file (the default) or a PostgreSQL database.
struct StoreOptions: ParsableArguments {
    @Option(help: "The SQLite database file (created if missing).")
    var db: String?
    @Option(help: "PostgreSQL instead of SQLite: the server's Unix socket file, e.g. /run/postgresql/.s.PGSQL.5432.")
    var postgresSocket: String?
    @Option(help: "PostgreSQL instead of SQLite: HOST:PORT (password from REGISTRYD_POSTGRES_PASSWORD).")
    var postgresAddress: String?
    @Option(help: "The PostgreSQL user.")
    var postgresUser: String = "registry"
    @Option(help: "The PostgreSQL database.")
    var postgresDatabase: String = "registry"

    func validate() throws {
        let chosen = [db != nil, postgresSocket != nil, postgresAddress != nil].filter { $0 }.count
        guard chosen == 1 else { throw ValidationError("give exactly one of --db FILE, --postgres-socket PATH, --postgres-address HOST:PORT") }
        if let address = postgresAddress {
            let parts = address.split(separator: ":")
            guard parts.count == 2, let port = Int(parts[1]), (1...65535).contains(port) else {
                throw ValidationError("--postgres-address must be HOST:PORT, e.g. 127.0.0.1:5432")
            }
        }
    }

    /// Opens the store and runs `body` with it; a PostgreSQL pool runs alongside until `body` ends,
    /// and with `watched` (the server) the probe that tells requests when PostgreSQL is away.
    func with<T: Sendable>(watched: Bool = false, _ body: @escaping @Sendable (any RegistryStore) async throws -> T) async throws -> T {
        if let db { return try await body(try SQLiteRegistryStore(path: db)) }
        let parts = (postgresAddress ?? "").split(separator: ":")
        let endpoint = PostgresEndpoint(
            unixSocketPath: postgresSocket, host: parts.first.map(String.init) ?? "127.0.0.1", port: parts.count == 2 ? Int(parts[1]) ?? 5432 : 5432,
            username: postgresUser, password: ProcessInfo.processInfo.environment["REGISTRYD_POSTGRES_PASSWORD"], database: postgresDatabase)
        let client = PostgresRegistryStore.makeClient(endpoint)
        let availability = watched ? StoreAvailability() : nil
        let store = PostgresRegistryStore(client: client, availability: availability)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { await client.run(); return nil }
            if let availability {
                group.addTask { await availability.run(probe: PostgresProbe(endpoint: endpoint)); return nil }
            }
            group.addTask {
                try await store.migrate()
                return try await body(store)
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let value = next { return value }
            }
            throw ValidationError("the PostgreSQL client stopped")
        }
    }
}

/// Serves the HTTP API.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the registry's HTTP API (the default).")

    @OptionGroup var store: StoreOptions
    @Option(help: "HOST:PORT to listen on.")
    var listen: String = "127.0.0.1:8480"
    @Option(help: "A seed file to load first (all of it or nothing).")
    var seed: String?
    @Flag(help: "Answer GET /v1/enterprises… (public data) without a kiosk signature. For benchmarks and demos only.")
    var publicReads = false
    @Flag(help: "Accept the demonstration document key as a kiosk's (its private half is public). For demos and tests only.")
    var demo = false
    @Option(help: "Days idempotency keys are remembered (at least 7).")
    var idempotencyDays: Int = 8
    @Option(help: "How long the parties named in an establishment application have to confirm it, from its arrival: 7d, 72h, 30m or 90s (10s to 30d).")
    var confirmationWindow: String = "7d"
    @Option(help: "Seconds a signer's key and role are remembered between database reads (0 to 300). A kiosk removed or re-keyed with `registryd kiosk` is then treated as such only within this time; 0, the default, reads on every request and a removal holds at once.")
    var keyMemorySeconds: Int = 0
    @Option(help: "Most connections open at once; more wait in the listen backlog.")
    var maxConnections: Int = 4096
    @Option(help: "Seconds a connection may take to send a request's head (from connecting, or after the previous answer); then it is closed. Keep it above the 15 s after which kiosks close idle connections themselves.")
    var headerTimeout: Int = 20
    @Option(help: "Seconds a request's body may take to arrive after its head; then the connection is closed.")
    var bodyTimeout: Int = 30
    @Option(help: "Serve HTTPS with this PEM certificate chain (with --tls-key). Kiosks pin the CA that issued it.")
    var tlsCertificate: String?
    @Option(help: "The PEM private key of --tls-certificate.")
    var tlsKey: String?
    @Option(help: "The online timestamp key (base64 Ed25519, mode 0600) the fleet root names: every configuration answer carries a statement it signs, so kiosks can tell a frozen feed.")
    var timestampKey: String?
    @Option(help: "Hours a freshness statement holds.")
    var statementHours: Int = 24
    @Option(help: "Serve Prometheus metrics (requests by route and status, durations) on 127.0.0.1 at this port.")
    var metricsPort: Int?
    @Option(help: "Bundle downloads per second this replica spreads a fleet or site publish over: the kiosks it tells at once download over (kiosks ÷ this) seconds, at most 30; 0 downloads at once.")
    var bundleDownloadsPerSecond: Int = 500

    /// `7d`, `72h`, `30m`, `90s` in seconds.
    static func duration(_ text: String) -> TimeInterval? {
        guard let unit = text.last, let value = Int(text.dropLast()), value > 0, value < 1_000_000 else { return nil }
        switch unit {
        case "d": return TimeInterval(value) * 86_400
        case "h": return TimeInterval(value) * 3600
        case "m": return TimeInterval(value) * 60
        case "s": return TimeInterval(value)
        default: return nil
        }
    }

    func validate() throws {
        let parts = listen.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]), (0...65535).contains(port) else {
            throw ValidationError("--listen must be HOST:PORT, e.g. 127.0.0.1:8480")
        }
        guard idempotencyDays >= 7 else { throw ValidationError("--idempotency-days must be at least 7") }
        guard (0...1_000_000).contains(bundleDownloadsPerSecond) else {
            throw ValidationError("--bundle-downloads-per-second must be 0 (no spread) to 1000000")
        }
        guard let window = Self.duration(confirmationWindow), (10...30 * 86_400).contains(window) else {
            throw ValidationError("--confirmation-window is a number and a unit (d, h, m or s) from 10s to 30d, e.g. 7d, not '\(confirmationWindow.prefix(20))'")
        }
        guard (1...1_000_000).contains(maxConnections) else { throw ValidationError("--max-connections must be 1 to 1000000") }
        guard (tlsCertificate == nil) == (tlsKey == nil) else {
            throw ValidationError("give --tls-certificate and --tls-key together")
        }
        guard (0...300).contains(keyMemorySeconds) else { throw ValidationError("--key-memory-seconds must be 0 to 300") }
        guard (1...24 * 30).contains(statementHours) else { throw ValidationError("--statement-hours must be 1 to 720") }
        if let metricsPort, !(1...65535).contains(metricsPort) { throw ValidationError("--metrics-port must be 1 to 65535") }
        guard (1...3600).contains(headerTimeout), (1...3600).contains(bodyTimeout) else {
            throw ValidationError("--header-timeout and --body-timeout must be 1 to 3600 seconds")
        }
    }

    func run() async throws {
        if JournalLogHandler.standardErrorIsJournal() {
            LoggingSystem.bootstrap { JournalLogHandler(label: $0) }
        }
        try await self.store.with(watched: true) { store in try await serve(store) }
    }

    func serve(_ store: any RegistryStore) async throws {
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
        options.confirmationWindow = Self.duration(confirmationWindow) ?? Openings.defaultWindow
        options.statementValidity = TimeInterval(statementHours) * 3600
        options.acceptDemoKeys = demo
        options.keyMemory = TimeInterval(keyMemorySeconds)
        options.bundleDownloadsPerSecond = bundleDownloadsPerSecond
        if let timestampKey {
            do { options.timestampKey = try BundleSigning.loadPrivateKey(path: timestampKey) } catch {
                FileHandle.standardError.write(Data("registryd: --timestamp-key: \(error); give the private key whose public half the fleet root names as timestamp key\n".utf8))
                throw ExitCode(78)
            }
        }
        if publicReads {
            FileHandle.standardError.write(Data("registryd: --public-reads: enterprise reads need no signature (benchmarks and demos only)\n".utf8))
        }
        let parts = listen.split(separator: ":")
        let router = Router(context: RegistryRequestContext.self)
        var metricsApp: (any Service)?
        if let metricsPort {
            // Hummingbird's metrics middleware feeds swift-metrics, which Prometheus collects.
            let collector = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: collector))
            router.add(middleware: MetricsMiddleware())
            let metricsRouter = Router()
            metricsRouter.get("metrics") { _, _ in
                Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                         body: .init(byteBuffer: ByteBuffer(string: collector.emitToString())))
            }
            metricsApp = Application(router: metricsRouter, configuration: .init(address: .hostname("127.0.0.1", port: metricsPort)))
        }
        let parking = RegistryRoutes.add(to: router, store: store, options: options)
        let limits = ConnectionLimits(maxConnections: maxConnections, headerTimeout: .seconds(Int64(headerTimeout)),
                                      bodyTimeout: .seconds(Int64(bodyTimeout)))
        var tls: TLSConfiguration?
        if let tlsCertificate, let tlsKey {
            do { tls = try ConnectionLimits.tlsConfiguration(certificateFile: tlsCertificate, keyFile: tlsKey) } catch {
                FileHandle.standardError.write(Data("registryd: \(error)\n".utf8))
                throw ExitCode(78)
            }
        } else if !Loopback.isLoopback(String(parts[0])) {
            FileHandle.standardError.write(Data("registryd: serving plain HTTP on \(parts[0]): ID numbers cross the network in clear; give --tls-certificate and --tls-key\n".utf8))
        }
        let app = Application(router: router, server: try limits.server(tls: tls, parking: parking),
                              configuration: limits.configuration(address: .hostname(String(parts[0]), port: Int(parts[1]) ?? 8480)))
        guard let metricsApp else { return try await app.runService() }
        let group = ServiceGroup(configuration: .init(services: [.init(service: app), .init(service: metricsApp)],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: Logger(label: "registryd")))
        try await group.run()
    }
}

/// Registers and lists kiosks.
struct Kiosk: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Register, list and remove kiosks, hall counters and the booking system.",
                                                    subcommands: [Add.self, Import.self, List.self, Status.self, Remove.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a kiosk's Ed25519 public key (or replace it); also a hall counter's, the booking system's or the back office's.",
            discussion: "Registering a known key again updates its note, role and site.")
        @Argument(help: "The kiosk ID (1 to 64 of A-Z a-z 0-9 . _ -).")
        var id: String
        @Option(help: "Base64 of the kiosk's raw 32-byte Ed25519 public key.")
        var publicKey: String
        @Option(help: "A note, e.g. where the kiosk stands.")
        var note: String = ""
        @Option(help: "What the key may do: kiosk, counter (calls numbers at its site), booking (stores appointments) or backoffice (moves applications on).")
        var role: String = "kiosk"
        @Option(help: "The site (hall) a kiosk or counter stands in: its tickets, check-ins and calls are for this site only.")
        var site: String?
        @Flag(help: "Replace the key of a kiosk registered with another one (the kiosk holding the old key is locked out).")
        var replace = false
        @OptionGroup var store: StoreOptions

        func run() async throws {
            guard let raw = Data(base64Encoded: publicKey.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw ValidationError("--public-key must be base64 of the 32-byte Ed25519 public key")
            }
            guard let role = PrincipalRole(rawValue: role) else {
                throw ValidationError("--role must be one of \(PrincipalRole.allCases.map(\.rawValue).joined(separator: ", ")), not '\(role)'")
            }
            let (id, note, replace, site) = (self.id, self.note, self.replace, self.site)
            let outcome: String
            do {
                outcome = try await store.with { store -> String in
                    var verb = "registered"
                    var (note, site) = (note, site)
                    if let existing = try await store.principal(id: id) {
                        let entry = try await store.kiosks().first { $0.id == id }
                        if existing.publicKey == raw {
                            if role == existing.role, site == nil || site == existing.site, note.isEmpty || note == entry?.note {
                                return "\(role.rawValue) \(id) is already registered with this key"
                            }
                            verb = "updated"
                        } else if !replace {
                            throw ValidationError("\(existing.role.rawValue) \(id) is registered with another key; replacing it locks out the one that holds the old key: add --replace if that is meant")
                        }
                        if note.isEmpty { note = entry?.note ?? "" }
                        if site == nil { site = existing.site }
                    }
                    try await store.addPrincipal(id: id, publicKey: raw, note: note, role: role, site: site)
                    return "\(verb) \(role.rawValue) \(id)" + (site.map { " at site \($0)" } ?? "")
                }
            } catch let error as StoreError {
                throw ValidationError(error.description)
            }
            print(outcome)
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a roll-out's kiosks from a list, all in one transaction.",
            discussion: """
                The list has one line per kiosk: ID PUBLIC-KEY [SITE] (the key base64 of its raw 32-byte Ed25519 public key);
                blank lines and lines starting with # are skipped. All of it is registered or none of it: a bad line, an ID
                listed twice or a kiosk registered with another key (without --replace) stops it. A known kiosk keeps its site
                and note unless the list or --note gives others.
                  registryd kiosk import hall-1-kiosks.txt --db /var/lib/registryd/registry.sqlite
                """)
        @Argument(help: "The list file ('-' reads standard input).")
        var file: String
        @Option(help: "What every listed key may do: kiosk or counter.")
        var role: String = "kiosk"
        @Option(help: "A note for every listed kiosk, e.g. the roll-out's name.")
        var note: String = ""
        @Flag(help: "Replace the keys of kiosks registered with other ones (the holders of the old keys are locked out).")
        var replace = false
        @OptionGroup var store: StoreOptions

        func run() async throws {
            guard let role = PrincipalRole(rawValue: role), [.kiosk, .counter].contains(role) else {
                throw ValidationError("--role must be kiosk or counter, not '\(role.prefix(20))'")
            }
            let data: Data
            do {
                data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
            } catch {
                throw ValidationError("cannot read \(file): \(error.localizedDescription)")
            }
            let replace = self.replace
            let entries: [NewPrincipal]
            do { entries = try PrincipalImport.parse(data, role: role, note: note) } catch { throw ValidationError("\(file): \(error)") }
            let plan: PrincipalImport.Plan
            do {
                plan = try await store.with { store -> PrincipalImport.Plan in
                    let registered = Dictionary(try await store.kiosks().map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
                    let (plan, writes) = try PrincipalImport.plan(entries, registered: registered, replace: replace)
                    if !writes.isEmpty { try await store.addPrincipals(writes) }
                    return plan
                }
            } catch let error as PrincipalImport.Failure {
                throw ValidationError("\(file): \(error)")
            } catch let error as StoreError {
                throw ValidationError(error.description)
            }
            print("imported \(entries.count) \(role.rawValue)(s): \(plan.new) new, \(plan.rekeyed) re-keyed, \(plan.updated) updated, \(plan.unchanged) unchanged")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List registered kiosks.")
        @OptionGroup var store: StoreOptions
        @Flag(help: "JSON output.")
        var json = false

        func run() async throws {
            let kiosks = try await store.with { try await $0.kiosks() }
            if json {
                print(String(decoding: try RegistryJSON.encoder().encode(kiosks), as: UTF8.self))
                return
            }
            for k in kiosks {
                let seen = k.lastHeartbeatAt.map { ISO8601DateFormatter().string(from: $0) } ?? "never"
                print("\(k.id)\t\(k.role.rawValue)\t\(k.site ?? "-")\t\(k.publicKey)\tlast heartbeat \(seen)\t\(k.note)")
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show each kiosk as its newest heartbeat tells it: last heard, configuration, outbox, devices not ok.",
            discussion: "Ends with a summary line. Exits 0 whatever the fleet's state; use --attention for the kiosks to visit.")
        @OptionGroup var store: StoreOptions
        @Option(help: "A kiosk unheard for more than this many minutes counts as silent (kiosks send a heartbeat a minute).")
        var silentAfter: Double = 5
        @Option(help: "An outbox holding this many items counts as a backlog.")
        var backlog: Int = 100
        @Flag(help: "Only kiosks that need a visit: silent, never heard, a device not ok, or a backlog.")
        var attention = false
        @Flag(help: "JSON output.")
        var json = false

        func validate() throws {
            guard (1...10_080).contains(silentAfter) else { throw ValidationError("--silent-after is 1 minute to 7 days (10080)") }
            guard backlog > 0 else { throw ValidationError("--backlog is at least 1 item") }
        }

        func run() async throws {
            let now = Date()
            let status = FleetStatus(try await store.with { try await $0.kiosks() }, now: now, silentAfter: silentAfter * 60, backlog: backlog)
            if json {
                var shown = status
                if attention { shown.kiosks = status.needingAttention }
                print(String(decoding: try RegistryJSON.encoder().encode(shown), as: UTF8.self))
                return
            }
            print(status.text(now: now, onlyAttention: attention))
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a kiosk: its requests are refused from now on.",
                                                        discussion: "Asks first on a terminal; elsewhere needs --yes.")
        @Argument var id: String
        @Flag(help: "Do not ask.") var yes = false
        @OptionGroup var store: StoreOptions

        func run() async throws {
            let id = self.id
            if !yes {
                guard isatty(0) != 0 else {
                    throw ValidationError("removing kiosk \(id) refuses its requests from now on: add --yes to confirm")
                }
                FileHandle.standardOutput.write(Data("remove kiosk \(id)? its requests will be refused from now on [y/N] ".utf8))
                guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased().trimmingCharacters(in: .whitespaces)) else {
                    print("kept kiosk \(id)")
                    throw ExitCode(1)
                }
            }
            guard try await store.with({ try await $0.removeKiosk(id: id) }) else {
                FileHandle.standardError.write(Data("registryd: no kiosk \(id)\n".utf8))
                throw ExitCode(1)
            }
            print("removed kiosk \(id)")
        }
    }
}
