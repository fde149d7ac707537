import Foundation

/// A private PostgreSQL server (`scripts/testbeds/postgres.sh`) in a temporary folder, with a
/// `registry` user and database; `stop()` stops it and removes the folder.
public final class PostgresTestBed: Sendable {
    let directory: TemporaryDirectory
    /// The server's Unix socket file (`…/.s.PGSQL.PORT`).
    public let socket: String
    static let script = BuiltProducts.repositoryPath("scripts/testbeds/postgres.sh")

    /// Starts the server; throws with the script's error output when it cannot.
    public init(prefix: String = "pg") throws {
        directory = try TemporaryDirectory(prefix: prefix)
        let started = try ProcessRunner.runScript("/bin/bash", [Self.script, "start", directory.path + "/pg"], timeout: 120)
        guard started.status == 0, let socket = readEnvironmentFile(directory.path + "/pg/env")["YITIJI_PG_SOCKET"] else {
            _ = try? ProcessRunner.runScript("/bin/bash", [Self.script, "stop", directory.path + "/pg"])
            directory.remove()
            throw ProcessRunnerError.launchFailed("postgres.sh start", started.stderr)
        }
        self.socket = socket
    }

    /// A scratch folder beside the server, removed with it.
    public var path: String { directory.path }

    /// Stops the server under its clients (`pg_ctl stop -m fast`: connections cut), keeping its data.
    public func halt() throws {
        let r = try ProcessRunner.runScript("/bin/bash", [Self.script, "halt", directory.path + "/pg"], timeout: 60)
        guard r.status == 0 else { throw ProcessRunnerError.launchFailed("postgres.sh halt", r.stderr) }
    }

    /// Starts the halted server again on the same socket.
    public func resume() throws {
        let r = try ProcessRunner.runScript("/bin/bash", [Self.script, "resume", directory.path + "/pg"], timeout: 120)
        guard r.status == 0 else { throw ProcessRunnerError.launchFailed("postgres.sh resume", r.stderr) }
    }

    /// Runs one SQL statement with psql and answers its unaligned output, trimmed.
    public func psql(_ sql: String) throws -> String {
        let host = (socket as NSString).deletingLastPathComponent
        let port = String(socket.split(separator: ".").last ?? "5432")
        let r = try ProcessRunner.run("/usr/bin/psql", ["-h", host, "-p", port, "-U", "registry", "-tAc", sql, "registry"])
        guard r.status == 0 else { throw ProcessRunnerError.launchFailed("psql", r.stderr) }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func stop() {
        _ = try? ProcessRunner.runScript("/bin/bash", [Self.script, "stop", directory.path + "/pg"])
        directory.remove()
    }
}
