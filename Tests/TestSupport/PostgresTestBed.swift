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

    public func stop() {
        _ = try? ProcessRunner.runScript("/bin/bash", [Self.script, "stop", directory.path + "/pg"])
        directory.remove()
    }
}
