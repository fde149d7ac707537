import Foundation
import GRDB
import KioskCore
import HTTPTypes
import OpenAPIRuntime
import PostgresNIO
import Registry
import RegistryAPI
import RegistryServer

/// A registryd child process for the registry benchmarks (built next to this program).
final class BenchRegistry {
    let process = Process()
    let port: Int
    let dir: String
    /// The store registryd runs on: `--db FILE`, or a private PostgreSQL server's arguments when
    /// `BENCH_STORE=postgres` (started here with scripts/testbeds/postgres.sh, stopped with it).
    let storeArguments: [String]
    let postgres: Bool

    /// Which store the registry benchmarks use, as `BENCH_STORE` says (sqlite by default).
    static var store: String { ProcessInfo.processInfo.environment["BENCH_STORE"] ?? "sqlite" }

    init(credentials: KioskCredentials, extra: [String] = []) throws {
        let registryd = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("registryd").path
        guard FileManager.default.fileExists(atPath: registryd) else { throw BenchError("build registryd in the same configuration first") }
        dir = NSTemporaryDirectory() + "/bench-registry-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        switch Self.store {
        case "sqlite":
            postgres = false
            storeArguments = ["--db", dir + "/registry.sqlite"]
        case "postgres":
            postgres = true
            // The server runs as its own user: the folder must be open to it.
            chmod(dir, 0o755)
            let (socket, user, database) = try Self.startPostgres(dir + "/pg")
            storeArguments = ["--postgres-socket", socket, "--postgres-user", user, "--postgres-database", database]
        default:
            throw BenchError("BENCH_STORE is sqlite or postgres, not '\(Self.store)'")
        }
        let add = Process()
        add.executableURL = URL(fileURLWithPath: registryd)
        add.arguments = ["kiosk", "add", credentials.kioskId, "--public-key", credentials.publicKeyBase64] + storeArguments
        add.standardOutput = FileHandle.nullDevice
        try add.run()
        add.waitUntilExit()
        port = Int.random(in: 30000...45000)
        process.executableURL = URL(fileURLWithPath: registryd)
        process.arguments = storeArguments + ["--listen", "127.0.0.1:\(port)",
                                              "--seed", repository + "/scripts/testbeds/demo-seed.json"] + extra
        process.standardOutput = FileHandle.nullDevice
        FileManager.default.createFile(atPath: dir + "/registryd.log", contents: nil)
        process.standardError = FileHandle(forWritingAtPath: dir + "/registryd.log")
        try process.run()
    }

    /// Starts a private PostgreSQL server in `dir` (scripts/testbeds/postgres.sh): its socket, user and database.
    static func startPostgres(_ dir: String) throws -> (socket: String, user: String, database: String) {
        try script(["start", dir])
        let environment = try String(contentsOfFile: dir + "/env", encoding: .utf8)
        var values: [String: String] = [:]
        for line in environment.split(separator: "\n") {
            let pair = line.replacingOccurrences(of: "export ", with: "").split(separator: "=", maxSplits: 1)
            if pair.count == 2 { values[String(pair[0])] = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "'")) }
        }
        guard let socket = values["YITIJI_PG_SOCKET"], let user = values["YITIJI_PG_USER"], let database = values["YITIJI_PG_DATABASE"] else {
            throw BenchError("scripts/testbeds/postgres.sh wrote no socket, user and database")
        }
        return (socket, user, database)
    }

    /// The end of registryd's log, for a benchmark that failed.
    var logTail: String {
        let text = (try? String(contentsOfFile: dir + "/registryd.log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(10).joined(separator: "\n")
    }

    /// Runs scripts/testbeds/postgres.sh with `arguments`: spawned and waited for with waitpid,
    /// since the server it leaves behind inherits descriptors that keep Foundation's `Process`
    /// waiting for ever.
    static func script(_ arguments: [String]) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = (["/bin/bash", repository + "/scripts/testbeds/postgres.sh"] + arguments).map { strdup($0) }
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/bash", &actions, nil, argv + [nil], environ)
        var status: Int32 = 0
        guard spawned == 0, waitpid(pid, &status, 0) == pid, status == 0 else {
            throw BenchError("scripts/testbeds/postgres.sh \(arguments.joined(separator: " ")) failed")
        }
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    func waitUntilUp(_ client: RegistryClient) async throws {
        for _ in 0..<300 {
            if (try? await client.health()) != nil { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw BenchError("registryd did not start")
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        if postgres { try? Self.script(["stop", dir + "/pg"]) }
        try? FileManager.default.removeItem(atPath: dir)
    }
}

func benchRating(_ i: Int) -> RatingRecord {
    RatingRecord(visitId: String(format: "visit-%08d", i), level: 1 + i % 5, reason: i % 7 == 0 ? "等候时间长" : nil,
                 serviceCode: "archive-query", formVersion: 3, ratedAt: Date())
}

func benchDraft(_ i: Int) -> ApplicationDraft {
    ApplicationDraft(applicant: Applicant(idNumber: "441900199003181234", name: "张三"), proposedName: "东莞市测试\(i)科技有限公司",
                     type: "有限责任公司(自然人独资)", registeredCapital: "人民币壹佰万元", address: "广东省东莞市南城街道宏图路1号",
                     businessScope: "软件开发；信息技术咨询服务；数据处理和存储支持服务。")
}

/// Durable enqueue (encrypt + one WAL transaction with synchronous=FULL) beside a raw SQLite
/// insert of the same size with the same settings, on the same file system.
func outboxEnqueueBenchmark() throws {
    let dir = NSTemporaryDirectory() + "/bench-outbox-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let count = 3000
    var policy = OutboxPolicy()
    policy.applicationHardCap = count * 2
    policy.ratingCap = count * 2
    let outbox = try Outbox(path: dir + "/outbox.sqlite", keyFile: dir + "/outbox.key", kioskId: "BENCH-01", policy: policy)
    let sample = try RegistryJSON.encoder().encode(ApplicationSubmission(
        trackingNumber: "YT-BENCH-01-20261123-000001", applicant: benchDraft(0).applicant, proposedName: benchDraft(0).proposedName,
        type: benchDraft(0).type, registeredCapital: benchDraft(0).registeredCapital, address: benchDraft(0).address,
        businessScope: benchDraft(0).businessScope, submittedAt: Date()))
    var config = Configuration()
    config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL; PRAGMA secure_delete = ON") }
    let raw = try DatabasePool(path: dir + "/raw.sqlite", configuration: config)
    try raw.write { db in
        try db.execute(sql: """
            CREATE TABLE item (id INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL, key TEXT NOT NULL UNIQUE, tracking TEXT,
                               payload BLOB NOT NULL, created_at REAL NOT NULL, next_attempt_at REAL NOT NULL)
            """)
    }
    let blob = Data(repeating: 0xA5, count: sample.count + 28)
    for round in 0..<2 {
        let rawTime = try time {
            for i in 0..<count {
                try raw.write { db in
                    try db.execute(sql: "INSERT INTO item (stream, key, tracking, payload, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)",
                                   arguments: ["applications", "\(round)-\(i)", "YT-\(round)-\(i)", blob, 0.0, 0.0])
                }
            }
        }
        let appTime = try time { for i in 0..<count { try outbox.enqueueApplication(benchDraft(i)) } }
        let ratingTime = try time { for i in 0..<count { try outbox.enqueue(.ratings, benchRating(i)) } }
        guard round == 1 else { continue }  // the first round warms up
        let rawRate = Double(count) / rawTime, appRate = Double(count) / appTime, ratingRate = Double(count) / ratingTime
        print(String(format: "raw SQLite insert (WAL, synchronous=FULL, %d-byte blob): %.0f rows/s", blob.count, rawRate))
        print(String(format: "outbox enqueue, application (tracking number + encrypt): %.0f items/s = %.2f× raw", appRate, appRate / rawRate))
        print(String(format: "outbox enqueue, rating: %.0f items/s = %.2f× raw", ratingRate, ratingRate / rawRate))
    }
}

/// Items per second from the outbox to a live registryd over loopback (batched, streams side by side).
func relayDrainBenchmark() async throws {
    let credentials = try KioskCredentials.generate(kioskId: "BENCH-01")
    let registry = try BenchRegistry(credentials: credentials)
    defer { registry.stop() }
    let client = RegistryClient(configuration: RegistryClientConfiguration(baseURL: registry.baseURL, credentials: credentials))
    try await registry.waitUntilUp(client)
    let dir = registry.dir
    let perStream = 4000
    var policy = OutboxPolicy()
    policy.applicationHardCap = perStream * 2
    let outbox = try Outbox(path: dir + "/outbox.sqlite", keyFile: dir + "/outbox.key", kioskId: "BENCH-01", policy: policy)
    for i in 0..<perStream {
        try outbox.enqueueApplication(benchDraft(i))
        try outbox.enqueue(.ratings, benchRating(i))
        try outbox.enqueue(.printRecords, PrintRecord(visitId: "v\(i)", documentKind: "business-licence", uscc: "91441900100000008X",
                                                      verificationCode: "ABCD-\(i)", outcome: "completed", pages: 1, printedAt: Date()))
    }
    let relay = OutboxRelay(outbox: outbox, client: client)
    let total = try await outbox.status().depth
    let start = DispatchTime.now().uptimeNanoseconds
    let task = Task { try await relay.run() }
    while try await outbox.status().depth > 0 {
        guard DispatchTime.now().uptimeNanoseconds - start < 300_000_000_000 else {
            task.cancel()
            let status = try await outbox.status()
            throw BenchError("the outbox still held \(status.depth) items after 300 s; registryd's log ends:\n\(registry.logTail)")
        }
        try await Task.sleep(for: .milliseconds(5))
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    task.cancel()
    _ = await task.result
    let dead = try await outbox.status().deadLetters
    print("outbox relay drain to registryd (\(BenchRegistry.store), loopback, batches of \(policy.batchSize), 3 streams): "
          + String(format: "%d items in %.2f s = %.0f items/s (%d dead letters)", total, seconds, Double(total) / seconds, dead))
}

/// Signed reads: GET /v1/enterprises/{uscc} through the registry client, 32 at a time.
func signedReadBenchmark() async throws {
    let credentials = try KioskCredentials.generate(kioskId: "BENCH-01")
    let registry = try BenchRegistry(credentials: credentials)
    defer { registry.stop() }
    let client = RegistryClient(configuration: RegistryClientConfiguration(baseURL: registry.baseURL, credentials: credentials))
    try await registry.waitUntilUp(client)
    for _ in 0..<200 { _ = try await client.enterprise(uscc: "91441900100000008X") }
    let duration = 5.0
    let start = Date()
    let counts = try await withThrowingTaskGroup(of: [Double].self) { group in
        for _ in 0..<32 {
            group.addTask {
                var samples: [Double] = []
                while Date().timeIntervalSince(start) < duration {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    _ = try await client.enterprise(uscc: "91441900100000008X")
                    samples.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
                }
                return samples
            }
        }
        var all: [Double] = []
        for try await s in group { all += s }
        return all
    }
    print(String(format: "signed GET /v1/enterprises/{uscc}, 32 concurrent, registry client: %.0f requests/s", Double(counts.count) / duration))
    report("signed GET latency", counts, unit: "ms")
}

/// Runs an async benchmark from the synchronous list.
func runAsync(_ body: @escaping @Sendable () async throws -> Void) throws {
    let semaphore = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var failure: (any Error)?
    Task {
        do { try await body() } catch { failure = error }
        semaphore.signal()
    }
    semaphore.wait()
    if let failure { throw failure }
}

/// Signed requests made ahead for a load generator that cannot sign (wrk): a fresh kiosk key,
/// its public half in `$BENCH_SIGN_OUT/kiosk.pub` ("ID BASE64"), and `$BENCH_SIGN_COUNT` lines of
/// "timestamp nonce signature" for `GET $BENCH_SIGN_PATH`, each nonce once, in `signed.txt`.
func signReads() throws {
    let environment = ProcessInfo.processInfo.environment
    guard let out = environment["BENCH_SIGN_OUT"], let path = environment["BENCH_SIGN_PATH"],
          let count = Int(environment["BENCH_SIGN_COUNT"] ?? ""), count > 0 else {
        throw BenchError("sign-reads needs BENCH_SIGN_OUT (a folder), BENCH_SIGN_PATH (/v1/...) and BENCH_SIGN_COUNT (> 0)")
    }
    let credentials = try KioskCredentials.generate(kioskId: "BENCH-SIGNED")
    try "\(credentials.kioskId) \(credentials.publicKeyBase64)\n".write(toFile: out + "/kiosk.pub", atomically: true, encoding: .utf8)
    var text = ""
    text.reserveCapacity(count * 160)
    for _ in 0..<count {
        let headers = Dictionary(uniqueKeysWithValues: credentials.headers(method: "GET", pathAndQuery: path, body: Data()))
        text += "\(headers[KioskSignature.timestampHeader] ?? "") \(headers[KioskSignature.nonceHeader] ?? "") \(headers[KioskSignature.signatureHeader] ?? "")\n"
    }
    try text.write(toFile: out + "/signed.txt", atomically: true, encoding: .utf8)
}

/// A batch's answer of 200 receipts decoded by the generated registry client, made per call as
/// `RegistryClient` makes it: with the runtime's default date transcoder, then with the registry's.
func generatedClientDecodeBenchmark() async throws {
    struct Canned: ClientTransport {
        let body: Data
        func send(_ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String) async throws -> (HTTPResponse, HTTPBody?) {
            (HTTPResponse(status: .ok, headerFields: [.contentType: "application/json"]), HTTPBody(self.body))
        }
    }
    let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
    let answer = BatchResponse(results: (0..<200).map {
        BatchResult(idempotencyKey: "key-\($0)", receipt: SubmissionReceipt(kind: .ratings, registryNumber: "PJ-20261205-\(100_000 + $0)", receivedAt: now),
                    problem: nil)
    })
    let transport = Canned(body: try RegistryJSON.encoder().encode(answer))
    let request = BatchRequest(items: [BatchItem(kind: .ratings, idempotencyKey: "key-0", body: Data("{}".utf8))])
    for (name, configuration) in [("runtime's default transcoder", Configuration()), ("RegistryDateTranscoder", RegistryClient.wireConfiguration)] {
        var samples: [Double] = []
        for _ in 0..<500 {
            let start = DispatchTime.now().uptimeNanoseconds
            let client = Client(serverURL: URL(fileURLWithPath: "/"), configuration: configuration, transport: transport)
            let decoded = try await client.postSubmissions(body: .json(request)).ok.body.json
            guard decoded.results.count == 200 else { throw BenchError("decoded \(decoded.results.count) results") }
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        report("generated client: a batch answer of 200 receipts (\(name))", samples)
    }
}

/// The CPU registryd's configuration catalogue spends holding a fleet's long polls with no
/// publish: `BENCH_HELD` polls (12,500 by default, a quarter of 50,000 kiosks) waiting at once,
/// each ending at its own deadline (1 to 60 s) and polled again at once, as kiosks do.
func catalogueWatchBenchmark() async throws {
    let held = Int(ProcessInfo.processInfo.environment["BENCH_HELD"] ?? "") ?? 12_500
    let dir = NSTemporaryDirectory() + "yitiji-catalogue-\(getpid())"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let catalogue = ConfigCatalogue(store: try SQLiteRegistryStore(path: dir + "/registry.sqlite"))
    let stop = ContinuousClock.now + .seconds(25)
    let answered = Locked(0)
    func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
    try await withThrowingTaskGroup(of: Void.self) { group in
        for i in 0..<held {
            group.addTask {
                var wait = Duration.milliseconds(1000 + (i * 59_000) / held)
                while ContinuousClock.now < stop {
                    _ = await catalogue.waitForChange(after: 0, until: min(stop, ContinuousClock.now + wait))
                    answered.withLock { $0 += 1 }
                    wait = .seconds(60)
                }
            }
        }
        // Measured once every poll is held, for 15 s.
        try await Task.sleep(for: .seconds(5))
        let (cpu, start, before) = (cpuSeconds(), ContinuousClock.now, answered.withLock { $0 })
        try await Task.sleep(for: .seconds(15))
        let seconds = (ContinuousClock.now - start).seconds
        let used = cpuSeconds() - cpu, ended = answered.withLock { $0 } - before
        print("configuration catalogue holding \(held) polls (\(String(format: "%.0f", Double(ended) / seconds)) deadlines a second): "
              + "\(String(format: "%.1f", used / seconds * 1000)) ms of CPU a second (\(String(format: "%.1f", used / seconds * 100)) % of a core)")
        try await group.waitForAll()
    }
}

/// Enterprise name search on a registry of `BENCH_ENTERPRISES` (100,000 by default) generated
/// names, SQLite (or PostgreSQL with `BENCH_STORE=postgres`): the indexed search beside the scan
/// it replaced (`name LIKE '%…%' ORDER BY name LIMIT 20` over the whole table, its records decoded
/// as the store decodes them), in one run.
func nameSearchBenchmark() async throws {
    let count = Int(ProcessInfo.processInfo.environment["BENCH_ENTERPRISES"] ?? "") ?? 100_000
    let demo = try RegistrySeed.load(Data(contentsOf: URL(fileURLWithPath: repository + "/scripts/testbeds/demo-seed.json")))
    guard let template = demo.enterprises.first else { throw BenchError("the demo seed holds no enterprise") }
    let cities = ["东莞市", "广州市", "深圳市", "佛山市", "惠州市", "中山市", "珠海市", "江门市", "肇庆市", "清远市"]
    let pool = Array("云端聚源华信启航宏图瑞丰锦程鸿福东方新华金盛恒达永安泰和嘉禾天成博远卓越万通汇丰长城星辰明德正业鼎盛隆昌安泰富源茂林春晖海纳同心诚信创新智联优品乐活美佳康宁顺发兴旺")
    let trades = ["科技", "商贸", "物流", "餐饮管理", "建筑工程", "文化传媒", "医疗器械", "农业发展", "电子", "服装", "食品", "教育咨询"]
    var generator = SystemRandomNumberGenerator()
    var records: [EnterpriseRecord] = []
    for i in 0..<count {
        var record = template
        record.enterprise.uscc = String(format: "91441900MA%08d", i)
        let mark = String([pool.randomElement(using: &generator) ?? "云", pool.randomElement(using: &generator) ?? "端"])
        record.enterprise.name = (cities.randomElement(using: &generator) ?? "") + mark + (trades.randomElement(using: &generator) ?? "") + "有限公司"
        records.append(record)
    }
    let sample = records[count / 2].enterprise.name
    let markAndTrade = String(sample.dropFirst(3).dropLast(4))
    let queries = [("a mark and trade, \(markAndTrade)", markAndTrade), ("a mark, \(markAndTrade.prefix(2))", String(markAndTrade.prefix(2))),
                   ("a common word, 科技", "科技"), ("a name no one has, 不存在的公司", "不存在的公司"), ("one character, 云", "云")]
    let dir = NSTemporaryDirectory() + "yitiji-names-\(getpid())"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    chmod(dir, 0o755)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let store: any RegistryStore
    let scan: @Sendable (String) async throws -> Int
    var stopPostgres: (() -> Void)?
    if BenchRegistry.store == "postgres" {
        let (socket, user, database) = try BenchRegistry.startPostgres(dir + "/pg")
        stopPostgres = { try? BenchRegistry.script(["stop", dir + "/pg"]) }
        let postgres = PostgresRegistryStore(client: PostgresRegistryStore.makeClient(unixSocketPath: socket, username: user, database: database))
        let direct = PostgresRegistryStore.makeClient(unixSocketPath: socket, username: user, database: database)
        let pools = [Task { await postgres.run() }, Task { await direct.run() }]
        let previous = stopPostgres
        stopPostgres = { pools.forEach { $0.cancel() }; previous?() }
        try await postgres.migrate()
        store = postgres
        scan = { name in
            let pattern = "%" + name + "%"
            var found = 0
            for try await record in try await direct.query("SELECT record FROM enterprise WHERE name LIKE \(pattern) ORDER BY name LIMIT 20").decode(String.self) {
                _ = EnterpriseListing(try RegistryJSON.decoder().decode(EnterpriseRecord.self, from: Data(record.utf8)))
                found += 1
            }
            return found
        }
    } else {
        store = try SQLiteRegistryStore(path: dir + "/registry.sqlite")
        let direct = try DatabasePool(path: dir + "/registry.sqlite")
        scan = { name in
            try await direct.read { db in
                try String.fetchAll(db, sql: "SELECT record FROM enterprise WHERE name LIKE ? ORDER BY name LIMIT 20", arguments: ["%" + name + "%"])
                    .map { EnterpriseListing(try RegistryJSON.decoder().decode(EnterpriseRecord.self, from: Data($0.utf8))) }.count
            }
        }
    }
    defer { stopPostgres?() }
    let loadStart = Date()
    try await store.load(RegistrySeed(enterprises: records, persons: []))
    print(String(format: "name search over %d enterprises (%@): loaded with the index in %.1f s", count, BenchRegistry.store, Date().timeIntervalSince(loadStart)))
    for (label, query) in queries {
        var indexed: [Double] = [], scanned: [Double] = []
        var found = (0, 0)
        for round in 0..<20 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            found.0 = try await store.searchEnterprises(name: query, limit: 20).count
            let t1 = DispatchTime.now().uptimeNanoseconds
            if round < 5 { found.1 = try await scan(query) }
            let t2 = DispatchTime.now().uptimeNanoseconds
            indexed.append(Double(t1 - t0) / 1e9)
            if round < 5 { scanned.append(Double(t2 - t1) / 1e9) }
        }
        guard found.0 == found.1 else { throw BenchError("\(label): the index found \(found.0), the scan \(found.1)") }
        indexed.sort()
        scanned.sort()
        print(String(format: "  %@: %d found; indexed median %.2f ms, the scan median %.2f ms", label, found.0,
                     indexed[indexed.count / 2] * 1000, scanned[scanned.count / 2] * 1000))
    }
}
