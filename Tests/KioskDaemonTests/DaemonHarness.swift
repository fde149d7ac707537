import Foundation
import IDCardReader
import KioskAPI
import KioskClient
import KioskCore
@testable import KioskDaemon
import Logging
import Registry
import TestSupport

/// A registry held in memory: one enterprise whose legal representative is the simulator's
/// resident card holder, and that holder's social-insurance record.
actor FakeGateway: RegistryGateway {
    var record: EnterpriseRecord
    var person: SocialInsuranceRecord
    var reachable = true
    var applications: [ApplicationDraft] = []
    var ratings: [RatingRecord] = []
    var printRecords: [PrintRecord] = []

    init() throws {
        let fixtures = BuiltProducts.repositoryPath("Tests/Fixtures/documents")
        record = try JSONDecoder().decode(EnterpriseRecord.self,
                                          from: Data(contentsOf: URL(fileURLWithPath: fixtures + "/archive-extract.json")))
        person = try JSONDecoder().decode(SocialInsuranceRecord.self,
                                          from: Data(contentsOf: URL(fileURLWithPath: fixtures + "/social-insurance-certificate.json")))
    }

    func setReachable(_ value: Bool) { reachable = value }

    /// How long the print-authorisation question takes (to take the card off meanwhile).
    var authorizeDelay: Duration = .zero
    /// Print authorisations asked for so far (a test waits for one to be under way).
    var authorizing = 0
    func setAuthorizeDelay(_ value: Duration) { authorizeDelay = value }

    func check() throws(GatewayError) { if !reachable { throw .unreachable("test: registry down") } }

    func enterprise(uscc: String) async throws(GatewayError) -> EnterpriseAnswer {
        try check()
        guard uscc == record.enterprise.uscc else { throw .notFound(uscc) }
        return EnterpriseAnswer(enterprise: record.enterprise, status: record.status, archive: record.archive)
    }
    func search(name: String, limit: Int) async throws(GatewayError) -> (results: [EnterpriseSummary], cachedAgeSeconds: Int?) {
        try check()
        guard record.enterprise.name.contains(name) else { return ([], nil) }
        return ([EnterpriseSummary(uscc: record.enterprise.uscc, name: record.enterprise.name, status: record.status,
                                   legalRepresentative: record.enterprise.legalRepresentative)], nil)
    }
    func socialInsurance(idNumber: String) async throws(GatewayError) -> SocialInsuranceRecord {
        try check()
        guard idNumber == person.idNumber else { throw .notFound("no record") }
        return person
    }
    func authorizePrint(kind: String, uscc: String, idNumber: String) async throws(GatewayError) -> Bool {
        try check()
        authorizing += 1
        if authorizeDelay > .zero { try? await Task.sleep(for: authorizeDelay) }
        return uscc == record.enterprise.uscc && idNumber == record.legalRepresentativeIdNumber
    }
    func submitApplication(_ draft: ApplicationDraft) async throws(GatewayError) -> QueuedApplication {
        applications.append(draft)
        return QueuedApplication(trackingNumber: "YT-TEST-\(applications.count)", registryNumber: reachable ? "R-\(applications.count)" : nil)
    }
    func submitRating(_ rating: RatingRecord) async throws(GatewayError) { ratings.append(rating) }
    func recordPrint(_ record: PrintRecord) async throws(GatewayError) { printRecords.append(record) }

    var tickets: [String: HallTicket] = [:]
    var offlineNumbers: [String: Int] = [:]
    var ticketReports: [TicketReport] = []
    var checkInAnswer: CheckInAnswer?
    func setCheckIn(_ answer: CheckInAnswer?) { checkInAnswer = answer }
    func reserveTicket(site: String, _ request: TicketRequest) async throws(GatewayError) -> HallTicket {
        try check()
        if let known = tickets[request.ticketId] { return known }
        let ticket = HallTicket(ticketId: request.ticketId, site: site, queue: request.queue,
                                number: HallNames.onlineNumber(queue: request.queue, sequence: tickets.count + 1), serviceCode: request.serviceCode,
                                issuedAt: Date(), priority: false, state: .reserved, ahead: ticketReports.count)
        tickets[request.ticketId] = ticket
        return ticket
    }
    func checkIn(site: String, _ request: CheckInRequest) async throws(GatewayError) -> CheckInAnswer {
        try check()
        return checkInAnswer ?? .refused(Problem(statusCode: 404, code: "appointment.not-found", title: "", detail: "none"))
    }
    func offlineSequence(ticketId: String, day: String, queue: String) async throws(GatewayError) -> Int {
        if let known = offlineNumbers[ticketId] { return known }
        offlineNumbers[ticketId] = offlineNumbers.count + 1
        return offlineNumbers.count
    }
    func hasOfflineSequence(ticketId: String) async -> Bool { offlineNumbers[ticketId] != nil }
    func reportTicket(_ report: TicketReport) async throws(GatewayError) { ticketReports.append(report) }

    var progressRecords: [ApplicationProgress] = []
    func setProgress(_ records: [ApplicationProgress]) { progressRecords = records }
    func progress(number: String) async throws(GatewayError) -> ApplicationProgress? {
        try check()
        return progressRecords.first { $0.trackingNumber == number || $0.registryNumber == number }
    }
    func progress(idNumber: String) async throws(GatewayError) -> [ApplicationProgress] {
        try check()
        return progressRecords
    }
    var figures: [String: KnownQueueFigure] = [:]
    func queueFigure(_ queue: String) async -> KnownQueueFigure? { figures[queue] }
    func saveQueueFigure(_ queue: String, _ figure: KnownQueueFigure) async { figures[queue] = figure }
    var deliveryRequests: [DeliveryRequest] = []
    func requestDelivery(_ request: DeliveryRequest) async throws(GatewayError) { deliveryRequests.append(request) }
    func checkName(_ proposedName: String) async throws(GatewayError) -> NameCheckResult {
        guard reachable else { throw .unreachable("test") }
        return EnterpriseNames.check(proposedName, against: [])
    }
    var cardLosses: [CardLossReport] = []
    func reportCardLoss(_ report: CardLossReport) async throws(GatewayError) -> String? {
        cardLosses.append(report)
        return reachable ? "GS-TEST-\(cardLosses.count)" : nil
    }
    var partyConfirmations: [PartyConfirmation] = []
    var invitations: [OpeningInvitation] = []
    func openings(idNumber: String) async throws(GatewayError) -> [OpeningInvitation] {
        guard reachable else { throw .unreachable("test: offline") }
        return invitations
    }
    func confirmParty(_ confirmation: PartyConfirmation) async throws(GatewayError) -> String? {
        partyConfirmations.append(confirmation)
        return reachable ? "QR-TEST-\(partyConfirmations.count)" : nil
    }
    func queuedConfirmations(idNumber: String) async -> Set<String> {
        reachable ? [] : Set(partyConfirmations.filter { $0.applicant.idNumber == idNumber }.map(\.trackingNumber))
    }
    var pensionConfirmations: [PensionConfirmation] = []
    func confirmPension(_ confirmation: PensionConfirmation) async throws(GatewayError) { pensionConfirmations.append(confirmation) }

    /// Applications submitted while unreachable stay undelivered.
    func undelivered(trackingNumber: String?, idNumber: String?) async -> [ApplicationSubmission] {
        applications.enumerated().filter { !reachable || $0.offset >= applications.count }.map { index, draft in
            ApplicationSubmission(trackingNumber: "YT-TEST-\(index + 1)", applicant: draft.applicant, proposedName: draft.proposedName,
                                  type: draft.type, registeredCapital: draft.registeredCapital, address: draft.address,
                                  businessScope: draft.businessScope, submittedAt: draft.submittedAt)
        }.filter { a in (trackingNumber == nil || a.trackingNumber == trackingNumber) && (idNumber == nil || a.applicant.idNumber == idNumber) }
    }
}

/// Log lines kept in memory, to prove what was (not) logged.
final class CapturedLog: @unchecked Sendable {
    private var lines: [String] = []
    private let lock = NSLock()
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var text: String { lock.withLock { lines.joined(separator: "\n") } }
}

struct CapturingLogHandler: LogHandler {
    let log: CapturedLog
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        log.append("\(event.level) \(event.message) \(all)")
    }
}

/// kioskd running in this process on sockets in a temporary directory, with the in-process
/// reader simulator and, when given, a private cupsd. Without a gateway, kioskd makes its own
/// from the configuration: the registry client with its outbox, relay and heartbeat.
final class DaemonHarness: @unchecked Sendable {
    let directory: TemporaryDirectory
    let simulator = ReaderSimulator()
    let daemon: Kioskd
    let client: CitizenSocketClient
    let log = CapturedLog()
    private var task: Task<Void, any Error>?

    init(gateway: (any RegistryGateway)?, cups: CupsTestBed? = nil, idleTimeout: Int? = nil,
         configFeed: (any ConfigFeed)? = nil, trustedRoot: Data? = nil) async throws {
        directory = try TemporaryDirectory(prefix: "kd")
        let config = directory.url.appendingPathComponent("config")
        try FileManager.default.copyItem(atPath: BuiltProducts.repositoryPath("kiosk-config"), toPath: config.path)
        if let trustedRoot { try trustedRoot.write(to: config.appendingPathComponent("keys/root.json")) }
        let state = directory.url.appendingPathComponent("state")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: BuiltProducts.repositoryPath("scripts/testbeds/demo-document-signing.key"),
                                         toPath: state.appendingPathComponent("document-signing.key").path)
        var options = DaemonOptions(configDirectory: config, stateDirectory: state,
                                    runtimeDirectory: directory.url.appendingPathComponent("run"),
                                    cupsServer: cups?.environment["CUPS_SERVER"] ?? directory.path + "/no-cups.sock")
        options.allowDemoKeys = true  // the embedded configuration's demonstration keys
        let simulator = self.simulator
        let log = self.log
        daemon = try Kioskd(options: options, gateway: gateway,
                            readerOpener: { () throws(ReaderError) -> any ReaderTransport in SimulatedTransport(simulator: simulator) },
                            configFeed: configFeed, registryProbe: { _ in nil },
                            logger: Logger(label: "kioskd") { _ in CapturingLogHandler(log: log) })
        if let idleTimeout {
            await daemon.sessions.setTiming(idleTimeout: TimeInterval(idleTimeout), warningLead: 1)
        }
        client = CitizenSocketClient(socketPath: options.citizenSocket, requestTimeout: .seconds(20))
        let daemon = self.daemon
        task = Task { try await daemon.run() }
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: options.technicianSocket)
            || !FileManager.default.fileExists(atPath: options.citizenSocket) {
            try await Task.sleep(for: .milliseconds(20))
        }
        try await waitFor("reader connected") { await daemon.state.readerPresent }
    }

    var options: DaemonOptions { daemon.options }

    /// The citizen's event stream, returned once kioskd has it subscribed, so that no event
    /// caused after this call is missed.
    func subscribedEvents() async throws -> AsyncStream<KioskEvent>.AsyncIterator {
        let hub = daemon.hub
        let before = hub.subscriberCount
        let events = client.events()
        try await waitFor("the event stream subscribed") { hub.subscriberCount > before }
        return events.makeAsyncIterator()
    }

    /// Waits until the reader poller has gone round `rounds` more times: it has seen what the
    /// simulated reader holds now.
    func readerPolled(rounds: Int = 2) async throws {
        let poller = daemon.readerPoller
        let start = poller.cycles
        try await waitFor("the reader polled") { poller.cycles >= start + rounds }
    }

    /// Places a sample card and waits for the session it starts.
    func placeCard(_ kind: String = "resident") async throws {
        _ = simulator.control("place \(kind)")
        try await waitFor("session started") { await self.daemon.sessions.isActive }
    }

    func removeCard() async throws {
        _ = simulator.control("remove")
        try await waitFor("session ended") { await !self.daemon.sessions.isActive }
    }

    /// `curl` on one of the daemon's sockets: (HTTP status, body).
    func curl(_ socket: String, _ method: String, _ path: String, body: String? = nil, asUser user: Int? = nil) throws -> (Int, String) {
        var arguments = ["-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "10", "--unix-socket", socket, "-X", method]
        if let body { arguments += ["-H", "Content-Type: application/json", "--data-binary", body] }
        arguments.append("http://kioskd" + path)
        var executable = "/usr/bin/curl"
        if let user {
            arguments = ["--reuid=\(user)", "--regid=\(user)", "--clear-groups", executable] + arguments
            executable = "/usr/bin/setpriv"
        }
        let result = try ProcessRunner.run(executable, arguments, timeout: 20)
        let parts = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let code = Int(parts.last ?? "") ?? 0
        return (code, parts.dropLast().joined(separator: "\n"))
    }

    func stop() async {
        await daemon.shutdown()
        _ = await task?.result
        await client.shutdown()
    }

    /// Every byte kioskd wrote: state files and logs.
    func everythingWritten() throws -> Data {
        var all = Data(log.text.utf8)
        let fm = FileManager.default
        for root in [options.stateDirectory, options.runtimeDirectory] {
            guard let walker = fm.enumerator(at: root, includingPropertiesForKeys: nil) else { continue }
            for case let url as URL in walker {
                var isDirectory: ObjCBool = false
                if fm.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                   let data = try? Data(contentsOf: url) {
                    all.append(data)
                }
            }
        }
        return all
    }
}

struct Timeout: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

func waitFor(_ what: String, seconds: Double = 10, _ condition: @Sendable () async -> Bool) async throws {
    guard await waitUntil(seconds, condition) else { throw Timeout(what: what) }
}
