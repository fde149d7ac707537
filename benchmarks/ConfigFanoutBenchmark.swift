import AsyncHTTPClient
import Crypto
import Foundation
import KioskConfig
import KioskDaemon
import Logging
import Registry
import RegistryServer

/// A throwaway fleet root (one root key) and the publisher key it names.
func benchFleetRoot() throws -> (signedRoot: Data, publisher: Curve25519.Signing.PrivateKey) {
    let rootKey = Curve25519.Signing.PrivateKey(), publisher = Curve25519.Signing.PrivateKey()
    let root = BundleSigning.rootMetadata(version: 1, expires: "2099-01-01T00:00:00Z", rootKeys: [rootKey.publicKey], rootThreshold: 1,
                                          publisherKeys: [publisher.publicKey], publisherThreshold: 1)
    return (try BundleSigning.signRoot(root, by: [rootKey]), publisher)
}

/// Publish-to-applied across simulated kiosks: each has its own key, trusted root, configuration
/// store and agent, and keeps a long poll open to one registryd; a fleet bundle is published into
/// registryd's database and the clock stops when every kiosk has reported it committed.
func configFanoutBenchmark(kiosks: Int) async throws {
    let (signedRoot, publisher) = try benchFleetRoot()
    let operatorCredentials = try KioskCredentials.generate(kioskId: "bench-operator")
    let registry = try BenchRegistry(credentials: operatorCredentials)
    defer { registry.stop() }
    let store = try SQLiteRegistryStore(path: registry.dir + "/registry.sqlite")
    var logger = Logger(label: "bench")
    logger.logLevel = ProcessInfo.processInfo.environment["BENCH_DEBUG"] == nil ? .error : .debug
    // Each simulated kiosk is its own machine in a fleet: give them connections enough.
    var httpConfiguration = HTTPClient.Configuration()
    httpConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = kiosks * 2 + 8
    let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
    let base = URL(fileURLWithPath: repository + "/kiosk-config")
    var agents: [(ConfigAgent, RegistryConfigFeed)] = []
    for i in 0..<kiosks {
        let id = String(format: "bench-k%03d", i)
        let credentials = try KioskCredentials.generate(kioskId: id)
        try await store.addKiosk(id: id, publicKey: Data(base64Encoded: credentials.publicKeyBase64) ?? Data(), note: "bench")
        let state = URL(fileURLWithPath: registry.dir + "/\(id)")
        let configStore = try ConfigStore(stateDirectory: state, baseDirectory: base)
        try await configStore.installRoot(signedRoot)
        let sessions = SessionManager(hub: EventHub(), audit: nil, idleTimeout: 60, warningLead: 10)
        let agent = ConfigAgent(store: configStore, kioskId: id, site: "bench-site", sessions: sessions, audit: nil, logger: logger)
        var configuration = RegistryClientConfiguration(baseURL: registry.baseURL, credentials: credentials)
        configuration.deadline = .seconds(5)
        agents.append((agent, RegistryConfigFeed(base: RegistryClient(configuration: configuration, httpClient: http), site: "bench-site",
                                                 logger: logger, httpClient: http)))
    }
    try await registry.waitUntilUp(RegistryClient(configuration: RegistryClientConfiguration(baseURL: registry.baseURL, credentials: operatorCredentials)))
    let texts = try String(contentsOf: base.appendingPathComponent("texts.yaml"), encoding: .utf8)
    try await withThrowingTaskGroup(of: Void.self) { group in
        for (agent, feed) in agents {
            group.addTask { try await ConfigAgentService(agent: agent, feed: feed).run() }
        }
        // Let every kiosk open its poll, then publish.
        try await Task.sleep(for: .seconds(2))
        var samples: [Double] = []
        for version in 1...3 {
            let envelope = try BundleSigning.signBundle(
                version: version, expires: "2099-01-01T00:00:00Z", target: BundleTarget(scope: .fleet),
                files: ["texts.yaml": Data(texts.replacingOccurrences(of: "请将身份证放在读卡区", with: "请放置身份证 v\(version)").utf8)],
                by: [publisher])
            let start = ContinuousClock.now
            _ = try await store.publish(envelope: envelope, target: "fleet", version: version, stagePercent: 100, note: "bench", at: Date())
            var applied = 0
            while applied < kiosks {
                try await Task.sleep(for: .milliseconds(20))
                applied = try await store.configReports().filter { $0.report.version == version && $0.report.result == "committed" }.count
                if ContinuousClock.now - start > .seconds(120) { throw BenchError("only \(applied) of \(kiosks) kiosks applied v\(version)") }
            }
            let elapsed = ContinuousClock.now - start
            samples.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            try await Task.sleep(for: .seconds(1))
        }
        group.cancelAll()
        try? await http.shutdown()
        print("config-fanout: publish to applied and reported by all \(kiosks) kiosks (long poll, verify, stage, swap, report): "
              + samples.map { String(format: "%.2f s", $0) }.joined(separator: ", "))
    }
}

/// One real kiosk's apply alone: verify the signed bundle against the trusted root, stage it,
/// swap `current`, health-check and load it, and report to a live registryd; 20 versions in turn.
func configApplyBenchmark() async throws {
    let (signedRoot, publisher) = try benchFleetRoot()
    let credentials = try KioskCredentials.generate(kioskId: "bench-apply")
    let registry = try BenchRegistry(credentials: credentials)
    defer { registry.stop() }
    let client = RegistryClient(configuration: RegistryClientConfiguration(baseURL: registry.baseURL, credentials: credentials))
    try await registry.waitUntilUp(client)
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    let base = URL(fileURLWithPath: repository + "/kiosk-config")
    let configStore = try ConfigStore(stateDirectory: URL(fileURLWithPath: registry.dir + "/kiosk"), baseDirectory: base)
    try await configStore.installRoot(signedRoot)
    let agent = ConfigAgent(store: configStore, kioskId: credentials.kioskId, site: "bench-site",
                            sessions: SessionManager(hub: EventHub(), audit: nil, idleTimeout: 60, warningLead: 10), audit: nil, logger: logger)
    let feed = RegistryConfigFeed(base: client, site: "bench-site", logger: logger, httpClient: RegistryClient.sharedHTTPClient)
    let texts = try String(contentsOf: base.appendingPathComponent("texts.yaml"), encoding: .utf8)
    var samples: [Double] = []
    for version in 1...20 {
        let envelope = try BundleSigning.signBundle(
            version: version, expires: "2099-01-01T00:00:00Z", target: BundleTarget(scope: .fleet),
            files: ["texts.yaml": Data(texts.replacingOccurrences(of: "请将身份证放在读卡区", with: "请放置身份证 v\(version)").utf8)], by: [publisher])
        let start = ContinuousClock.now
        let entry = await agent.consider(envelope: envelope, feed: feed)
        samples.append((ContinuousClock.now - start).seconds)
        guard entry.result == .committed else { throw BenchError("v\(version) was not committed: \(entry.reason ?? "")") }
    }
    report("one kiosk's apply (verify, stage, swap, health check, load, report to registryd; \(texts.utf8.count / 1024) KiB texts.yaml)",
           samples, unit: "ms")
}
