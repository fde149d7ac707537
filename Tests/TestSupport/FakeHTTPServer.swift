import Foundation

/// A stand-in HTTP+JSON server (Python's http.server): kioskd's technician socket on a Unix
/// socket, or a registry on a loopback port. It answers from a fixed table (an answer's
/// `_status` member sets the HTTP status, default 200; a `serverTimeOffset` member becomes
/// `serverTime`, now plus that many seconds, at each request) and records POSTs in `posts()`.
public final class FakeHTTPServer: @unchecked Sendable {
    public let directory: TemporaryDirectory
    public let process: Process
    /// The socket path to give kioskctl (`--socket`), when serving on a Unix socket.
    public var socketPath: String { directory.path + "/technician.sock" }
    /// The loopback port, when serving TCP.
    public let port: Int?

    private static let script = #"""
import datetime, http.server, json, os, socketserver, sys
path, routes_file, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
routes = json.load(open(routes_file))
class Handler(http.server.BaseHTTPRequestHandler):
    def address_string(self): return "local"
    def log_message(self, *args): pass
    def send(self, code, body):
        body = dict(body)
        code = body.pop("_status", code)
        if "serverTimeOffset" in body:
            now = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=body.pop("serverTimeOffset"))
            body["serverTime"] = now.isoformat().replace("+00:00", "Z")
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        if self.path in routes: self.send(200, routes[self.path])
        else: self.send(404, {"error": "no route " + self.path})
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(path + ".posts", "ab") as f: f.write(self.path.encode() + b" " + body + b"\n")
        if self.path in routes: self.send(200, routes[self.path])
        else: self.send(404, {"error": "no route " + self.path})
class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
class TCPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
if port > 0:
    server = TCPServer(("127.0.0.1", port), Handler)
    open(path, "w").close()
    server.serve_forever()
if os.path.exists(path): os.unlink(path)
Server(path, Handler).serve_forever()
"""#

    /// Serves `routes` (path → JSON object answered to GET and POST) on a Unix socket (`socketPath`),
    /// or on 127.0.0.1:`port`.
    public init(routes: [String: Any], port: Int? = nil) throws {
        self.port = port
        directory = try TemporaryDirectory(prefix: "kioskd")
        let routesFile = directory.path + "/routes.json"
        try JSONSerialization.data(withJSONObject: routes).write(to: URL(fileURLWithPath: routesFile))
        let scriptFile = directory.path + "/server.py"
        try FakeHTTPServer.script.write(toFile: scriptFile, atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [scriptFile, directory.path + "/technician.sock", routesFile, String(port ?? 0)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: socketPath) {
            guard process.isRunning, Date() < deadline else {
                kill(process.processIdentifier, SIGKILL)
                throw ProcessRunnerError.launchFailed("the stand-in HTTP server", "did not start")
            }
            usleep(20_000)
        }
    }

    /// The POSTs received, one `PATH BODY` line each.
    public func posts() -> [String] {
        ((try? String(contentsOfFile: socketPath + ".posts", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    public func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        directory.remove()
    }
}
