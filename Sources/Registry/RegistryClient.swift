import AsyncHTTPClient
import Foundation
import KioskCore
import NIOCore
import NIOHTTP1
import NIOSSL
import RegistryAPI

/// Why a registry call failed, and so what the kiosk should do.
public enum RegistryClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The registry could not be reached (connection refused or reset, DNS, a 502/503/504 gateway
    /// answer). Show cached data or queue the write; try later.
    case unreachable(String)
    /// No complete answer before the deadline. Same remedy as `unreachable`.
    case timeout
    /// The registry answered something that is not what the API promises (bad JSON, an oversized
    /// body, a non-problem error). Report it to central operations; retrying will not help.
    case malformedAnswer(String)
    /// The registry refused the request with a problem document (e.g. 403 `print.not-entitled`,
    /// 404 `enterprise.not-found`, 401 `auth.bad-signature`). Act on `problem.code`.
    case refused(Problem)
    /// Several calls in a row failed; the client fails fast without trying for `retryAfterSeconds`.
    case circuitOpen(retryAfterSeconds: Int)
    /// The request could not be built (e.g. a bad base URL or argument); a programming or configuration error.
    case invalidRequest(String)
    /// The kiosk would not talk: the registry's certificate is not from the pinned CA, or the URL
    /// is plain `http` to another host than loopback. Nothing was sent.
    case untrusted(String)

    public var description: String {
        switch self {
        case .unreachable(let why): return "registry unreachable: \(why); cached data may be shown, writes are queued"
        case .timeout: return "registry did not answer in time; cached data may be shown, writes are queued"
        case .malformedAnswer(let what): return "registry answered malformed data (\(what)); report it to central operations"
        case .refused(let problem): return "registry refused: \(problem)"
        case .circuitOpen(let s): return "registry calls are suspended after repeated failures; next try in \(s) s"
        case .invalidRequest(let why): return "invalid registry request: \(why)"
        case .untrusted(let why): return "registry not trusted: \(why); nothing was sent"
        }
    }

    /// Whether a later attempt of the same request may succeed (the registry was not reached or not healthy).
    public var isTransient: Bool {
        switch self {
        case .unreachable, .timeout, .circuitOpen: return true
        case .refused(let p): return [408, 409, 425, 429, 500, 502, 503, 504].contains(p.statusCode)
        case .malformedAnswer, .invalidRequest, .untrusted: return false
        }
    }
}

/// How the registry client behaves.
public struct RegistryClientConfiguration: Sendable {
    /// e.g. `http://127.0.0.1:8480` (no trailing slash).
    public var baseURL: String
    /// The kiosk's signing identity.
    public var credentials: KioskCredentials
    /// The deadline of one call, all attempts included.
    public var deadline: Duration = .seconds(5)
    /// The deadline of one attempt.
    public var attemptTimeout: Duration = .seconds(2)
    /// Attempts of a request that is safe to repeat (GETs, or carrying an Idempotency-Key).
    public var maxAttempts: Int = 3
    /// The first retry waits a random time up to this, doubling each time (full jitter).
    public var retryBaseDelay: Duration = .milliseconds(100)
    /// Larger answers are refused as malformed.
    public var maxResponseBytes: Int = 4 << 20
    /// Consecutive failures that open the circuit.
    public var breakerThreshold: Int = 5
    /// How long the open circuit fails fast before one trial call.
    public var breakerCooldown: Duration = .seconds(30)
    /// The kiosk's wall clock (replaced in tests to play a drifted clock).
    public var localClock: @Sendable () -> Date = { Date() }
    /// The CA the registry's certificate must chain to (`registry.caFile`). Required for `https`;
    /// plain `http` is only ever used to a loopback address.
    public var trustRoots: [NIOSSLCertificate]?

    /// The certificates of the PEM CA file at `path`, or nil for no path.
    public static func loadCA(optional path: String?) throws(RegistryClientError) -> [NIOSSLCertificate]? {
        guard let path else { return nil }
        return try loadCA(path)
    }

    /// The certificates of a PEM CA file, for `trustRoots`.
    public static func loadCA(_ path: String) throws(RegistryClientError) -> [NIOSSLCertificate] {
        let certificates: [NIOSSLCertificate]
        do { certificates = try NIOSSLCertificate.fromPEMFile(path) } catch {
            throw .invalidRequest("\(path) is not a PEM CA certificate: \(error)")
        }
        guard !certificates.isEmpty else { throw .invalidRequest("\(path) holds no certificate") }
        return certificates
    }

    /// A configuration for `baseURL` signing with `credentials`; the rest takes defaults.
    public init(baseURL: String, credentials: KioskCredentials) {
        self.baseURL = RegistryEndpoint.trimmed(baseURL)
        self.credentials = credentials
    }
}

/// Where the registry is: a base URL that central operations may change by configuration, shared
/// by a client and the clients made from it, so a change reaches every one of them at once.
public final class RegistryEndpoint: @unchecked Sendable {
    private let url: Locked<String>
    private let offset = Locked<TimeInterval>(0)
    private let roots: Locked<[NIOSSLCertificate]?>

    /// An endpoint at `baseURL` (a trailing slash is dropped) whose certificate must chain to
    /// `trustRoots` when it is `https`.
    public init(_ baseURL: String, trustRoots: [NIOSSLCertificate]? = nil) {
        url = Locked(Self.trimmed(baseURL))
        roots = Locked(trustRoots)
    }

    /// The pinned CA certificates the registry's TLS certificate must chain to.
    public var trustRoots: [NIOSSLCertificate]? { roots.withLock { $0 } }

    /// How far the registry's clock is ahead of this kiosk's (seconds), as last learnt from its
    /// `serverTime`; requests are signed with the local time plus this.
    public var clockOffset: TimeInterval { offset.withLock { $0 } }

    /// Learns the registry's clock from a `serverTime` seen between `sent` and `received`
    /// (local times): the offset is taken at the midpoint. Offsets under a second are ignored.
    public func learnClock(serverTime: Date, sent: Date, received: Date) {
        let midpoint = sent.addingTimeInterval(received.timeIntervalSince(sent) / 2)
        let learnt = serverTime.timeIntervalSince(midpoint)
        guard learnt.isFinite, abs(learnt) < 10 * 365 * 86400 else { return }
        offset.withLock { $0 = abs(learnt) < 1 ? 0 : learnt.rounded() }
    }

    /// The base URL in use, e.g. `http://127.0.0.1:8480`.
    public var baseURL: String { url.withLock { $0 } }

    /// Points every client of this endpoint at `baseURL`, verified against `trustRoots`.
    /// Returns false when nothing changed.
    @discardableResult
    public func retarget(_ baseURL: String, trustRoots: [NIOSSLCertificate]? = nil) -> Bool {
        let new = Self.trimmed(baseURL)
        let rootsChanged = roots.withLock { current -> Bool in
            guard current != trustRoots else { return false }
            current = trustRoots
            return true
        }
        let moved = url.withLock { current -> Bool in
            guard current != new else { return false }
            current = new
            return true
        }
        if moved { offset.withLock { $0 = 0 } }
        return moved || rootsChanged
    }

    static func trimmed(_ url: String) -> String { url.hasSuffix("/") ? String(url.dropLast()) : url }
}

/// A circuit breaker: after `threshold` consecutive failures it refuses calls for `cooldown`,
/// then lets one trial call through; success closes it, failure opens it again.
public final class CircuitBreaker: Sendable {
    enum State: Sendable { case closed(failures: Int), open(until: ContinuousClock.Instant), trial }
    private let state = Locked(State.closed(failures: 0))
    let threshold: Int
    let cooldown: Duration

    /// A breaker opening after `threshold` consecutive failures for `cooldown`.
    public init(threshold: Int, cooldown: Duration) {
        self.threshold = max(1, threshold)
        self.cooldown = cooldown
    }

    /// Throws `circuitOpen` when calls are suspended; otherwise the call may go ahead.
    func admit() throws(RegistryClientError) {
        let refusal: Int? = state.withLock { state in
            switch state {
            case .closed: return nil
            case .trial: return 1
            case .open(let until):
                let now = ContinuousClock.now
                if now >= until { state = .trial; return nil }
                return Int(max(1, (until - now).components.seconds))
            }
        }
        if let refusal { throw .circuitOpen(retryAfterSeconds: refusal) }
    }

    func succeeded() {
        state.withLock { $0 = .closed(failures: 0) }
    }

    func failed() {
        let threshold = self.threshold, cooldown = self.cooldown
        state.withLock { state in
            switch state {
            case .closed(let n) where n + 1 < threshold: state = .closed(failures: n + 1)
            default: state = .open(until: .now + cooldown)
            }
        }
    }

    /// Closes the breaker (the registry was seen healthy by other means).
    public func reset() { succeeded() }

    /// True while calls fail fast.
    public var isOpen: Bool {
        state.withLock { state in
            if case .open(let until) = state { return ContinuousClock.now < until }
            return false
        }
    }
}

/// The kiosk's client of registryd (`openapi/registry.yaml`): signed requests, per-call deadlines,
/// bounded retries only where safe, a circuit breaker, and size-limited, typed answers.
public final class RegistryClient: Sendable {
    /// The configuration it was made with.
    public let configuration: RegistryClientConfiguration
    /// The breaker shared by all calls of this client.
    public let breaker: CircuitBreaker
    let http: HTTPClient

    /// Seconds an idle connection to the registry is kept open.
    public static let idleSeconds = 15

    /// The process-wide HTTP client registry clients share (never shut down), set up by `httpConfiguration`.
    public static let sharedHTTPClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)

    /// How the kiosk's HTTP client connects: a failed connection fails its request at once (the
    /// registry client's own retry and breaker decide what next, rather than the pool's backoff,
    /// which after a registry restart kept requests waiting long after it was back), 1 s to
    /// connect, no redirects. An idle connection is closed after `idleSeconds`, before registryd
    /// closes it (its `--header-timeout`, 20 s): a request sent on a connection the server is
    /// closing at that moment fails, which a fleet of thousands meets every few seconds.
    public static var httpConfiguration: HTTPClient.Configuration {
        var config = HTTPClient.Configuration()
        config.connectionPool.idleTimeout = .seconds(Int64(idleSeconds))
        config.connectionPool.retryConnectionEstablishment = false
        config.timeout.connect = .seconds(1)
        config.redirectConfiguration = .disallow
        return config
    }

    /// Where requests go: `configuration.baseURL` at first; see `RegistryEndpoint.retarget(_:)`.
    public let endpoint: RegistryEndpoint

    /// A client for `configuration` on `httpClient` (by default `sharedHTTPClient`, no shutdown needed).
    /// Pass another client's `endpoint` to follow that client when the registry moves.
    public init(configuration: RegistryClientConfiguration, httpClient: HTTPClient = RegistryClient.sharedHTTPClient,
                endpoint: RegistryEndpoint? = nil) {
        self.configuration = configuration
        self.endpoint = endpoint ?? RegistryEndpoint(configuration.baseURL, trustRoots: configuration.trustRoots)
        breaker = CircuitBreaker(threshold: configuration.breakerThreshold, cooldown: configuration.breakerCooldown)
        http = httpClient
    }

    // MARK: Reads

    /// The public record of an enterprise (the business-licence object).
    public func enterprise(uscc: String) async throws(RegistryClientError) -> Enterprise {
        let uscc = try checkedSegment(uscc)
        return try await operation { try await $0.getEnterprisesByUscc(path: .init(uscc: uscc)).ok.body.json }
    }

    /// Enterprises whose name contains `name`, at most `limit` (1…100), each with its status.
    public func search(name: String, limit: Int = 20) async throws(RegistryClientError) -> [EnterpriseListing] {
        let list = try await operation { try await $0.getEnterprises(query: .init(name: name, limit: limit)).ok.body.json }
        return list.enterprises
    }

    /// The enterprise's public archive: licence record, status and events.
    public func archive(uscc: String) async throws(RegistryClientError) -> PublicArchive {
        let uscc = try checkedSegment(uscc)
        return try await operation { try await $0.getEnterprisesByUsccArchive(path: .init(uscc: uscc)).ok.body.json }
    }

    /// A person's social-insurance record (personal data: keep it in memory for the session only).
    public func socialInsurance(idNumber: String) async throws(RegistryClientError) -> SocialInsuranceRecord {
        let idNumber = try checkedSegment(idNumber)
        return try await operation { try await $0.getPersonsByIdNumberSocialInsurance(path: .init(idNumber: idNumber)).ok.body.json }
    }

    /// Asks whether the card holder `idNumber` may print `kind` for `uscc`. Answers the grant, or
    /// throws `.refused` with problem code `print.not-entitled` (403) when not.
    public func authorizePrint(kind: PrintKind, uscc: String, idNumber: String) async throws(RegistryClientError) -> PrintAuthorization {
        guard let kind = Components.Schemas.PrintAuthorizationRequest.KindPayload(rawValue: kind.rawValue) else {
            throw .invalidRequest("\(kind) is not a kind openapi/registry.yaml lists")
        }
        let ask = Components.Schemas.PrintAuthorizationRequest(kind: kind, uscc: uscc, idNumber: idNumber)
        return try await operation { try await $0.postPrintAuthorizations(body: .json(ask)).ok.body.json }
    }

    /// The registry's verdict on a proposed enterprise name (企业名称自主申报).
    public func checkName(_ proposedName: String) async throws(RegistryClientError) -> NameCheckResult {
        try await operation { try await $0.postNameChecks(body: .json(.init(proposedName: proposedName))).ok.body.json }
    }

    /// The registry's health and clock (unsigned); the clock is learnt for signing.
    public func health() async throws(RegistryClientError) -> HealthStatus {
        let sent = configuration.localClock()
        let status = try await operation { try await $0.getHealth().ok.body.json }
        endpoint.learnClock(serverTime: status.serverTime, sent: sent, received: configuration.localClock())
        return status
    }

    /// What a document with this verification code said, as its kiosk reported it (unsigned:
    /// anyone holding the document may ask). The code as printed or as its QR code holds it (`YTJ2:…`).
    public func verification(code: String) async throws(RegistryClientError) -> VerificationAnswer {
        var printed = Substring(code.trimmingCharacters(in: .whitespacesAndNewlines))
        if printed.uppercased().hasPrefix("YTJ2:") { printed = printed.dropFirst(5) }
        let compact = String(printed.uppercased().filter { $0.isASCII && ($0.isLetter || $0.isNumber) }.prefix(200))
        guard !compact.isEmpty else { throw .invalidRequest("'\(code.prefix(20))' is not a verification code") }
        return try await operation { try await $0.getVerificationsByCode(path: .init(code: compact)).ok.body.json }
    }

    /// Registers this kiosk's document-signing public key (base64 raw Ed25519) so that anyone can
    /// check the codes it prints; registering it again is harmless.
    public func registerDocumentKey(publicKey: String) async throws(RegistryClientError) -> RegisteredDocumentKey {
        try await operation { try await $0.putDocumentKeys(body: .json(.init(publicKey: publicKey))).ok.body.json }
    }

    /// The document keys registered under a code's key id (8 hex digits); unsigned.
    public func documentKeys(keyId: String) async throws(RegistryClientError) -> [RegisteredDocumentKey] {
        guard RegisteredDocumentKey.isKeyId(keyId) else { throw .invalidRequest("'\(keyId.prefix(20))' is not a document key id (8 hex digits)") }
        return try await operation { try await $0.getDocumentKeysByKeyId(path: .init(keyId: keyId)).ok.body.json }
    }

    // MARK: Hall

    /// Reserves the next number of a queue at the kiosk's site; asking again with the same ticket
    /// id answers the same ticket. It waits in the queue once reported printed (`TicketReport`).
    public func reserveTicket(site: String, _ request: TicketRequest) async throws(RegistryClientError) -> HallTicket {
        let site = try checkedSegment(site)
        return try await operation { try await $0.postHallsBySiteTickets(path: .init(site: site), body: .json(request)).created.body.json }
    }

    /// Checks the card holder in for today's appointment at the kiosk's site: a reserved priority
    /// ticket (the same one again for a repeated check-in), or `.refused` with problem code
    /// `appointment.not-found`, `appointment.too-early`, `appointment.too-late` or `appointment.other-site`.
    public func checkIn(site: String, _ request: CheckInRequest) async throws(RegistryClientError) -> HallTicket {
        let site = try checkedSegment(site)
        return try await operation { try await $0.postHallsBySiteCheckIns(path: .init(site: site), body: .json(request)).created.body.json }
    }

    /// Today's queues of the site: waiting tickets and the number called last.
    public func hallFigures(site: String) async throws(RegistryClientError) -> HallFigures {
        let site = try checkedSegment(site)
        return try await operation { try await $0.getHallsBySiteQueues(path: .init(site: site)).ok.body.json }
    }

    /// A counter calls the next number of `queue`; retried with the same key, the same ticket.
    public func callNext(site: String, queue: String, counter: Int, idempotencyKey: String) async throws(RegistryClientError) -> HallTicket {
        let (site, queue) = (try checkedSegment(site), try checkedSegment(queue))
        return try await operation {
            try await $0.postHallsBySiteQueuesByQueueCall(path: .init(site: site, queue: queue), headers: .init(idempotencyKey: idempotencyKey),
                                                          body: .json(.init(counter: counter))).ok.body.json
        }
    }

    /// The booking system stores (or replaces) an appointment.
    public func storeAppointment(_ appointment: Appointment) async throws(RegistryClientError) -> Appointment {
        return try await operation {
            switch try await $0.postAppointments(body: .json(appointment)) {
            case .ok(let stored): return try stored.body.json
            case .created(let stored): return try stored.body.json
            case let other: throw RegistryClientError.malformedAnswer("appointment answered \(other)")
            }
        }
    }

    // MARK: Progress

    /// An application's progress by its tracking number (or the registry's number).
    public func progress(number: String) async throws(RegistryClientError) -> ApplicationProgress {
        let number = try checkedSegment(number)
        return try await operation { try await $0.getApplicationsByNumberProgress(path: .init(number: number)).ok.body.json }
    }

    /// The card holder's applications (the ID number travels in the body, never in a URL).
    public func progress(idNumber: String) async throws(RegistryClientError) -> [ApplicationProgress] {
        let list = try await operation {
            try await $0.postApplicationsProgress(body: .json(.init(idNumber: idNumber))).ok.body.json
        }
        return list.applications
    }

    /// The establishment applications naming the person with `idNumber` as a party, newest first.
    public func openings(idNumber: String) async throws(RegistryClientError) -> [OpeningInvitation] {
        let list = try await operation { try await $0.postOpeningsMine(body: .json(.init(idNumber: idNumber))).ok.body.json }
        return list.openings
    }

    /// The back office moves an application on; retried with the same key, one step.
    public func setStatus(number: String, _ change: StatusChange, idempotencyKey: String) async throws(RegistryClientError) -> ApplicationProgress {
        let number = try checkedSegment(number)
        return try await operation {
            try await $0.postApplicationsByNumberStatus(path: .init(number: number), headers: .init(idempotencyKey: idempotencyKey),
                                                        body: .json(change)).ok.body.json
        }
    }

    // MARK: Writes

    /// Submits one item; the same key with the same body answers the same receipt again. The body
    /// goes byte for byte as the outbox stored it (the registry knows a resend, alone or in a
    /// batch, by its key and its exact bytes), so it is not decoded and encoded again on the way.
    public func submit(kind: SubmissionKind, idempotencyKey key: String, body: Data) async throws(RegistryClientError) -> SubmissionReceipt {
        guard !key.isEmpty, key.utf8.count <= 128 else { throw .invalidRequest("idempotency key must hold 1 to 128 bytes") }
        let answer = try await exchange(method: .POST, path: "/v1/\(kind.rawValue)", body: body, headers: [(KioskSignature.idempotencyKeyHeader, key)])
        guard answer.status == 201 else { throw .malformedAnswer("a submission answered HTTP \(answer.status), not 201") }
        do { return try RegistryJSON.decoder().decode(SubmissionReceipt.self, from: answer.body) } catch {
            breaker.failed()
            throw .malformedAnswer("a submission's receipt is not the receipt openapi/registry.yaml describes")
        }
    }

    /// Submits several items in one request, processed in order; one result per item.
    public func submitBatch(_ items: [BatchItem]) async throws(RegistryClientError) -> [BatchResult] {
        let response = try await operation { try await $0.postSubmissions(body: .json(BatchRequest(items: items))).ok.body.json }
        guard response.results.count == items.count,
              zip(response.results, items).allSatisfy({ $0.idempotencyKey == $1.idempotencyKey }) else {
            throw .malformedAnswer("batch answer does not match the items sent")
        }
        return response.results
    }

    // MARK: Configuration

    /// The bundles published for this kiosk now. With `etag` and `wait`, a long poll: answers when
    /// they differ from `etag`, or after `wait` seconds (give the client a deadline beyond `wait`).
    public func configAnnouncements(site: String?, etag: String?, wait: Int) async throws(RegistryClientError) -> ConfigAnnouncements {
        try await operation {
            try await $0.getConfigAnnouncements(query: .init(site: site, etag: etag, wait: wait > 0 ? wait : nil)).ok.body.json
        }
    }

    /// The signed envelope of bundle `id`, byte for byte (its signatures are checked over these
    /// bytes, so it is not decoded and encoded again on the way).
    public func configBundle(id: String) async throws(RegistryClientError) -> Data {
        try await exchange(method: .GET, path: "/v1/config/bundles/\(try pathSegment(id))", body: nil, headers: []).body
    }

    /// Tells central operations what became of a bundle.
    public func reportConfig(_ report: ConfigReport) async throws(RegistryClientError) {
        _ = try await operation { try await $0.postConfigReports(body: .json(report)).noContent }
    }

    // MARK: Plumbing

    /// RFC 3986's unreserved characters, sent as they are (the registry refuses them encoded).
    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// `text` if it can be one path segment (1 to 64 bytes), as it is: the generated client
    /// percent-encodes what it puts in a path.
    func checkedSegment(_ text: String) throws(RegistryClientError) -> String {
        guard !text.isEmpty, text.utf8.count <= 64 else { throw .invalidRequest("'\(text.prefix(20))' is not a valid path segment") }
        return text
    }

    /// `text` as one path segment percent-encoded, for a request made without the generated client.
    func pathSegment(_ text: String) throws(RegistryClientError) -> String {
        guard let encoded = try checkedSegment(text).addingPercentEncoding(withAllowedCharacters: Self.unreserved) else {
            throw .invalidRequest("'\(text.prefix(20))' is not a valid path segment")
        }
        return encoded
    }

    /// One request under the client's policy: signed, within the call's deadline, retried while
    /// the registry is unreachable or unhealthy, through the circuit breaker. Answers a 2xx answer's
    /// status, content type and body; any other answer is thrown as what it means.
    func exchange(method: HTTPMethod, path: String, body: Data?,
                  headers: [(String, String)]) async throws(RegistryClientError) -> (status: Int, contentType: String?, body: Data) {
        let clock = ContinuousClock()
        let deadline = clock.now + configuration.deadline
        var attempt = 0
        var clockLearnt = false
        while true {
            attempt += 1
            try breaker.admit()
            let remaining = deadline - clock.now
            let timeout = min(configuration.attemptTimeout, remaining)
            let outcome: Result<(Int, String?, ByteBuffer), RegistryClientError>
            if timeout <= .zero {
                outcome = .failure(.timeout)
            } else {
                outcome = await attemptOnce(method: method, path: path, body: body, headers: headers, timeout: timeout)
            }
            var failure: RegistryClientError
            var retry = false
            switch outcome {
            case .success(let (status, contentType, received)):
                let buffer = Data(received.readableBytesView)
                if (200..<300).contains(status) {
                    // Decoded by the caller, which tells the breaker if it is not what was promised.
                    breaker.succeeded()
                    return (status, contentType, buffer)
                }
                let problem = try? RegistryJSON.decoder().decode(Problem.self, from: buffer)
                if [502, 503, 504].contains(status) {
                    breaker.failed()
                    failure = problem.map { .refused($0) } ?? .unreachable("registry answered HTTP \(status)")
                    retry = true
                } else if status >= 500 {
                    breaker.failed()
                    throw problem.map { .refused($0) } ?? .malformedAnswer("HTTP \(status) without a problem document")
                } else {
                    breaker.succeeded()  // the registry is alive and answering
                    if problem?.code == "auth.clock-skew", !clockLearnt, path != "/v1/health" {
                        // Refused before anything happened: learn the registry's clock, sign again.
                        clockLearnt = true
                        if (try? await health()) != nil { continue }
                    }
                    throw problem.map { .refused($0) } ?? .malformedAnswer("HTTP \(status) without a problem document")
                }
            case .failure(let error):
                failure = error
                switch error {
                case .unreachable, .timeout: breaker.failed(); retry = true
                case .malformedAnswer: breaker.failed()
                default: break
                }
            }
            // Every request may be repeated: reads and questions change nothing, writes carry an Idempotency-Key.
            guard retry, attempt < configuration.maxAttempts, !Task.isCancelled else { throw failure }
            // Full jitter: a random wait up to base·2^(attempt-1), within the deadline.
            let base = configuration.retryBaseDelay
            let wait = Backoff.jittered(afterFailures: attempt, base: base, cap: base * 1024)
            guard clock.now + wait < deadline else { throw failure }
            do { try await Task.sleep(for: wait) } catch { throw failure }
        }
    }

    func attemptOnce(method: HTTPMethod, path: String, body: Data?, headers: [(String, String)],
                     timeout: Duration) async -> Result<(Int, String?, ByteBuffer), RegistryClientError> {
        let base = endpoint.baseURL
        var request = HTTPClientRequest(url: base + path)
        let roots = endpoint.trustRoots
        switch RegistryTransport.check(base, hasCA: roots != nil) {
        case .refuse(let why): return .failure(.untrusted(why))
        case .plain: break
        case .tls:
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(roots ?? [])
            tls.minimumTLSVersion = .tlsv12
            tls.certificateVerification = .fullVerification
            request.tlsConfiguration = tls
        }
        request.method = method
        let bytes = body ?? Data()
        if path != "/v1/health", !path.hasPrefix("/v1/verifications/") {
            let key = headers.first { $0.0.lowercased() == KioskSignature.idempotencyKeyHeader.lowercased() }?.1
            let now = configuration.localClock().addingTimeInterval(endpoint.clockOffset)
            for (name, value) in configuration.credentials.headers(method: method.rawValue, pathAndQuery: path, body: bytes,
                                                                   idempotencyKey: key, now: now) {
                request.headers.add(name: name, value: value)
            }
        }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let limit = configuration.maxResponseBytes
        let http = self.http
        let nioDeadline = NIODeadline.now() + .nanoseconds(timeout.nanoseconds)
        let prepared = request
        return await withTaskGroup(of: Result<(Int, String?, ByteBuffer), RegistryClientError>?.self) { group in
            group.addTask {
                do {
                    let response = try await http.execute(prepared, deadline: nioDeadline)
                    if let length = response.headers.first(name: "Content-Length").flatMap(Int.init), length > limit {
                        return .failure(.malformedAnswer("answer of \(length) bytes is over the \(limit)-byte limit"))
                    }
                    let buffer = try await response.body.collect(upTo: limit)
                    return .success((Int(response.status.code), response.headers.first(name: "Content-Type"), buffer))
                } catch is NIOTooManyBytesError {
                    return .failure(.malformedAnswer("answer is over the \(limit)-byte limit"))
                } catch {
                    return .failure(RegistryClient.classify(error))
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .failure(.timeout)
        }
    }

    static func classify(_ error: any Error) -> RegistryClientError {
        if error is CancellationError { return .timeout }
        if let tls = error as? NIOSSLError {
            return .untrusted("TLS handshake failed (\(tls)): the registry's certificate is not issued by the CA in registry.caFile, or not for this host")
        }
        if let tls = error as? BoringSSLError {
            return .untrusted("TLS failed (\(tls)): the registry's certificate is not issued by the CA in registry.caFile, or not for this host")
        }
        if let e = error as? HTTPClientError {
            if [.deadlineExceeded, .readTimeout, .connectTimeout, .cancelled, .writeTimeout].contains(e) { return .timeout }
            if [.invalidURL, .emptyHost, .emptyScheme].contains(e) { return .invalidRequest("base URL: \(e)") }
            if e == .remoteConnectionClosed { return .unreachable("the registry closed the connection") }
            return .unreachable("\(e)")
        }
        let text = "\(error)"
        if text.contains("HTTPParserError") || String(describing: type(of: error)).contains("HTTPParser") {
            return .malformedAnswer("not an HTTP answer")
        }
        return .unreachable(text)
    }
}

/// Which transport a registry URL may use.
public enum RegistryTransport: Equatable, Sendable {
    /// Plain HTTP: only to loopback (a registry on the same machine).
    case plain
    /// HTTPS verified against the pinned CA.
    case tls
    /// Not allowed, and why.
    case refuse(String)

    /// The rule: `https` with a pinned CA; `http` only to 127.0.0.0/8, ::1 or localhost.
    public static func check(_ baseURL: String, hasCA: Bool) -> RegistryTransport {
        guard let url = URL(string: baseURL), let scheme = url.scheme?.lowercased(), let host = url.host?.lowercased() else {
            return .refuse("'\(baseURL.prefix(100))' is not a URL")
        }
        switch scheme {
        case "https":
            return hasCA ? .tls : .refuse("https needs the registry's CA certificate (registry.caFile) to verify it")
        case "http":
            return Loopback.isLoopback(host) ? .plain
                : .refuse("plain http to \(host) would send ID numbers in clear; use https with registry.caFile (http is for loopback only)")
        default:
            return .refuse("scheme \(scheme) is not http(s)")
        }
    }
}

