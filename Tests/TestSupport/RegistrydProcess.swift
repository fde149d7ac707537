import Foundation

/// A `registryd` child process on loopback with a real SQLite file, for end-to-end tests and
/// benchmarks: kiosks are registered first, then it serves until `kill()` (SIGKILL) or `stop()`.
public final class RegistrydProcess: @unchecked Sendable {
    /// The database file.
    public let database: String
    /// The loopback port it listens on (kept across restarts).
    public let port: Int
    let seed: String?
    let extraArguments: [String]
    /// The timestamp key file it signs freshness statements with from its next start; nil: none.
    public var timestampKey: String?
    let storeArguments: [String]
    /// The TLS certificate and key it serves with, if any.
    let tls: (certificate: String, key: String)?
    var process: Process?

    /// `http://127.0.0.1:<port>`, or `https://…` when it serves TLS.
    public var baseURL: String { "\(tls == nil ? "http" : "https")://127.0.0.1:\(port)" }

    /// Registers `kiosks` (ID and base64 public key) in `database`, then starts registryd.
    /// `storeArguments` replaces `--db DATABASE` (e.g. `--postgres-socket PATH`). `timestampKey`
    /// signs the configuration feed's freshness statements: the demo registry's key by default;
    /// `demo` accepts the demonstration document key, as the demo registry does.
    public init(database: String, seed: String? = nil, kiosks: [(id: String, publicKey: String)] = [],
                extraArguments: [String] = [], storeArguments: [String]? = nil, tls: (certificate: String, key: String)? = nil,
                timestampKey: String? = RegistrydProcess.demoTimestampKey, demo: Bool = true, start: Bool = true,
                site: String? = nil) throws {
        self.database = database
        self.tls = tls
        self.seed = seed
        self.extraArguments = extraArguments + (demo ? ["--demo"] : [])
        self.timestampKey = timestampKey
        self.storeArguments = storeArguments ?? ["--db", database]
        port = freeLoopbackPort()
        for kiosk in kiosks { try register(kiosk.id, publicKey: kiosk.publicKey, site: site) }
        if start { try self.start() }
    }

    /// Registers a key (a kiosk by default; `counter` or `booking`), at `site`, while it runs or not.
    public func register(_ id: String, publicKey: String, role: String = "kiosk", site: String? = nil) throws {
        let r = try ProcessRunner.run(BuiltProducts.path("registryd"),
                                      ["kiosk", "add", id, "--public-key", publicKey, "--role", role] + (site.map { ["--site", $0] } ?? [])
                                          + storeArguments, timeout: 60)
        guard r.status == 0 else { throw ProcessRunnerError.launchFailed("registryd kiosk add", r.stderr) }
    }

    /// The demo registry's timestamp key, which the demo fleet root names.
    public static let demoTimestampKey = BuiltProducts.repositoryPath("scripts/testbeds/demo-config-keys/timestamp.key")

    /// Starts registryd (again) on the same port and database, waiting until it answers.
    public func start(seedAgain: Bool = true) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: BuiltProducts.path("registryd"))
        p.arguments = storeArguments + ["--listen", "127.0.0.1:\(port)"] + (seedAgain ? seed.map { ["--seed", $0] } ?? [] : []) + extraArguments
            + (tls.map { ["--tls-certificate", $0.certificate, "--tls-key", $0.key] } ?? [])
            + (timestampKey.map { ["--timestamp-key", $0] } ?? [])
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if tls == nil ? RegistrydProcess.answers(port: port) : RegistrydProcess.accepts(port: port) { return }
            guard p.isRunning else { throw ProcessRunnerError.launchFailed("registryd", "exited with \(p.terminationStatus)") }
            usleep(10_000)
        }
        throw ProcessRunnerError.launchFailed("registryd", "did not answer on port \(port) within 30 s")
    }

    /// Stops it as systemd does (SIGTERM) and waits: its exit status, or nil when it was not
    /// running or did not exit within `timeout` seconds (then it is killed).
    @discardableResult
    public func terminate(timeout: TimeInterval = 30) -> Int32? {
        guard let p = process else { return nil }
        Foundation.kill(p.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning, Date() < deadline { usleep(10_000) }
        guard !p.isRunning else { kill(); return nil }
        process = nil
        return p.terminationStatus
    }

    /// Kills it with SIGKILL and waits.
    public func kill() {
        guard let p = process else { return }
        Foundation.kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        process = nil
    }

    /// Same as `kill()`.
    public func stop() { kill() }

    /// True when something accepts connections on `port` (a TLS registry, before any handshake).
    public static func accepts(port: Int) -> Bool { (try? RawHTTPConnection(port: port)) != nil }

    /// True when `GET /v1/health` answers 200 on `port`.
    public static func answers(port: Int) -> Bool {
        (try? RawHTTPConnection.request(port: port, "GET", "/v1/health", timeout: 1))??.status == 200
    }
}
