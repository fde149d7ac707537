import Crypto
import Foundation
import Hummingbird
import KioskConfig
import KioskCore
import NIOCore
import Registry
import RegistryAPI

extension Problem: HTTPResponseError {
    /// A problem with an HTTP status.
    public init(status: HTTPResponse.Status, code: String, title: String, detail: String) {
        self.init(statusCode: Int(status.code), code: code, title: title, detail: detail)
    }

    /// The HTTP status.
    public var status: HTTPResponse.Status { HTTPResponse.Status(code: statusCode) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = (try? RegistryJSON.encoder().encode(self)) ?? Data()
        return Response(status: status, headers: [.contentType: "application/problem+json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// registryd's request context: the authenticated kiosk, once the signature is checked.
public struct RegistryRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The kiosk that signed the request (nil for `GET /v1/health` and anonymous public reads).
    public var kioskId: String?
    /// What the signing key may do.
    public var role: PrincipalRole?
    /// The signer's site, if it has one.
    public var site: String?
    /// The client's address (IP, without the port), for rate limits on unauthenticated routes.
    public let clientAddress: String?
    public init(source: Source) {
        coreContext = .init(source: source)
        clientAddress = source.channel.remoteAddress?.ipAddress
    }
    /// The largest body of any route (a batch of submissions); each route group reads at most its own limit.
    public var maxUploadSize: Int { RegistryBodyLimit.batch }

    /// The verified kiosk; a handler that needs one calls this first and cannot run without it.
    public func requireKiosk() throws -> String { try require(.kiosk) }

    /// The verified signer, when its key has one of the `wanted` roles; a 403 problem otherwise.
    public func require(_ wanted: PrincipalRole...) throws -> String {
        guard let kioskId else { throw SignatureFailure.missingHeaders("the request is not signed").problem }
        guard let role, wanted.contains(role) else { throw Self.wrongRole(kioskId, role, wanted: wanted) }
        return kioskId
    }

    /// The 403 problem of a signer whose key has `role` where one of `wanted` is needed.
    static func wrongRole(_ signer: String, _ role: PrincipalRole?, wanted: [PrincipalRole]) -> Problem {
        Problem(status: .forbidden, code: "auth.wrong-role", title: "Not allowed for this key",
                detail: "\(signer) is registered as \(role?.rawValue ?? "nothing"); this needs a \(wanted.map(\.rawValue).joined(separator: " or ")) key")
    }
}

/// The most body bytes each kind of route reads, after the signature headers were checked.
public enum RegistryBodyLimit {
    /// Reads and long polls: no body.
    public static let none = 0
    /// Print-authorisation questions.
    public static let question = 4 << 10
    /// One submission or a configuration report.
    public static let submission = 64 << 10
    /// A batch of up to 1,000 submissions.
    public static let batch = 8 << 20
}

/// How registryd serves.
public struct RegistryOptions: Sendable {
    /// Answer `GET /v1/enterprises…` (public data) without a signature. For benchmarks and demos only.
    public var publicReads = false
    /// How long idempotency keys are remembered (at least 7 days).
    public var idempotencyRetention: TimeInterval = 8 * 24 * 3600
    /// Most items in one batch.
    public var maxBatchItems = 1000
    /// Most nonces remembered against replays.
    public var replayCapacity = 4_000_000
    /// Seconds a signer's key and role are remembered between store reads: a kiosk removed,
    /// re-keyed or given another role is treated as such within this time. 0 (the default) reads
    /// the store on every request, so a removal holds at once.
    public var keyMemory: TimeInterval = 0
    /// Verification look-ups per client address: a burst, then this many a second.
    public var verificationBurst = 20
    public var verificationsPerSecond = 2.0
    /// The online timestamp key that signs each configuration answer's freshness statement (the
    /// fleet root's `timestamp` role); nil: answers carry none.
    public var timestampKey: Curve25519.Signing.PrivateKey?
    /// How long a freshness statement holds.
    public var statementValidity: TimeInterval = 86_400
    /// Bundle downloads per second a publish is spread over: the kiosks told at once (held
    /// polls woken together) get `ConfigAnnouncement.spreadSeconds` = kiosks ÷ this, at most
    /// `ConfigSpread.maximumSeconds`; 0 tells them to download at once.
    public var bundleDownloadsPerSecond = 500
    /// Accept the demonstration document key (whose private half is public) as a kiosk's: demos only.
    public var acceptDemoKeys = false
    /// Most document keys one kiosk may register.
    public var documentKeysPerKiosk = 8
    /// Progress look-ups per kiosk: a burst, then this many a second (tracking numbers are guessable).
    public var progressBurst = 30
    public var progressPerSecond = 1.0
    /// How long the parties named in an establishment application have to confirm it, from its arrival.
    public var confirmationWindow: TimeInterval = Openings.defaultWindow
    public init() {}
}

/// Who signed a request, once its signature and nonce are checked.
public struct RequestSigner: Sendable, Equatable {
    /// The signer's ID (a kiosk's, a counter's, the booking system's).
    public var id: String
    /// What its key may do.
    public var role: PrincipalRole
    /// Its site, if it has one.
    public var site: String?
}

/// The signature check of a request, in the order that lets a stranger cost least: the headers'
/// form, the signer's key and the clock before a body byte is read (`admit`), then the signature
/// over method, target and body and the nonce against replays (`verify`).
struct RequestAuthenticator: Sendable {
    /// A request whose headers passed: verify it once its body is read.
    struct Admission {
        let signed: SignedRequestHeaders
        let found: (principal: Principal, remembered: Bool)
    }

    let principals: PrincipalDirectory
    let replays: ReplayGuard

    /// Whether a request whose header values are `values(name)` carries any signature header.
    static func signatureHeaders(_ values: (String) -> [String]) -> Bool {
        ![KioskSignature.kioskIdHeader, KioskSignature.timestampHeader, KioskSignature.nonceHeader,
          KioskSignature.signatureHeader].allSatisfy { values($0).isEmpty }
    }

    /// Checks the headers' form, looks the signer's key up and compares the clock.
    /// A store that does not answer throws its own error (answered 503).
    func admit(_ values: (String) -> [String]) async throws -> Admission {
        let signed = try SignedRequestHeaders(values: values)
        guard let found = try await principals.principal(id: signed.kioskId) else { throw SignatureFailure.unknownKiosk(signed.kioskId) }
        try signed.checkClock(now: Date())
        return Admission(signed: signed, found: found)
    }

    /// Verifies the signature over `method`, `target` and `body` and records the nonce.
    func verify(_ admission: Admission, method: String, target: String, body: ByteBuffer) async throws -> RequestSigner {
        let signed = admission.signed
        var principal = admission.found.principal
        do {
            try signed.verify(method: method, pathAndQuery: target, body: body.readableBytesView, publicKey: principal.publicKey)
        } catch {
            // A remembered key may have been replaced a moment ago: check against the store's before refusing.
            guard admission.found.remembered else { throw error }
            guard let current = try await principals.fresh(id: signed.kioskId) else { throw SignatureFailure.unknownKiosk(signed.kioskId) }
            principal = current
            try signed.verify(method: method, pathAndQuery: target, body: body.readableBytesView, publicKey: principal.publicKey)
        }
        try await replays.admit(signed)
        return RequestSigner(id: signed.kioskId, role: principal.role, site: principal.site)
    }
}

/// Authenticates every request of the routes it guards: the signature headers are checked for
/// form, the kiosk's key is looked up and the clock compared before a single body byte is read;
/// then at most `bodyLimit` bytes are read, the signature verified and the nonce recorded against
/// replays. With `allowAnonymous`, a request with none of the headers passes unauthenticated
/// (the `--public-reads` enterprise routes); a request with some of them is still checked.
public struct KioskAuthenticationMiddleware: RouterMiddleware {
    public typealias Context = RegistryRequestContext
    let authenticator: RequestAuthenticator
    let bodyLimit: Int
    let allowAnonymous: Bool

    /// Guards routes whose bodies hold at most `bodyLimit` bytes.
    init(authenticator: RequestAuthenticator, bodyLimit: Int, allowAnonymous: Bool = false) {
        self.authenticator = authenticator
        self.bodyLimit = bodyLimit
        self.allowAnonymous = allowAnonymous
    }

    public func handle(_ input: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.kioskId = nil
        context.role = nil
        context.site = nil
        let values = { (name: String) in RegistryRoutes.values(name, in: input.headers) }
        if allowAnonymous, !RequestAuthenticator.signatureHeaders(values) {
            return try await next(input, context)
        }
        do {
            let admission = try await authenticator.admit(values)
            if let length = input.headers[.contentLength].flatMap(Int.init), length > bodyLimit {
                throw Self.tooLarge(bodyLimit)
            }
            var request = input
            let body: ByteBuffer
            do { body = try await request.collectBody(upTo: bodyLimit) } catch {
                throw Self.tooLarge(bodyLimit)
            }
            let signer = try await authenticator.verify(admission, method: request.method.rawValue, target: request.uri.string, body: body)
            context.kioskId = signer.id
            context.role = signer.role
            context.site = signer.site
            return try await next(request, context)
        } catch let failure as SignatureFailure {
            throw failure.problem
        }
    }

    static func tooLarge(_ limit: Int) -> Problem {
        Problem(status: .contentTooLarge, code: "request.too-large", title: "Request too large",
                detail: limit == 0 ? "this request takes no body" : "the body is over \(limit) bytes; send smaller batches")
    }
}

/// registryd's HTTP API under /v1 (see `openapi/registry.yaml`).
public enum RegistryRoutes {
    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(bytes: try RegistryJSON.encoder().encode(value))))
    }

    /// The first value of header `name` (case-insensitive).
    static func header(_ name: String, in request: Request) -> String? {
        values(name, in: request.headers).first
    }

    /// Every value of header `name` (case-insensitive), in order.
    static func values(_ name: String, in headers: HTTPFields) -> [String] {
        let wanted = name.lowercased()
        return headers.filter { $0.name.canonicalName == wanted }.map(\.value)
    }

    /// The request's `Idempotency-Key`, checked: 400 `idempotency.key-missing` saying what one key
    /// stands for (`per`, e.g. "one per change"), or `idempotency.key-invalid`.
    static func idempotencyKey(in request: Request, per: String) throws -> String {
        guard let key = header("Idempotency-Key", in: request) else {
            throw Problem(status: .badRequest, code: "idempotency.key-missing", title: "Idempotency-Key missing",
                          detail: "this request carries an Idempotency-Key header (\(per), kept when retrying)")
        }
        guard (1...128).contains(key.utf8.count), key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw Problem(status: .badRequest, code: "idempotency.key-invalid", title: "Invalid Idempotency-Key",
                          detail: "an idempotency key is 1 to 128 printable ASCII characters")
        }
        return key
    }

    static func uscc(_ text: String) throws -> String {
        do { return try CreditCode(text).value } catch {
            throw Problem(status: .badRequest, code: "uscc.invalid", title: "Invalid credit code", detail: error.description)
        }
    }

    static func notFound(_ code: String) -> Problem {
        Problem(status: .notFound, code: "enterprise.not-found", title: "No such enterprise", detail: "no enterprise is registered under \(code)")
    }

    /// Adds the routes to `router`: the path check first, `GET /v1/health` unsigned, every other
    /// route behind `KioskAuthenticationMiddleware` with its own body limit. Answers what holds
    /// configuration polls below the routes (give it to `ConnectionLimits.server`), nil when the
    /// store keeps no configuration.
    @discardableResult
    public static func add(to router: Router<RegistryRequestContext>, store: any RegistryStore,
                           options: RegistryOptions = RegistryOptions()) -> ConfigPollParking? {
        router.add(middleware: CanonicalPathMiddleware())
        router.add(middleware: StoreOutageMiddleware(availability: store.availability))
        let housekeeping = Housekeeping(store: store, retention: options.idempotencyRetention)
        let replays = ReplayGuard(capacity: options.replayCapacity)
        let principals = PrincipalDirectory(store: store, lifetime: options.keyMemory)
        let authenticator = RequestAuthenticator(principals: principals, replays: replays)
        func signed(_ limit: Int, allowAnonymous: Bool = false) -> RouterGroup<RegistryRequestContext> {
            router.group("v1").add(middleware: KioskAuthenticationMiddleware(authenticator: authenticator, bodyLimit: limit,
                                                                             allowAnonymous: allowAnonymous))
        }
        router.group("v1").get("health") { _, _ in
            // 503 while the database does not answer: a load balancer takes the replica out, a kiosk backs off.
            guard store.availability?.isAvailable ?? true else {
                return try json(HealthStatus(status: .storeUnavailable, serverTime: Date(), version: Yitiji.version), status: .serviceUnavailable)
            }
            return try json(HealthStatus(status: .ok, serverTime: Date(), version: Yitiji.version))
        }
        // Anyone holding a printed document may ask what it said: unauthenticated, rate-limited.
        let verifications = RateLimiter(burst: options.verificationBurst, perSecond: options.verificationsPerSecond)
        router.group("v1").get("verifications/:code") { _, context in
            guard await verifications.admit(context.clientAddress ?? "unknown") else {
                throw Problem(status: .tooManyRequests, code: "rate.limited", title: "Too many look-ups",
                              detail: "at most \(options.verificationBurst) look-ups at once and \(options.verificationsPerSecond) a second per address; try again shortly")
            }
            guard let key = VerificationRecord.recordKey(code: context.parameters.get("code") ?? "") else {
                throw Problem(status: .badRequest, code: "verification.code-invalid", title: "Not a verification code",
                              detail: "a code is 128 characters of Crockford base32 (dashes allowed), as printed under the QR code")
            }
            guard var answer = try await store.verification(recordKey: key) else {
                throw Problem(status: .notFound, code: "verification.not-found", title: "No such document",
                              detail: "no kiosk has reported a document with this code; check the code, or the kiosk may not have reported it yet")
            }
            answer.documentKeys = try await store.documentKeys(keyId: String(key.prefix(8))).filter { $0.kioskId == answer.kioskId }
            return try json(answer)
        }
        // Anyone may fetch the document keys registered under a code's key id.
        router.group("v1").get("document-keys/:keyId") { _, context in
            guard await verifications.admit(context.clientAddress ?? "unknown") else {
                throw Problem(status: .tooManyRequests, code: "rate.limited", title: "Too many look-ups",
                              detail: "at most \(options.verificationBurst) look-ups at once and \(options.verificationsPerSecond) a second per address; try again shortly")
            }
            let keyId = context.parameters.get("keyId") ?? ""
            guard RegisteredDocumentKey.isKeyId(keyId) else {
                throw Problem(status: .badRequest, code: "document-key.id-invalid", title: "Not a key id",
                              detail: "a document key id is 8 lower-case hex digits, as kioskctl document verify prints it")
            }
            let keys = try await store.documentKeys(keyId: keyId)
            guard !keys.isEmpty else {
                throw Problem(status: .notFound, code: "document-key.not-found", title: "No such key",
                              detail: "no kiosk has registered a document key with id \(keyId)")
            }
            return try json(keys)
        }
        let reads = signed(RegistryBodyLimit.none)
        let publicReads = options.publicReads ? signed(RegistryBodyLimit.none, allowAnonymous: true) : reads
        let questions = signed(RegistryBodyLimit.question)
        let submissions = signed(RegistryBodyLimit.submission)
        let batches = signed(RegistryBodyLimit.batch)
        questions.put("document-keys") { request, context in
            let kioskId = try context.requireKiosk()
            let body = try await request.body.collect(upTo: RegistryBodyLimit.question)
            guard let registration = try? RegistryJSON.decoder().decode(Components.Schemas.DocumentKeyRegistration.self, from: Data(body.readableBytesView)),
                  let raw = Data(base64Encoded: registration.publicKey), raw.count == 32,
                  (try? Curve25519.Signing.PublicKey(rawRepresentation: raw)) != nil else {
                throw Problem(status: .unprocessableContent, code: "document-key.invalid", title: "Not a document key",
                              detail: "the body is {\"publicKey\": base64 of the raw 32-byte Ed25519 public key} (kioskd --enrol prints it)")
            }
            if !options.acceptDemoKeys, DemoKeys.isDemo(registration.publicKey) {
                throw Problem(status: .unprocessableContent, code: "document-key.demo", title: "A demonstration key",
                              detail: "this is the demonstration document key, whose private half is public: make the kiosk its own with kioskd --enrol")
            }
            switch try await store.registerDocumentKey(kioskId: kioskId, publicKey: raw, at: Date(), limit: options.documentKeysPerKiosk) {
            case .registered, .alreadyRegistered:
                let key = RegisteredDocumentKey(keyId: RegisteredDocumentKey.keyId(of: raw), publicKey: registration.publicKey, kioskId: kioskId,
                                                registeredAt: Date())
                return try json(key)
            case .takenBy:
                throw Problem(status: .conflict, code: "document-key.taken", title: "Key registered to another kiosk",
                              detail: "this document key belongs to another kiosk; each kiosk makes its own with kioskd --enrol")
            case .tooMany(let held):
                throw Problem(status: .conflict, code: "document-key.limit", title: "Too many document keys",
                              detail: "kiosk \(kioskId) holds \(held) document keys, the most allowed; central operations remove old ones")
            }
        }
        if let deliveries = store as? any DeliveryStore {
            DeliveryRoutes.add(questions: questions, reads: reads, store: deliveries)
        }
        if let progress = store as? any ProgressStore, let parties = store as? any OpeningStore {
            ProgressRoutes.add(questions: questions, reads: reads, openings: Openings(progress: progress, store: parties),
                               limiter: RateLimiter(burst: options.progressBurst, perSecond: options.progressPerSecond))
        }
        if let hall = store as? any HallStore {
            HallRoutes.add(questions: questions, reads: reads, store: hall, housekeeping: housekeeping)
        }
        var parking: ConfigPollParking?
        if let configs = store as? any ConfigBundleStore {
            let desk = ConfigRoutes.add(reads: reads, reports: submissions, store: configs, options: options)
            parking = ConfigPollParking(desk: desk, authenticator: authenticator, availability: store.availability)
        }
        /// Enterprise reads need a kiosk unless `--public-reads` lets them through.
        let anonymousReads = options.publicReads
        @Sendable func reader(_ context: RegistryRequestContext) throws {
            if !anonymousReads { _ = try context.requireKiosk() }
        }
        // A lookup answers from the stored record's text; the encoded answer is kept while that text is unchanged.
        let answers = RecordAnswers()
        @Sendable func enterpriseAnswer(_ context: RegistryRequestContext, kind: String,
                                        _ make: @escaping @Sendable (EnterpriseRecord) -> any Encodable) async throws -> Response {
            try reader(context)
            let code = try uscc(context.parameters.get("uscc") ?? "")
            guard let text = try await store.enterpriseRecordText(uscc: code) else { throw notFound(code) }
            let body = try answers.answer(key: kind + code, source: text) { text in
                ByteBuffer(bytes: try RegistryJSON.encoder().encode(make(try SQLiteRegistryStore.decode(EnterpriseRecord.self, text))))
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
        }
        publicReads.get("enterprises/:uscc") { _, context in
            try await enterpriseAnswer(context, kind: "enterprise:") { $0.enterprise }
        }
        publicReads.get("enterprises/:uscc/archive") { _, context in
            try await enterpriseAnswer(context, kind: "archive:") { PublicArchive($0) }
        }
        publicReads.get("enterprises") { request, context in
            try reader(context)
            let name = request.uri.queryParameters.get("name") ?? ""
            guard (1...50).contains(name.count) else {
                throw Problem(status: .badRequest, code: "query.invalid", title: "Invalid search",
                              detail: "name must hold 1 to 50 characters")
            }
            let limitText = request.uri.queryParameters.get("limit") ?? "20"
            guard let limit = Int(limitText), (1...100).contains(limit) else {
                throw Problem(status: .badRequest, code: "query.invalid", title: "Invalid search", detail: "limit must be 1 to 100")
            }
            return try json(EnterpriseList(enterprises: try await store.searchEnterprises(name: name, limit: limit)))
        }
        reads.get("persons/:idNumber/social-insurance") { _, context in
            _ = try context.requireKiosk()
            let number: IDNumber
            do { number = try IDNumber(context.parameters.get("idNumber") ?? "") } catch {
                throw Problem(status: .badRequest, code: "id-number.invalid", title: "Invalid ID number", detail: "\(error)")
            }
            guard let person = try await store.person(idNumber: number.value) else {
                throw Problem(status: .notFound, code: "person.not-found", title: "No social-insurance record",
                              detail: "no record for \(number.masked)")
            }
            return try json(person)
        }
        questions.post("name-checks") { request, context in
            _ = try context.requireKiosk()
            var request = request
            let body = try await request.collectBody(upTo: context.maxUploadSize)
            guard let ask = try? RegistryJSON.decoder().decode(Components.Schemas.NameCheckRequest.self, from: body), (1...60).contains(ask.proposedName.count) else {
                throw Problem(status: .badRequest, code: "request.invalid", title: "Invalid request",
                              detail: "expected {\"proposedName\": …} with 1 to 60 characters")
            }
            // Registered names sharing the 字号 are the candidates (identical ones share it too).
            let parts = try? EnterpriseNames.parse(ask.proposedName).get()
            let probe = parts?.core ?? ask.proposedName.trimmingCharacters(in: .whitespaces)
            let listed = try await store.searchEnterprises(name: String(probe.prefix(50)), limit: 100)
            return try json(EnterpriseNames.check(ask.proposedName, against: listed.map { ($0.enterprise.name, $0.enterprise.uscc) }))
        }
        questions.post("print-authorizations") { request, context in
            _ = try context.requireKiosk()
            var request = request
            let body = try await request.collectBody(upTo: context.maxUploadSize)
            guard let ask = try? RegistryJSON.decoder().decode(Components.Schemas.PrintAuthorizationRequest.self, from: body) else {
                throw Problem(status: .badRequest, code: "request.invalid", title: "Invalid request",
                              detail: "expected {\"kind\": \"business-licence\"|\"archive\", \"uscc\": …, \"idNumber\": …}")
            }
            let code = try uscc(ask.uscc)
            let number: IDNumber
            do { number = try IDNumber(ask.idNumber) } catch {
                throw Problem(status: .badRequest, code: "id-number.invalid", title: "Invalid ID number", detail: "\(error)")
            }
            guard let record = try await store.enterprise(uscc: code) else { throw notFound(code) }
            guard record.legalRepresentativeIdNumber.uppercased() == number.value.uppercased() else {
                throw Problem(status: .forbidden, code: "print.not-entitled", title: "Not entitled to print",
                              detail: "only the legal representative of \(code) may print its \(ask.kind == .archive ? "full archive" : "business licence")")
            }
            let kind: PrintKind = switch ask.kind {
            case .businessLicence: .businessLicence
            case .archive: .archive
            }
            return try json(PrintAuthorization(allowed: true, kind: kind, uscc: code))
        }
        for kind in SubmissionKind.allCases {
            submissions.post(RouterPath(kind.rawValue)) { request, context in
                let kiosk = try context.requireKiosk()
                let key = try idempotencyKey(in: request, per: "one per item")
                var request = request
                let body = try await request.collectBody(upTo: context.maxUploadSize)
                let item = try prepare(kind: kind, key: key, body: Data(buffer: body), window: options.confirmationWindow)
                await housekeeping.tick()
                guard let result = try await store.submit(kioskId: kiosk, [item], now: Date()).first ?? nil else {
                    throw Problem(status: .internalServerError, code: "submission.not-recorded", title: "Not recorded", detail: "try again")
                }
                switch result {
                case .success(let receipt): return try json(receipt, status: .created)
                case .failure(let problem): throw problem
                }
            }
        }
        batches.post("submissions") { request, context in
            let kiosk = try context.requireKiosk()
            var request = request
            let body = try await request.collectBody(upTo: context.maxUploadSize)
            guard let batch = try? RegistryJSON.decoder().decode(BatchRequest.self, from: body) else {
                throw Problem(status: .badRequest, code: "batch.invalid", title: "Invalid batch",
                              detail: "expected {\"items\": [{\"kind\", \"idempotencyKey\", \"body\" (base64 of the JSON)}]}")
            }
            guard (1...options.maxBatchItems).contains(batch.items.count) else {
                throw Problem(status: .badRequest, code: "batch.invalid", title: "Invalid batch",
                              detail: "a batch holds 1 to \(options.maxBatchItems) items")
            }
            var prepared: [StoredSubmission] = []
            for item in batch.items {
                prepared.append(try prepare(kind: item.kind, key: item.idempotencyKey, body: item.body, window: options.confirmationWindow))
            }
            await housekeeping.tick()
            let results = try await store.submit(kioskId: kiosk, prepared, now: Date())
            return try json(BatchResponse(results: zip(batch.items, results).map { item, result in
                switch result {
                case .success(let receipt): return BatchResult(idempotencyKey: item.idempotencyKey, receipt: receipt, problem: nil)
                case .failure(let problem): return BatchResult(idempotencyKey: item.idempotencyKey, receipt: nil, problem: problem)
                case nil: return BatchResult(idempotencyKey: item.idempotencyKey, receipt: nil, problem: nil)
                }
            }))
        }
        return parking
    }

    /// Checks an item's key and body; a bad body becomes the item's problem (422). An application's
    /// parties have `window` from its arrival to confirm it.
    public static func prepare(kind: SubmissionKind, key: String, body: Data, window: TimeInterval = Openings.defaultWindow) throws -> StoredSubmission {
        guard (1...128).contains(key.utf8.count), key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw Problem(status: .badRequest, code: "idempotency.key-invalid", title: "Invalid Idempotency-Key",
                          detail: "an idempotency key is 1 to 128 printable ASCII characters")
        }
        func invalid(_ why: String) -> Problem {
            Problem(status: .unprocessableContent, code: "submission.invalid", title: "Invalid \(kind.rawValue) submission", detail: why)
        }
        let decoder = RegistryJSON.decoder()
        var problem: String?
        var visit: String?, tracking: String?
        var verification: VerificationRecord?
        var ticket: TicketReport?
        var application: ApplicationSubmission?
        var delivery: DeliveryRequest?
        var pension: PensionConfirmation?
        var cardLoss: CardLossReport?
        var partyConfirmation: PartyConfirmation?
        var heartbeat: Heartbeat?
        do {
            switch kind {
            case .applications:
                let value = try decoder.decode(ApplicationSubmission.self, from: body)
                problem = value.problem()
                tracking = value.trackingNumber
                application = value
            case .ratings:
                let value = try decoder.decode(RatingRecord.self, from: body)
                problem = value.problem()
                visit = value.visitId
            case .printRecords:
                let value = try decoder.decode(PrintRecord.self, from: body)
                problem = value.problem()
                verification = value.verification
            case .heartbeats:
                let value = try decoder.decode(Heartbeat.self, from: body)
                problem = value.problem()
                heartbeat = value
            case .deliveries:
                let value = try decoder.decode(DeliveryRequest.self, from: body)
                problem = value.problem()
                delivery = value
                tracking = value.deliveryId
            case .cardLosses:
                let value = try decoder.decode(CardLossReport.self, from: body)
                problem = value.problem()
                cardLoss = value
                tracking = value.reportId
            case .partyConfirmations:
                let value = try decoder.decode(PartyConfirmation.self, from: body)
                problem = value.problem()
                partyConfirmation = value
                tracking = value.confirmationId
            case .pensionConfirmations:
                let value = try decoder.decode(PensionConfirmation.self, from: body)
                problem = value.problem()
                pension = value
                tracking = value.confirmationId
            case .tickets:
                let value = try decoder.decode(TicketReport.self, from: body)
                problem = value.problem()
                ticket = value
                tracking = value.ticketId
            }
        } catch {
            let p = DecodingProblem(error, root: "(body)")
            problem = "\(p.location): \(p.reason)"
        }
        var stored = StoredSubmission(kind: kind, idempotencyKey: key, body: body, invalid: problem.map(invalid),
                                      visitId: visit, trackingNumber: tracking, verification: problem == nil ? verification : nil)
        if problem == nil {
            stored.ticket = ticket
            stored.application = application
            stored.delivery = delivery
            stored.pension = pension
            stored.cardLoss = cardLoss
            stored.partyConfirmation = partyConfirmation
            stored.heartbeat = heartbeat
            stored.confirmationWindow = window
        }
        return stored
    }
}

/// Forgets old idempotency keys at most once an hour.
actor Housekeeping {
    let store: any RegistryStore
    let retention: TimeInterval
    var last = Date.distantPast
    init(store: any RegistryStore, retention: TimeInterval) {
        self.store = store
        self.retention = max(retention, 7 * 24 * 3600)
    }
    func tick() async {
        guard Date().timeIntervalSince(last) > 3600 else { return }
        last = Date()
        _ = try? await store.forgetIdempotencyKeys(before: Date().addingTimeInterval(-retention))
    }
}
