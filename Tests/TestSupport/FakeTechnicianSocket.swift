import Foundation

/// A stand-in for kioskd's technician socket: HTTP+JSON on a Unix socket (Python's http.server),
/// answering GETs from a fixed table and recording POSTs in `posts()`.
public final class FakeTechnicianSocket: @unchecked Sendable {
    public let directory: TemporaryDirectory
    public let process: Process
    /// The socket path to give kioskctl (`--socket`).
    public var socketPath: String { directory.path + "/technician.sock" }

    private static let script = #"""
import http.server, json, os, socketserver, sys
path, routes_file = sys.argv[1], sys.argv[2]
routes = json.load(open(routes_file))
class Handler(http.server.BaseHTTPRequestHandler):
    def address_string(self): return "local"
    def log_message(self, *args): pass
    def send(self, code, body):
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
if os.path.exists(path): os.unlink(path)
Server(path, Handler).serve_forever()
"""#

    /// Starts it with `routes`: path → JSON object answered to GET (and POST).
    public init(routes: [String: Any]) throws {
        directory = try TemporaryDirectory(prefix: "kioskd")
        let routesFile = directory.path + "/routes.json"
        try JSONSerialization.data(withJSONObject: routes).write(to: URL(fileURLWithPath: routesFile))
        let scriptFile = directory.path + "/server.py"
        try FakeTechnicianSocket.script.write(toFile: scriptFile, atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [scriptFile, directory.path + "/technician.sock", routesFile]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: socketPath) {
            guard process.isRunning, Date() < deadline else {
                kill(process.processIdentifier, SIGKILL)
                throw ProcessRunnerError.launchFailed("the fake technician socket", "did not start")
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
