import Foundation
import GRDB
import Registry
import TestSupport

/// The whole kiosk on real parts: the emulated USB reader, a private cupsd with virtual printers,
/// registryd on loopback with a real SQLite file (this kiosk registered), and the real kioskd.
final class KioskStack {
    static let kioskId = "demo-kiosk-01"
    static let site = "demo-hall"
    let directory: TemporaryDirectory
    let reader: EmulatedUSBReader
    let cups: CupsTestBed
    let registry: RegistrydProcess
    var kioskd: KioskdTestBed
    let environment: [String: String]
    /// kioskd's Prometheus endpoint on loopback.
    let metricsPort = freeLoopbackPort()

    /// `timestampKey`: registryd's timestamp key file (the demo one by default); `kioskYAML` edits
    /// the kiosk's configuration (`VERIFIER_SCENE` in it stands for the scene file `camera(_:)` writes).
    /// `registryArguments` go to `registryd serve` (e.g. a short `--confirmation-window`).
    init(registryRunning: Bool = true, configFiles: [String: Data] = [:], timestampKey: String? = RegistrydProcess.demoTimestampKey,
         registryArguments: [String] = [], kioskYAML: @escaping (String) -> String = { $0 }) throws {
        directory = try TemporaryDirectory(prefix: "stack")
        reader = try EmulatedUSBReader()
        cups = try CupsTestBed()
        let credentials = try KioskCredentials.generate(kioskId: Self.kioskId)
        registry = try RegistrydProcess(database: directory.path + "/registry.sqlite",
                                        seed: BuiltProducts.repositoryPath("scripts/testbeds/demo-seed.json"),
                                        kiosks: [(Self.kioskId, credentials.publicKeyBase64)], extraArguments: registryArguments, timestampKey: timestampKey,
                                        start: registryRunning, site: Self.site)
        try credentials.write(to: directory.path + "/kiosk.key")
        environment = reader.environment.merging(cups.environment) { $1 }
        let url = registry.baseURL
        kioskd = try KioskdTestBed(environment: environment,
                                   adjust: { [scene = directory.path + "/verifier-scene"] in
                                       kioskYAML($0.replacingOccurrences(of: "http://127.0.0.1:8480", with: url))
                                           .replacingOccurrences(of: "VERIFIER_SCENE", with: scene)
                                   },
                                   arguments: ["--metrics-port", String(metricsPort)],
                                   stateFiles: ["kiosk.key": try Data(contentsOf: URL(fileURLWithPath: directory.path + "/kiosk.key"))],
                                   configFiles: configFiles)
        // Start once the reader and the printers are known (screens are compared with snapshots).
        _ = eventually(15) {
            let body = self.status()
            return body.contains(#""readerPresent":true"#) && !body.contains("not polled yet")
        }
    }

    func status() -> String { kioskd.curl(kioskd.technicianSocket, "GET", "/v1/status").1 }

    /// What the demo verifier's camera sees from now on (`holder`, `stranger`, `no-face`, `hang`, …).
    func camera(_ scene: String) throws {
        for path in [kioskd.runtimeDirectory + "/verifier-scene", directory.path + "/verifier-scene"] {
            try scene.write(toFile: path, atomically: true, encoding: .utf8)
        }
    }

    /// Places a card and waits for its visit to start.
    func place(_ card: String = "resident", holder: String = "张*") throws {
        try reader.control("place " + card)
        _ = eventually(10) { self.citizen("GET", "/v1/status").1.contains(holder) }
    }

    /// Places a card with the interface in `tmux` and waits for its greeting.
    func arrive(_ tmux: TmuxScreen, card: String = "resident", greeting: String = "您好，张*") throws {
        try reader.control("place " + card)
        tmux.waitFor(greeting)
    }

    /// Takes the card away and waits for the idle screen.
    func leave(_ tmux: TmuxScreen) throws {
        try reader.control("remove")
        tmux.waitFor("请将身份证放在读卡区")
    }

    func citizen(_ method: String, _ path: String, _ body: String? = nil) -> (Int, String) {
        kioskd.curl(kioskd.citizenSocket, method, path, body: body)
    }

    func technician(_ method: String, _ path: String, _ body: String? = nil) -> (Int, String) {
        kioskd.curl(kioskd.technicianSocket, method, path, body: body)
    }

    /// kioskd's metrics, as Prometheus reads them.
    func metrics() -> String {
        (try? ProcessRunner.run("/usr/bin/curl", ["-s", "--max-time", "10", "http://127.0.0.1:\(metricsPort)/metrics"], timeout: 20))?.stdout ?? ""
    }

    /// What registryd recorded of one kind of submission.
    func submissions(_ kind: String) throws -> [Row] {
        let queue = try DatabaseQueue(path: registry.database)
        return try queue.read { try Row.fetchAll($0, sql: "SELECT * FROM submission WHERE kind = ? ORDER BY id", arguments: [kind]) }
    }

    /// The hall's tickets as registryd keeps them: number and state, in order of issue.
    func hallTickets() throws -> [(number: String, state: String, priority: Bool)] {
        let queue = try DatabaseQueue(path: registry.database)
        return try queue.read {
            try Row.fetchAll($0, sql: "SELECT number, state, priority FROM hall_ticket ORDER BY issued_at, length(number), number").map {
                (number: $0["number"], state: $0["state"], priority: ($0["priority"] as Int) != 0)
            }
        }
    }

    /// `registryd hall call` at counter `counter` of this kiosk's hall.
    func call(queue: String, counter: Int) throws -> ProcessResult {
        try ProcessRunner.run(BuiltProducts.path("registryd"), ["hall", "call", "--site", Self.site, "--queue", queue,
                                                                 "--counter", String(counter), "--db", registry.database])
    }

    /// The `kiosk` program in tmux on this kioskd.
    func screen(width: Int = 80, height: Int = 24) throws -> TmuxScreen {
        try TmuxScreen("\(BuiltProducts.path("kiosk")) --socket \(kioskd.citizenSocket)", width: width, height: height)
    }

    func stop() {
        kioskd.stop()
        registry.stop()
        cups.stop()
        reader.stop()
        kioskd.remove()
        directory.remove()
    }
}
