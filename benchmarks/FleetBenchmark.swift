import AsyncHTTPClient
import Crypto
import Foundation
import KioskCore
import Registry

// A fleet of simulated kiosks against running registryd replicas: each kiosk has its own key,
// holds the configuration long poll open, sends a signed heartbeat every 30 s and serves a
// citizen now and then (lookups, a search, a social-insurance query, a print authorisation, a
// rating, now and then an application), all through the kiosk's own registry client. The kiosks
// are split over child processes (a process holds a few thousand connections); the parent
// starts them, runs the publish command once the fleet is up, samples registryd's memory, CPU
// and sockets, and prints per-route figures. See scripts/bench-fleet.sh.

/// Latencies in buckets 2 % wide, mergeable across processes.
struct LatencyHistogram: Codable, Sendable {
    static let ratio = 1.02
    var buckets: [Int: Int] = [:]
    var count = 0

    mutating func add(seconds: Double) {
        let micros = max(seconds * 1e6, 1)
        buckets[Int(log(micros) / log(Self.ratio)), default: 0] += 1
        count += 1
    }

    mutating func merge(_ other: LatencyHistogram) {
        for (bucket, n) in other.buckets { buckets[bucket, default: 0] += n }
        count += other.count
    }

    /// The `q` quantile in seconds (the bucket's upper edge), or nil when empty.
    func quantile(_ q: Double) -> Double? {
        guard count > 0 else { return nil }
        let wanted = max(1, Int((Double(count) * q).rounded(.up)))
        var seen = 0
        for bucket in buckets.keys.sorted() {
            seen += buckets[bucket] ?? 0
            if seen >= wanted { return pow(Self.ratio, Double(bucket + 1)) / 1e6 }
        }
        return nil
    }
}

/// One route's figures inside the measured window.
struct RouteFigures: Codable, Sendable {
    var latency = LatencyHistogram()
    var errors = 0
    /// Of `errors`, those a later attempt may get past (unreachable, timed out, 503): a kiosk
    /// shows cached data or queues the write.
    var transient = 0
    var firstErrors: [String] = []

    mutating func merge(_ other: RouteFigures) {
        latency.merge(other.latency)
        errors += other.errors
        transient += other.transient
        firstErrors += other.firstErrors.prefix(max(0, 3 - firstErrors.count))
    }
}

/// What one simulator process saw.
struct ShardFigures: Codable, Sendable {
    var routes: [String: RouteFigures] = [:]
    /// From the publish to a kiosk having been told and having downloaded the bundle.
    var fanout = LatencyHistogram()
    /// From the publish to a kiosk's held poll answering with the change.
    var told = LatencyHistogram()
    var kiosks = 0
    /// Kiosks whose first poll (and key) the registry accepted.
    var started = 0
    /// Submissions delivered only after a retry with the same idempotency key, as the kiosk's outbox does.
    var retried = 0
    /// Submissions still not delivered when the run ended (a kiosk's outbox would still hold them).
    var undelivered = 0
    /// The longest download spread a registry answer gave (seconds).
    var spreadSeconds = 0

    mutating func merge(_ other: ShardFigures) {
        for (route, figures) in other.routes { routes[route, default: RouteFigures()].merge(figures) }
        fanout.merge(other.fanout)
        told.merge(other.told)
        spreadSeconds = max(spreadSeconds, other.spreadSeconds)
        kiosks += other.kiosks
        started += other.started
        retried += other.retried
        undelivered += other.undelivered
    }
}

/// The simulation's timeline, in seconds since 1970, the same for every process.
struct FleetTimeline: Codable, Sendable {
    var start: Double
    var ramp: Double
    var measureFrom: Double
    var publishAt: Double
    var end: Double

    static func wait(until epoch: Double) async throws {
        let left = epoch - Date().timeIntervalSince1970
        if left > 0 { try await Task.sleep(for: .milliseconds(Int(left * 1000))) }
    }
}

/// Collects figures from many tasks.
final class FleetRecorder: Sendable {
    let timeline: FleetTimeline
    private let figures = Locked(ShardFigures())

    init(timeline: FleetTimeline, kiosks: Int) {
        self.timeline = timeline
        figures.withLock { $0.kiosks = kiosks }
    }

    /// Times `body` as `route`; counted when it started inside the measured window.
    func time<T>(_ route: String, _ body: () async throws -> T) async throws -> T {
        let started = Date().timeIntervalSince1970
        let clock = ContinuousClock.now
        do {
            let value = try await body()
            if started >= timeline.measureFrom, started < timeline.end {
                let elapsed = ContinuousClock.now - clock
                figures.withLock { $0.routes[route, default: RouteFigures()].latency.add(seconds: elapsed.seconds) }
            }
            return value
        } catch {
            if started >= timeline.measureFrom, Date().timeIntervalSince1970 < timeline.end, !(error is CancellationError) {
                let transient = (error as? RegistryClientError)?.isTransient ?? false
                figures.withLock {
                    $0.routes[route, default: RouteFigures()].errors += 1
                    if transient { $0.routes[route]?.transient += 1 }
                    if $0.routes[route]?.firstErrors.count ?? 0 < 3 { $0.routes[route]?.firstErrors.append(String("\(error)".prefix(300))) }
                }
            }
            throw error
        }
    }

    func told(at: Double) { figures.withLock { $0.told.add(seconds: max(0, at - timeline.publishAt)) } }
    func downloaded(at: Double) { figures.withLock { $0.fanout.add(seconds: max(0, at - timeline.publishAt)) } }
    func kioskStarted() { figures.withLock { $0.started += 1 } }
    func spread(_ seconds: Int) { figures.withLock { $0.spreadSeconds = max($0.spreadSeconds, seconds) } }
    func retried() { figures.withLock { $0.retried += 1 } }
    func undelivered() { figures.withLock { $0.undelivered += 1 } }
    var snapshot: ShardFigures { figures.withLock { $0 } }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// What a visiting citizen asks for: taken from the seed registryd serves.
struct CitizenMaterial: Sendable {
    var enterprises: [(uscc: String, name: String, representative: String)]
    var persons: [String]

    init(seedPath: String) throws {
        let seed = try JSONDecoder().decode(RegistrySeed.self, from: Data(contentsOf: URL(fileURLWithPath: seedPath)))
        enterprises = seed.enterprises.map { ($0.enterprise.uscc, $0.enterprise.name, $0.legalRepresentativeIdNumber) }
        persons = seed.persons.map(\.idNumber)
        guard !enterprises.isEmpty, !persons.isEmpty else { throw BenchError("the seed has no enterprises or persons") }
    }
}

/// One simulated kiosk.
struct SimulatedKiosk: Sendable {
    let index: Int
    let credentials: KioskCredentials
    let site: String
    let poll: RegistryClient
    let requests: RegistryClient
    let recorder: FleetRecorder
    let material: CitizenMaterial
    let pollsOnly: Bool

    static let heartbeatInterval = 30.0
    static let meanVisitInterval = 600.0

    func run() async {
        let timeline = recorder.timeline
        let offset = timeline.ramp * Double(index) / Double(max(1, recorder.snapshot.kiosks))
        try? await FleetTimeline.wait(until: timeline.start + offset)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await pollLoop() }
            if !pollsOnly {
                group.addTask { await heartbeatLoop() }
                group.addTask { await visitLoop() }
            }
        }
    }

    /// Holds the announcements poll open; on a change, downloads the bundle and reports it applied.
    func pollLoop() async {
        var etag: String?
        var counted = false, told = false, downloaded = false
        var failures = 0
        while !Task.isCancelled {
            do {
                let held = etag != nil
                let answer = try await recorder.time(held ? "GET /v1/config/announcements (held 60 s)" : "GET /v1/config/announcements") {
                    try await poll.configAnnouncements(site: site, etag: etag, wait: held ? 60 : 0)
                }
                failures = 0
                if !counted { counted = true; recorder.kioskStarted() }
                if held, answer.etag != etag {
                    // Counted once per kiosk: a failed download is retried from the next answer.
                    if !told { told = true; recorder.told(at: Date().timeIntervalSince1970) }
                    for bundle in answer.bundles {
                        // The kiosk's turn in the registry's spread, as ConfigAgent waits it.
                        recorder.spread(bundle.spreadSeconds ?? 0)
                        try? await Task.sleep(for: bundle.downloadDelay(kioskId: credentials.kioskId))
                        _ = try await recorder.time("GET /v1/config/bundles/{id}") { try await requests.configBundle(id: bundle.id) }
                        if !downloaded { downloaded = true; recorder.downloaded(at: Date().timeIntervalSince1970) }
                        try await recorder.time("POST /v1/config/reports") {
                            try await requests.reportConfig(ConfigReport(target: bundle.target, version: bundle.version, result: "committed",
                                                                         reason: nil, generation: bundle.version, at: Date()))
                        }
                    }
                }
                etag = answer.etag
            } catch {
                if Task.isCancelled { return }
                failures += 1
                // The kiosk's own backoff: up to 30 s, with full jitter.
                let ceiling = min(30.0, 0.5 * pow(2, Double(min(failures, 6))))
                try? await Task.sleep(for: .milliseconds(Int(Double.random(in: 0...ceiling) * 1000)))
            }
        }
    }

    func heartbeatLoop() async {
        try? await Task.sleep(for: .milliseconds(Int(Double.random(in: 0..<Self.heartbeatInterval) * 1000)))
        var beat = 0
        // A sleep ends early when the run ends: nothing is sent after that.
        while !Task.isCancelled {
            beat += 1
            let heartbeat = Heartbeat(deviceStatus: ["reader": "ok", "printer.a4": "ok"], outboxDepth: 0, configVersion: "embedded", sentAt: Date())
            _ = try? await submit(.heartbeats, key: "hb-\(beat)-\(UUID().uuidString.prefix(8))", heartbeat, route: "POST /v1/submissions (heartbeat)")
            try? await Task.sleep(for: .seconds(Self.heartbeatInterval))
        }
    }

    func visitLoop() async {
        var visit = 0
        while !Task.isCancelled {
            // Visits arrive at random (a Poisson stream), one per kiosk per 10 minutes on average.
            let wait = -log(Double.random(in: 0.000_001..<1)) * Self.meanVisitInterval
            try? await Task.sleep(for: .milliseconds(Int(wait * 1000)))
            if Task.isCancelled { return }
            visit += 1
            try? await citizenVisit(visit)
        }
    }

    /// A citizen at the kiosk: looks an enterprise up by name and by code, reads its archive,
    /// checks social insurance, has a licence print authorised, rates the service; one visit in
    /// five also submits an application.
    func citizenVisit(_ visit: Int) async throws {
        let enterprise = material.enterprises[Int.random(in: 0..<material.enterprises.count)]
        let person = material.persons[Int.random(in: 0..<material.persons.count)]
        _ = try? await recorder.time("GET /v1/enterprises?name=") { try await requests.search(name: String(enterprise.name.prefix(4))) }
        _ = try? await recorder.time("GET /v1/enterprises/{uscc}") { try await requests.enterprise(uscc: enterprise.uscc) }
        _ = try? await recorder.time("GET /v1/enterprises/{uscc}/archive") { try await requests.archive(uscc: enterprise.uscc) }
        _ = try? await recorder.time("GET /v1/persons/{id}/social-insurance") { try await requests.socialInsurance(idNumber: person) }
        _ = try? await recorder.time("POST /v1/print-authorizations") {
            try await requests.authorizePrint(kind: .businessLicence, uscc: enterprise.uscc, idNumber: enterprise.representative)
        }
        let visitId = "\(credentials.kioskId)-\(visit)-\(UUID().uuidString.prefix(8))"
        let rating = RatingRecord(visitId: visitId, level: 1 + Int.random(in: 0..<5), reason: nil, serviceCode: "archive-query",
                                  formVersion: 3, ratedAt: Date())
        _ = try? await submit(.ratings, key: "rt-\(visitId)", rating, route: "POST /v1/submissions (rating)")
        if Int.random(in: 0..<5) == 0 {
            let application = ApplicationSubmission(
                trackingNumber: "YT-\(visitId)",
                applicant: Applicant(idNumber: "441900199003181234", name: "张三"), proposedName: "演示市测试\(visit)科技有限公司",
                type: "有限责任公司(自然人独资)", registeredCapital: "人民币壹佰万元", address: "演示市高新区创业路1号",
                businessScope: "软件开发；信息技术咨询服务。", submittedAt: Date())
            _ = try? await submit(.applications, key: "ap-\(visitId)", application, route: "POST /v1/submissions (application)")
        }
    }

    /// Sends one item; a transient failure is retried with the same idempotency key after the
    /// outbox's backoff (1 s doubling, full jitter, at most 30 s, the last try 2 s before the run
    /// ends) until delivered or the run ends.
    func submit(_ kind: SubmissionKind, key: String, _ value: some Encodable, route: String) async throws {
        let item = BatchItem(kind: kind, idempotencyKey: key, body: try RegistryJSON.encoder().encode(value))
        var failures = 0
        while true {
            do {
                try await recorder.time(route) {
                    let results = try await requests.submitBatch([item])
                    if let problem = results.first?.problem { throw BenchError("refused: \(problem.code): \(problem.detail)") }
                }
                if failures > 0 { recorder.retried() }
                return
            } catch let error as RegistryClientError where error.isTransient {
                failures += 1
                // The run's end stands for "later": a retry due after it is made 2 s before it instead.
                let ceiling = min(30.0, pow(2, Double(min(failures - 1, 5))))
                let left = recorder.timeline.end - Date().timeIntervalSince1970 - 2
                let wait = max(0.2, min(Double.random(in: 0...ceiling), left))
                try? await Task.sleep(for: .milliseconds(Int(wait * 1000)))
                if Task.isCancelled || Date().timeIntervalSince1970 >= recorder.timeline.end {
                    recorder.undelivered()
                    throw error
                }
            }
        }
    }
}

/// `yitiji-bench fleet-keys N DIR`: N kiosk keys (DIR/kiosks.keys, private) and the list
/// `registryd kiosk import` takes (DIR/kiosks.list), 50 kiosks to a site.
func fleetKeys(_ arguments: [String]) throws {
    guard arguments.count == 2, let count = Int(arguments[0]), (1...200_000).contains(count) else {
        throw BenchError("usage: yitiji-bench fleet-keys COUNT DIR (COUNT 1 to 200000)")
    }
    var keys = "", list = ""
    for i in 0..<count {
        let key = Curve25519.Signing.PrivateKey()
        let credentials = try KioskCredentials(kioskId: String(format: "FLEET-%06d", i), privateKey: key.rawRepresentation)
        keys += "\(credentials.kioskId) \(key.rawRepresentation.base64EncodedString())\n"
        list += "\(credentials.kioskId) \(credentials.publicKeyBase64) \(String(format: "site-%04d", i / 50))\n"
    }
    FileManager.default.createFile(atPath: arguments[1] + "/kiosks.keys", contents: Data(keys.utf8), attributes: [.posixPermissions: 0o600])
    try list.write(toFile: arguments[1] + "/kiosks.list", atomically: true, encoding: .utf8)
}

/// The options of `fleet` and `fleet-shard`.
struct FleetOptions: Codable, Sendable {
    var kiosks = 0
    var keys = ""
    var registries: [String] = []
    var seed = repository + "/scripts/testbeds/demo-seed.json"
    var ramp: Double?
    var seconds = 90.0
    var publishAfter = 10.0
    var publish: String?
    /// A command run this many seconds into the measured window (a replica restarted, PostgreSQL halted and resumed).
    var disrupt: String?
    var disruptAfter = 25.0
    var pids: [Int32] = []
    /// Each replica's Prometheus endpoint (`--metrics-port`), for registryd's own latencies.
    var metrics: [String] = []
    var perProcess = 6000
    var pollsOnly = false
    /// fleet-shard: the kiosks [from, to) and the timeline.
    var from = 0
    var to = 0
    var timeline: FleetTimeline?

    init(_ arguments: [String]) throws {
        var rest = arguments[...]
        func value(_ flag: String) throws -> String {
            guard let next = rest.popFirst() else { throw BenchError("\(flag) needs a value") }
            return next
        }
        func number(_ flag: String) throws -> Double {
            let text = try value(flag)
            guard let n = Double(text), n >= 0, n < 1e7 else { throw BenchError("\(flag) takes a number, not '\(text)'") }
            return n
        }
        while let flag = rest.popFirst() {
            switch flag {
            case "--kiosks": kiosks = Int(try number(flag))
            case "--keys": keys = try value(flag)
            case "--registry": registries = try value(flag).split(separator: ",").map(String.init)
            case "--seed": seed = try value(flag)
            case "--ramp": ramp = try number(flag)
            case "--seconds": seconds = try number(flag)
            case "--publish-after": publishAfter = try number(flag)
            case "--publish": publish = try value(flag)
            case "--disrupt": disrupt = try value(flag)
            case "--disrupt-after": disruptAfter = try number(flag)
            case "--pids": pids = try value(flag).split(separator: ",").compactMap { Int32($0) }
            case "--metrics": metrics = try value(flag).split(separator: ",").map(String.init)
            case "--per-process": perProcess = max(1, Int(try number(flag)))
            case "--polls-only": pollsOnly = true
            case "--range":
                let parts = try value(flag).split(separator: "-").compactMap { Int($0) }
                guard parts.count == 2 else { throw BenchError("--range is FROM-TO") }
                (from, to) = (parts[0], parts[1])
            case "--timeline":
                timeline = try JSONDecoder().decode(FleetTimeline.self, from: Data(try value(flag).utf8))
            default: throw BenchError("fleet: unknown option \(flag)")
            }
        }
        guard kiosks > 0, !keys.isEmpty, !registries.isEmpty else {
            throw BenchError("""
                usage: yitiji-bench fleet --kiosks N --keys FILE --registry URL[,URL…] [--seconds S] [--ramp S] [--publish-after S]
                       [--publish COMMAND] [--disrupt COMMAND] [--disrupt-after S] [--pids PID,…] [--metrics URL,…] [--per-process N] [--polls-only]
                       (see scripts/bench-fleet.sh)
                """)
        }
    }
}

/// `yitiji-bench fleet-shard …`: runs kiosks [from, to) and prints their figures as JSON.
func fleetShard(_ arguments: [String]) throws {
    let options = try FleetOptions(arguments)
    guard let timeline = options.timeline else { throw BenchError("fleet-shard needs --timeline") }
    let lines = try String(contentsOfFile: options.keys, encoding: .utf8).split(separator: "\n")
    guard options.to <= lines.count, options.from < options.to else { throw BenchError("the key file holds \(lines.count) kiosks") }
    let material = try CitizenMaterial(seedPath: options.seed)
    let count = options.to - options.from
    // A client per hundred kiosks: one client's connection pool is searched through on every
    // request, so thousands of connections in one pool would measure the simulator, not registryd.
    var http = RegistryClient.httpConfiguration  // connecting as the kiosk does
    http.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 2 * 100 + 16
    let clients = (0..<(count + 99) / 100).map { _ in HTTPClient(eventLoopGroupProvider: .singleton, configuration: http) }
    let recorder = FleetRecorder(timeline: timeline, kiosks: count)
    var kiosks: [SimulatedKiosk] = []
    for index in options.from..<options.to {
        let fields = lines[index].split(separator: " ")
        guard fields.count == 2, let key = Data(base64Encoded: String(fields[1])) else { throw BenchError("key line \(index + 1) is malformed") }
        let credentials = try KioskCredentials(kioskId: String(fields[0]), privateKey: key)
        let client = clients[(index - options.from) / 100]
        func registryClient(deadline: Duration) -> RegistryClient {
            var configuration = RegistryClientConfiguration(baseURL: options.registries[index % options.registries.count], credentials: credentials)
            configuration.deadline = deadline
            configuration.attemptTimeout = deadline
            configuration.maxAttempts = 1
            configuration.breakerThreshold = Int.max
            return RegistryClient(configuration: configuration, httpClient: client)
        }
        kiosks.append(SimulatedKiosk(index: index - options.from, credentials: credentials, site: String(format: "site-%04d", index / 50),
                                     poll: registryClient(deadline: .seconds(75)), requests: registryClient(deadline: .seconds(10)),
                                     recorder: recorder, material: material, pollsOnly: options.pollsOnly))
    }
    let kioskList = kiosks
    try runAsync {
        await withTaskGroup(of: Void.self) { group in
            for kiosk in kioskList { group.addTask { await kiosk.run() } }
            group.addTask { try? await FleetTimeline.wait(until: timeline.end) }
            await group.next()
            group.cancelAll()
        }
        for client in clients { try? await client.shutdown() }
    }
    FileHandle.standardOutput.write(try JSONEncoder().encode(recorder.snapshot))
}

/// registryd's own request durations per route, from its Prometheus histogram
/// (`http_server_request_duration_bucket`, every status summed): what the server spent, apart
/// from the simulator's queueing.
struct ServerLatencies {
    /// Route ("GET /v1/…") → bucket upper edge in seconds → cumulative count.
    var buckets: [String: [Double: Double]] = [:]

    /// Reads `url` (a `/metrics` page) with curl; empty when it cannot be read.
    static func scrape(_ url: String) -> ServerLatencies {
        let curl = Process(), out = Pipe()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-fsS", "--max-time", "5", url]
        curl.standardOutput = out
        curl.standardError = FileHandle.nullDevice
        guard (try? curl.run()) != nil else { return ServerLatencies() }
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        curl.waitUntilExit()
        var result = ServerLatencies()
        for line in text.split(separator: "\n") where line.hasPrefix("http_server_request_duration_bucket{") {
            guard let close = line.lastIndex(of: "}"), let value = Double(line[line.index(after: close)...].trimmingCharacters(in: .whitespaces)) else { continue }
            var labels: [String: String] = [:]
            for pair in line[line.index(after: line.firstIndex(of: "{") ?? close)..<close].split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2 { labels[String(parts[0])] = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
            }
            guard let route = labels["http_route"], let method = labels["http_request_method"], let le = labels["le"] else { continue }
            let edge = le == "+Inf" ? Double.infinity : Double(le) ?? .infinity
            result.buckets["\(method) \(route)", default: [:]][edge, default: 0] += value
        }
        return result
    }

    /// What was counted between `earlier` and this one; a replica whose counters went back
    /// (restarted) counts from zero.
    func since(_ earlier: ServerLatencies) -> ServerLatencies {
        var result = ServerLatencies()
        for (route, now) in buckets {
            let before = earlier.buckets[route] ?? [:]
            let restarted = now.contains { $0.value < (before[$0.key] ?? 0) }
            result.buckets[route] = now.reduce(into: [:]) { $0[$1.key] = restarted ? $1.value : $1.value - (before[$1.key] ?? 0) }
        }
        return result
    }

    mutating func add(_ other: ServerLatencies) {
        for (route, edges) in other.buckets { for (edge, n) in edges { buckets[route, default: [:]][edge, default: 0] += n } }
    }

    /// The count and the bucket edge holding the `q` quantile, per route.
    func summary(_ route: String, _ q: Double) -> (count: Int, edge: Double)? {
        guard let edges = buckets[route], let total = edges[.infinity], total > 0 else { return nil }
        let sorted = edges.sorted { $0.key < $1.key }
        let wanted = total * q
        let edge = sorted.first { $0.value >= wanted }?.key ?? .infinity
        return (Int(total), edge)
    }
}

/// What the parent reads of one registryd process.
struct ProcessSample {
    var rss: Int
    var cpuTicks: Int
    var sockets: Int

    static func read(pid: Int32) -> ProcessSample? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return nil }
        let rssLine = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
        let rss = rssLine.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
        let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
        let ticks = fields.count > 13 ? (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0) : 0
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        let sockets = fds.filter { ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)")) ?? "").hasPrefix("socket:") }.count
        return ProcessSample(rss: rss * 1024, cpuTicks: ticks, sockets: sockets)
    }
}

/// `yitiji-bench fleet …`: see the top of this file.
func fleet(_ arguments: [String]) throws {
    let options = try FleetOptions(arguments)
    let ramp = options.ramp ?? max(5, Double(options.kiosks) / 1000)
    let start = Date().timeIntervalSince1970 + 3
    let measureFrom = start + ramp + 5
    let timeline = FleetTimeline(start: start, ramp: ramp, measureFrom: measureFrom, publishAt: measureFrom + options.publishAfter,
                                 end: measureFrom + options.seconds)
    let timelineText = String(decoding: try JSONEncoder().encode(timeline), as: UTF8.self)
    var children: [(Process, Pipe)] = []
    var from = 0
    while from < options.kiosks {
        let to = min(options.kiosks, from + options.perProcess)
        let child = Process(), pipe = Pipe()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["fleet-shard", "--kiosks", String(options.kiosks), "--keys", options.keys, "--registry", options.registries.joined(separator: ","),
                           "--seed", options.seed, "--range", "\(from)-\(to)", "--timeline", timelineText] + (options.pollsOnly ? ["--polls-only"] : [])
        child.standardOutput = pipe
        try child.run()
        children.append((child, pipe))
        from = to
    }
    // Read each child's answer as it comes, so no pipe fills.
    let answers = Locked<[Int: Data]>([:])
    let readers = children.enumerated().map { index, entry in
        Thread { answers.withLock { $0[index] = entry.1.fileHandleForReading.readDataToEndOfFile() } }
    }
    readers.forEach { $0.start() }

    let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
    func sleep(until epoch: Double) { let left = epoch - Date().timeIntervalSince1970; if left > 0 { Thread.sleep(forTimeInterval: left) } }
    sleep(until: start - 1)
    let before = options.pids.map(ProcessSample.read)
    sleep(until: measureFrom)
    let held = options.pids.map(ProcessSample.read)
    let serverBefore = options.metrics.map(ServerLatencies.scrape)
    var peakRSS = held.map { $0?.rss ?? 0 }, peakSockets = held.map { $0?.sockets ?? 0 }
    var published = false, publishOutcome = "not published"
    var disruption: (process: Process, output: Pipe, at: Double)?
    while Date().timeIntervalSince1970 < timeline.end {
        if disruption == nil, let command = options.disrupt, Date().timeIntervalSince1970 >= measureFrom + options.disruptAfter {
            // Runs beside the sampling; its output is shown with the figures.
            let shell = Process(), out = Pipe()
            shell.executableURL = URL(fileURLWithPath: "/bin/sh")
            shell.arguments = ["-c", command]
            shell.standardOutput = out
            shell.standardError = out
            try shell.run()
            disruption = (shell, out, Date().timeIntervalSince1970 - measureFrom)
        }
        Thread.sleep(forTimeInterval: 1)
        for (i, pid) in options.pids.enumerated() {
            if let sample = ProcessSample.read(pid: pid) {
                peakRSS[i] = max(peakRSS[i], sample.rss)
                peakSockets[i] = max(peakSockets[i], sample.sockets)
            }
        }
        if !published, let command = options.publish, Date().timeIntervalSince1970 >= timeline.publishAt {
            published = true
            let shell = Process()
            shell.executableURL = URL(fileURLWithPath: "/bin/sh")
            shell.arguments = ["-c", command]
            let out = Pipe()
            shell.standardOutput = out
            shell.standardError = out
            try shell.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            shell.waitUntilExit()
            publishOutcome = shell.terminationStatus == 0 ? "published" : "publish failed: \(text.prefix(300))"
        }
    }
    let after = options.pids.map(ProcessSample.read)
    var server = ServerLatencies()
    for (i, url) in options.metrics.enumerated() { server.add(ServerLatencies.scrape(url).since(serverBefore[i])) }
    var disruptionOutcome: String?
    if let disruption {
        let text = String(decoding: disruption.output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        disruption.process.waitUntilExit()
        disruptionOutcome = String(format: "disruption at %.0f s into the window (exit %d): ", disruption.at, disruption.process.terminationStatus)
            + text.split(separator: "\n").joined(separator: "; ")
    }
    for (child, _) in children { child.waitUntilExit() }
    while answers.withLock({ $0.count }) < children.count { Thread.sleep(forTimeInterval: 0.05) }
    var total = ShardFigures()
    for (index, (child, _)) in children.enumerated() {
        let data = answers.withLock { $0[index] } ?? Data()
        guard child.terminationStatus == 0, let figures = try? JSONDecoder().decode(ShardFigures.self, from: data) else {
            throw BenchError("simulator process \(index) failed (exit \(child.terminationStatus))")
        }
        total.merge(figures)
    }

    let window = options.seconds
    print("fleet: \(options.kiosks) kiosks in \(children.count) simulator process(es) against \(options.registries.count) registryd replica(s); "
          + "ramp \(Int(ramp)) s, measured \(Int(window)) s\(options.pollsOnly ? ", long polls only" : "")")
    print("kiosks whose first poll was answered: \(total.started) of \(total.kiosks)")
    func right(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
    func ms(_ seconds: Double?) -> String { seconds.map { String(format: "%.1f", $0 * 1000) } ?? "-" }
    if let disruptionOutcome { print(disruptionOutcome) }
    print("route".padding(toLength: 46, withPad: " ", startingAt: 0) + "     count     req/s  errors (transient)     p50 ms     p99 ms")
    for (route, figures) in total.routes.sorted(by: { $0.key < $1.key }) {
        let count = figures.latency.count + figures.errors
        print(route.padding(toLength: 46, withPad: " ", startingAt: 0)
              + String(format: "%10d %9.1f %7d %11d ", count, Double(count) / window, figures.errors, figures.transient)
              + right(ms(figures.latency.quantile(0.5)), 10) + " " + right(ms(figures.latency.quantile(0.99)), 10))
        for error in figures.firstErrors { print("    e.g. \(error)") }
    }
    if !server.buckets.isEmpty {
        // Prometheus buckets: 5, 10, 25, 50, 100, 250, 500 ms, 1, 2.5, 5, 10 s.
        func edge(_ seconds: Double) -> String { seconds.isFinite ? "≤ " + (seconds < 1 ? "\(Int(seconds * 1000)) ms" : "\(seconds) s") : "> 10 s" }
        print("registryd's own time per route (its histogram, all replicas; the bucket holding the quantile):")
        for route in server.buckets.keys.sorted() {
            guard let p50 = server.summary(route, 0.5), let p99 = server.summary(route, 0.99) else { continue }
            let within = (server.buckets[route]?[0.25] ?? 0) / Double(max(1, p50.count)) * 100
            print("  " + route.padding(toLength: 44, withPad: " ", startingAt: 0) + String(format: "%9d", p50.count)
                  + "   p50 \(edge(p50.edge))   p99 \(edge(p99.edge))   " + String(format: "%.1f %% within 250 ms", within))
        }
    }
    let allowed = total.routes.filter { !$0.key.contains("held") }.values.reduce(0) { $0 + $1.errors }
    print("errors outside held polls: \(allowed)")
    let lasting = total.routes.filter { !$0.key.contains("held") }.values.reduce(0) { $0 + $1.errors - $1.transient }
    print("errors a retry cannot get past: \(lasting)")
    print("submissions delivered after a retry: \(total.retried); not delivered by the end: \(total.undelivered)")
    if options.publish != nil {
        let (told, got) = (total.told, total.fanout)
        print("config fan-out (\(publishOutcome)): told \(told.count) of \(total.kiosks) kiosks, p50 \(ms(told.quantile(0.5))) ms, "
              + "p99 \(ms(told.quantile(0.99))) ms, last \(ms(told.quantile(1))) ms after the publish")
        print("config fan-out: told and downloaded by \(got.count) of \(total.kiosks) kiosks; "
              + "p50 \(ms(got.quantile(0.5))) ms, p99 \(ms(got.quantile(0.99))) ms, last \(ms(got.quantile(1))) ms after the publish"
              + "; downloads spread over \(total.spreadSeconds) s")
    }
    for (i, pid) in options.pids.enumerated() {
        guard let first = before[i], let up = held[i], let last = after[i] else { print("registryd \(pid): not readable"); continue }
        let cores = Double(last.cpuTicks - up.cpuTicks) / ticksPerSecond / window
        let perKiosk = Double(up.rss - first.rss) / Double(max(1, total.kiosks / max(1, options.pids.count))) / 1024
        print(String(format: "registryd %d: RSS %.0f MiB idle, %.0f MiB with the fleet up (%.1f KiB per kiosk), peak %.0f MiB; CPU %.2f cores; sockets peak %d",
                     pid, Double(first.rss) / 1_048_576, Double(up.rss) / 1_048_576, perKiosk, Double(peakRSS[i]) / 1_048_576, cores, peakSockets[i]))
    }
}
