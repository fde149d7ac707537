import Foundation
import KioskAPI
import KioskConfig
import KioskCore
import Logging
import Registry

/// The registry as kioskd uses it: signed queries through the registry client (public enterprise
/// data kept in the query cache and shown, marked, when the registry is unreachable; personal
/// data never cached), and every write queued in the durable outbox, delivered by the relay.
public final class RegistryBackedGateway: RegistryGateway {
    public let client: RegistryClient
    public let outbox: Outbox
    public let cache: QueryCache
    public let relay: OutboxRelay
    let logger: Logger
    /// Registry request latencies: count, total seconds, failures (for metrics).
    public let latency = Locked((count: 0, seconds: 0.0, failures: 0))
    /// Told how long each registry call took (the metrics' histogram).
    public let onRequest = Locked<(@Sendable (Duration) -> Void)?>(nil)
    /// How long an application waits for the registry's number before the receipt is printed
    /// with the kiosk's tracking number alone.
    let deliveryWait: Duration

    /// Opens the outbox, cache and credentials under `stateDirectory` for `settings`.
    /// A kiosk without a key gets one (mode 0600); its public key is logged for registration.
    public init(settings: KioskSettings, configurationDirectory: URL, stateDirectory: URL, keysDirectory: URL, logger: Logger,
                deliveryWait: Duration = .seconds(2)) throws {
        self.logger = logger
        self.deliveryWait = deliveryWait
        let keyFile = settings.registry.keyFile.hasPrefix("/") ? settings.registry.keyFile
            : stateDirectory.appendingPathComponent(settings.registry.keyFile).path
        let existed = FileManager.default.fileExists(atPath: keyFile)
        let command = try KioskEnrolment.ensureKey(settings: settings, stateDirectory: stateDirectory)
        if !existed { logger.notice("new kiosk key made; register it with the registry", metadata: ["command": "\(command)"]) }
        let credentials: KioskCredentials
        do { credentials = try KioskCredentials.load(kioskId: settings.kiosk.id, keyFile: keyFile) } catch {
            throw DaemonError.key("\(keyFile): \(error)")
        }
        var configuration = RegistryClientConfiguration(baseURL: settings.registry.url, credentials: credentials)
        do { configuration.trustRoots = try RegistryClientConfiguration.loadCA(optional: settings.registry.caPath(in: configurationDirectory)) } catch {
            throw DaemonError.key("registry.caFile: \(error)")
        }
        configuration.deadline = .milliseconds(Int64(settings.registry.requestTimeoutSeconds * 1000))
        configuration.attemptTimeout = .milliseconds(Int64(min(settings.registry.requestTimeoutSeconds, 2) * 1000))
        client = RegistryClient(configuration: configuration)
        do {
            outbox = try Outbox(path: stateDirectory.appendingPathComponent("outbox.sqlite").path,
                                keyFile: StateKeys.file("outbox.key", keysDirectory: keysDirectory).path, kioskId: settings.kiosk.id)
            cache = try QueryCache(path: stateDirectory.appendingPathComponent("cache.sqlite").path)
        } catch { throw DaemonError.stateNotWritable("\(stateDirectory.path): \(error)") }
        relay = OutboxRelay(outbox: outbox, client: client, logger: logger, idleInterval: .seconds(10))
    }

    static func gatewayError(_ error: RegistryClientError) -> GatewayError {
        switch error {
        case .unreachable(let d): return .unreachable(d)
        case .timeout: return .unreachable("no answer in time")
        case .circuitOpen(let s): return .unreachable("calls suspended for \(s) s after repeated failures")
        case .untrusted(let d): return .unreachable(d)
        case .malformedAnswer(let d): return .badAnswer(d)
        case .invalidRequest(let d): return .badAnswer(d)
        case .refused(let problem):
            if problem.statusCode == 404 { return .notFound(problem.detail) }
            return .refused(code: problem.code, detail: problem.detail)
        }
    }

    /// Times a registry call for the metrics.
    func timed<T>(_ body: () async throws(RegistryClientError) -> T) async throws(RegistryClientError) -> T {
        let start = ContinuousClock.now
        do {
            let value = try await body()
            record(start, failed: false)
            return value
        } catch {
            record(start, failed: true)
            throw error
        }
    }

    private func record(_ start: ContinuousClock.Instant, failed: Bool) {
        let elapsed = ContinuousClock.now - start
        onRequest.withLock { $0 }?(elapsed)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        latency.withLock {
            $0.count += 1
            $0.seconds += seconds
            if failed { $0.failures += 1 }
        }
    }

    public func enterprise(uscc: String) async throws(GatewayError) -> EnterpriseAnswer {
        do {
            let cached = try await timed { () throws(RegistryClientError) in try await cache.archive(uscc: uscc, via: client) }
            let archive = cached.value
            return EnterpriseAnswer(enterprise: archive.enterprise, status: archive.status, archive: archive.archive,
                                    cachedAgeSeconds: cached.fromCache ? cached.ageSeconds() : nil)
        } catch { throw Self.gatewayError(error) }
    }

    public func search(name: String, limit: Int) async throws(GatewayError) -> (results: [EnterpriseSummary], cachedAgeSeconds: Int?) {
        do {
            let found = try await timed { () throws(RegistryClientError) in try await client.search(name: name, limit: limit) }
            for hit in found { await cache.store(hit.enterprise) }
            return (found.map {
                EnterpriseSummary(uscc: $0.enterprise.uscc, name: $0.enterprise.name, status: $0.status,
                                  legalRepresentative: $0.enterprise.legalRepresentative)
            }, nil)
        } catch { throw Self.gatewayError(error) }
    }

    public func socialInsurance(idNumber: String) async throws(GatewayError) -> SocialInsuranceRecord {
        do { return try await timed { () throws(RegistryClientError) in try await client.socialInsurance(idNumber: idNumber) } } catch {
            throw Self.gatewayError(error)
        }
    }

    public func authorizePrint(kind: String, uscc: String, idNumber: String) async throws(GatewayError) -> Bool {
        let printKind: PrintKind = kind == "business-licence" ? .businessLicence : .archive
        do {
            return try await timed { () throws(RegistryClientError) in
                try await client.authorizePrint(kind: printKind, uscc: uscc, idNumber: idNumber)
            }.allowed
        } catch {
            if case .refused(let problem) = error, problem.code == "print.not-entitled" { return false }
            throw Self.gatewayError(error)
        }
    }

    public func checkName(_ proposedName: String) async throws(GatewayError) -> NameCheckResult {
        do { return try await timed { () throws(RegistryClientError) in try await client.checkName(proposedName) } } catch {
            throw Self.gatewayError(error)
        }
    }

    static func outboxError(_ error: OutboxError) -> GatewayError {
        if case .full = error { return .queueFull(error.description) }
        return .badAnswer(error.description)
    }

    public func submitApplication(_ draft: ApplicationDraft) async throws(GatewayError) -> QueuedApplication {
        let ticket: OutboxTicket
        do { ticket = try outbox.enqueueApplication(draft) } catch { throw Self.outboxError(error) }
        let tracking = ticket.trackingNumber ?? "?"
        // The relay was woken by the enqueue: online, the registry's number comes within moments.
        // Known to be offline (circuit open, or the stream's head failing): no point waiting.
        var offline = client.breaker.isOpen
        if !offline, let status = try? await outbox.status() {
            offline = status.streams.first { $0.stream == .applications }?.lastError != nil
        }
        let deadline = ContinuousClock.now + (offline ? .zero : deliveryWait)
        while ContinuousClock.now < deadline {
            if let number = try? await outbox.registryNumber(trackingNumber: tracking) {
                return QueuedApplication(trackingNumber: tracking, registryNumber: number)
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return QueuedApplication(trackingNumber: tracking, registryNumber: nil)
    }

    public func submitRating(_ rating: RatingRecord) async throws(GatewayError) {
        do { try outbox.enqueue(.ratings, rating) } catch { throw Self.outboxError(error) }
    }

    public func recordPrint(_ record: PrintRecord) async throws(GatewayError) {
        do { try outbox.enqueue(.printRecords, record) } catch { throw Self.outboxError(error) }
    }

    public func reserveTicket(site: String, _ request: TicketRequest) async throws(GatewayError) -> HallTicket {
        do { return try await timed { () throws(RegistryClientError) in try await client.reserveTicket(site: site, request) } } catch {
            throw Self.gatewayError(error)
        }
    }

    public func checkIn(site: String, _ request: CheckInRequest) async throws(GatewayError) -> CheckInAnswer {
        do { return .ticket(try await timed { () throws(RegistryClientError) in try await client.checkIn(site: site, request) }) } catch {
            if case .refused(let problem) = error, problem.code.hasPrefix("appointment.") { return .refused(problem) }
            throw Self.gatewayError(error)
        }
    }

    public func offlineSequence(ticketId: String, day: String, queue: String) async throws(GatewayError) -> Int {
        do { return try await outbox.offlineSequence(ticketId: ticketId, day: day, queue: queue) } catch { throw Self.outboxError(error) }
    }

    public func hasOfflineSequence(ticketId: String) async -> Bool {
        await outbox.hasOfflineSequence(ticketId: ticketId)
    }

    public func reportTicket(_ report: TicketReport) async throws(GatewayError) {
        do { try outbox.enqueue(.tickets, report) } catch { throw Self.outboxError(error) }
    }

    public func progress(number: String) async throws(GatewayError) -> ApplicationProgress? {
        do { return try await timed { () throws(RegistryClientError) in try await client.progress(number: number) } } catch {
            if case .refused(let problem) = error, problem.statusCode == 404 { return nil }
            throw Self.gatewayError(error)
        }
    }

    public func progress(idNumber: String) async throws(GatewayError) -> [ApplicationProgress] {
        do { return try await timed { () throws(RegistryClientError) in try await client.progress(idNumber: idNumber) } } catch {
            throw Self.gatewayError(error)
        }
    }

    public func undelivered(trackingNumber: String?, idNumber: String?) async -> [ApplicationSubmission] {
        (try? await outbox.queuedApplications(trackingNumber: trackingNumber, idNumber: idNumber)) ?? []
    }

    public func requestDelivery(_ request: DeliveryRequest) async throws(GatewayError) {
        do { try outbox.enqueue(.deliveries, request) } catch { throw Self.outboxError(error) }
    }

    public func reportCardLoss(_ report: CardLossReport) async throws(GatewayError) -> String? {
        try await submitNowOrQueue(.cardLosses, report, key: "loss-" + report.reportId)
    }

    public func confirmParty(_ confirmation: PartyConfirmation) async throws(GatewayError) -> String? {
        try await submitNowOrQueue(.partyConfirmations, confirmation, key: "party-" + confirmation.confirmationId)
    }

    /// At once when the registry answers (its number); the outbox when it does not (nil). The
    /// body is the same either way, so a direct call that landed unseen makes the queued one a resend.
    func submitNowOrQueue(_ kind: SubmissionKind, _ item: some Encodable & Sendable, key: String) async throws(GatewayError) -> String? {
        if !client.breaker.isOpen, let body = try? RegistryJSON.encoder().encode(item) {
            do {
                return try await timed { () throws(RegistryClientError) in
                    try await client.submit(kind: kind, idempotencyKey: key, body: body)
                }.registryNumber
            } catch {
                switch error {
                case .refused, .invalidRequest: throw Self.gatewayError(error)
                default: break
                }
            }
        }
        do { try outbox.enqueue(kind, item) } catch { throw Self.outboxError(error) }
        return nil
    }

    public func queuedConfirmations(idNumber: String) async -> Set<String> {
        let id = idNumber.uppercased()
        let queued = (try? await outbox.queued(.partyConfirmations, as: PartyConfirmation.self)) ?? []
        return Set(queued.filter { $0.applicant.idNumber.uppercased() == id }.map(\.trackingNumber))
    }

    public func openings(idNumber: String) async throws(GatewayError) -> [OpeningInvitation] {
        do { return try await timed { () throws(RegistryClientError) in try await client.openings(idNumber: idNumber) } } catch {
            throw Self.gatewayError(error)
        }
    }

    public func confirmPension(_ confirmation: PensionConfirmation) async throws(GatewayError) {
        do { try outbox.enqueue(.pensionConfirmations, confirmation) } catch { throw Self.outboxError(error) }
    }

    public func queueFigure(_ queue: String) async -> KnownQueueFigure? {
        await outbox.queueFigure(queue)
    }

    public func saveQueueFigure(_ queue: String, _ figure: KnownQueueFigure) async {
        do { try await outbox.saveQueueFigure(queue, figure) } catch {
            logger.warning("queue figure not kept", metadata: ["error": "\(error)"])
        }
    }

    /// Outbox figures for diagnostics.
    public func figures() async -> OutboxFigures? {
        guard let status = try? await outbox.status() else { return nil }
        let oldest = status.streams.compactMap(\.oldestAgeSeconds).max()
        return OutboxFigures(depth: status.depth, oldestAgeSeconds: oldest, deadLetters: status.deadLetters)
    }
}
