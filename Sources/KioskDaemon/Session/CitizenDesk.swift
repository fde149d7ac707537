import Foundation
import IDCardReader
import KioskAPI
import KioskConfig
import KioskCore
import Logging
import Printing
import Registry

/// kioskd's citizen operations: the session's card holder, registry queries through the gateway,
/// documents rendered and printed here, writes queued durably. What the citizen socket serves.
public final class CitizenDesk: CitizenOperations {
    let sessions: SessionManager
    let state: KioskState
    let hub: EventHub
    let gateway: any RegistryGateway
    let desk: DocumentDesk
    let faces: FaceCheckDesk
    let configuration: Locked<KioskConfiguration>
    let audit: AuditLog?
    let logger: Logger
    private let ratedVisits = Locked<Set<String>>([])
    /// Deliveries asked for, by request id: a retry answers the same receipt.
    let deliveryReceipts = RecentAnswers<ApplicationReceipt>()
    /// Pension confirmations, by request id: a retry answers the same outcome.
    let pensionOutcomes = RecentAnswers<PensionConfirmationView>()
    /// Card loss reports, by request id: a retry answers the same outcome.
    let cardLossOutcomes = RecentAnswers<CardLossView>()
    /// Party confirmations, by request id: a retry answers the same outcome.
    let openingOutcomes = RecentAnswers<OpeningConfirmationView>()
    /// Told of each print's role, outcome and duration (the metrics).
    let onPrinted: (@Sendable (String, String, Duration) -> Void)?

    public init(sessions: SessionManager, state: KioskState, hub: EventHub, gateway: any RegistryGateway, desk: DocumentDesk,
                faces: FaceCheckDesk, configuration: KioskConfiguration, audit: AuditLog?, logger: Logger,
                onPrinted: (@Sendable (String, String, Duration) -> Void)? = nil) {
        self.onPrinted = onPrinted
        self.sessions = sessions
        self.state = state
        self.hub = hub
        self.gateway = gateway
        self.desk = desk
        self.faces = faces
        self.configuration = Locked(configuration)
        self.audit = audit
        self.logger = logger
    }

    /// Takes a new configuration (after a bundle was applied).
    public func update(configuration: KioskConfiguration) {
        self.configuration.withLock { $0 = configuration }
        desk.update(printers: configuration.settings.printers)
    }

    var config: KioskConfiguration { configuration.withLock { $0 } }

    /// The interface part of a configuration.
    public static func interface(of config: KioskConfiguration) -> InterfaceConfiguration {
        InterfaceConfiguration(
            kioskName: config.settings.kiosk.name, languages: config.settings.languages, texts: config.texts.languages,
            services: config.services.items.map { item in
                ServiceItemView(code: item.code, nameZh: item.name.zh, nameEn: item.name.en, action: item.action.rawValue,
                                requiresCard: item.requiresCard, guide: guide(of: item, in: config.services))
            },
            ratingLevels: config.evaluation.levels.map {
                RatingLevelView(value: $0.value, label: LocalizedTextView(zh: $0.label.zh, en: $0.label.en))
            },
            ratingReasons: config.evaluation.reasons.map { LocalizedTextView(zh: $0.zh, en: $0.en) },
            reasonRequiredAtOrBelow: config.evaluation.reasonRequiredAtOrBelow, evaluationVersion: config.evaluation.version,
            idleTimeoutSeconds: config.settings.session.idleTimeoutSeconds)
    }

    public func interfaceConfiguration() async throws -> InterfaceConfiguration { Self.interface(of: config) }

    public func status() async throws -> KioskStatusView {
        KioskStatusView(maintenance: await state.maintenance, maintenanceReason: await state.maintenanceReason,
                        readerPresent: await state.readerPresent, warnings: await state.warnings,
                        session: await sessions.holderView)
    }

    public func events() -> AsyncStream<KioskEvent> { hub.subscribe() }

    public func touch() async { await sessions.touch() }

    // MARK: - Queries

    static func citizenError(_ error: GatewayError) -> CitizenAPIError {
        switch error {
        case .unreachable(let d): return CitizenAPIError(messageKey: "registry.unreachable", detail: d)
        case .notFound(let d): return CitizenAPIError(messageKey: "query.none", detail: d)
        case let .refused(code, d):
            return CitizenAPIError(messageKey: code == "print.not-entitled" ? "licence.refused" : "error.generic", detail: "\(code): \(d)")
        case .queueFull(let d): return CitizenAPIError(messageKey: "error.generic", detail: d)
        case .badAnswer(let d): return CitizenAPIError(messageKey: "registry.unreachable", detail: d)
        }
    }

    func notInMaintenance() async throws {
        if await state.maintenance { throw CitizenAPIError(messageKey: "maintenance", detail: "the kiosk is in maintenance mode") }
    }

    public func searchEnterprises(_ query: String) async throws -> EnterpriseSearchResult {
        try await notInMaintenance()
        await sessions.touch()
        let text = query.trimmingCharacters(in: .whitespaces).uppercased()
        do {
            if let code = try? CreditCode(text) {
                let answer = try await gateway.enterprise(uscc: code.value)
                return EnterpriseSearchResult(results: [Self.summary(answer)], cachedAgeSeconds: answer.cachedAgeSeconds)
            }
            let (results, age) = try await gateway.search(name: query.trimmingCharacters(in: .whitespaces), limit: 20)
            return EnterpriseSearchResult(results: results, cachedAgeSeconds: age)
        } catch {
            if case .notFound = error { return EnterpriseSearchResult(results: []) }
            throw Self.citizenError(error)
        }
    }

    static func summary(_ answer: EnterpriseAnswer) -> EnterpriseSummary {
        EnterpriseSummary(uscc: answer.enterprise.uscc, name: answer.enterprise.name, status: answer.status,
                          legalRepresentative: answer.enterprise.legalRepresentative)
    }

    public func enterprise(uscc: String) async throws -> EnterpriseDetail {
        try await notInMaintenance()
        await sessions.touch()
        do {
            let answer = try await gateway.enterprise(uscc: uscc)
            return EnterpriseDetail(enterprise: answer.enterprise, status: answer.status, archive: answer.archive,
                                    cachedAgeSeconds: answer.cachedAgeSeconds)
        } catch { throw Self.citizenError(error) }
    }

    // MARK: - Person–card verification

    public func checkFace() async throws -> FaceCheckView {
        try await notInMaintenance()
        return try await faces.check()
    }

    /// The service a document is printed for.
    static func action(of kind: DocumentKind) -> ServiceCatalogue.Action? {
        switch kind {
        case .businessLicence: return .businessLicence
        case .socialInsuranceCertificate: return .socialInsuranceCertificate
        case .archiveExtract: return .archiveQuery
        case .receipt, .queueTicket, .serviceGuide: return nil
        }
    }

    /// Refuses a document whose service needs a face match until the visit's person has matched the card.
    func requireFaceMatch(for kind: DocumentKind) async throws {
        guard let action = Self.action(of: kind) else { return }
        try await requireFaceMatch(for: action)
    }

    /// Refuses a service that needs a face match until the visit's person has matched the card.
    func requireFaceMatch(for action: ServiceCatalogue.Action) async throws {
        guard config.services.needsFaceMatch(action), !(await sessions.facePassed) else { return }
        throw CitizenAPIError(messageKey: "face.needed", detail: "\(action.rawValue) is for the card's holder in person: pass the face check first (POST /v1/face-checks)")
    }

    // MARK: - Documents

    func holder() async throws -> CardIdentity {
        guard let identity = await sessions.identity else {
            throw CitizenAPIError(messageKey: "card.needed", detail: "this needs the card holder's ID card on the reader")
        }
        return identity
    }

    /// Renders the document a request names, checking the card holder's entitlement.
    func document(for request: DocumentRequest) async throws -> (RenderedDocument, title: String, identity: CardIdentity) {
        try await notInMaintenance()
        let identity = try await holder()
        await sessions.touch()
        guard let kind = DocumentKind(rawValue: request.kind), ![.receipt, .queueTicket, .serviceGuide].contains(kind) else {
            throw CitizenAPIError(messageKey: "error.generic", detail: "unknown document kind \(request.kind)")
        }
        try await requireFaceMatch(for: kind)
        do {
            switch kind {
            case .businessLicence, .archiveExtract:
                let uscc = request.uscc ?? ""
                guard try await gateway.authorizePrint(kind: kind.rawValue, uscc: uscc, idNumber: identity.idNumber) else {
                    throw CitizenAPIError(messageKey: "licence.refused", detail: "the card holder is not the legal representative of \(uscc)")
                }
                let answer = try await gateway.enterprise(uscc: uscc)
                if kind == .businessLicence {
                    return (try desk.render(kind, answer.enterprise), "营业执照（副本）", identity)
                }
                let record = EnterpriseRecord(enterprise: answer.enterprise, legalRepresentativeIdNumber: "",
                                              status: answer.status, archive: answer.archive)
                return (try desk.render(kind, record), "企业登记档案", identity)
            case .socialInsuranceCertificate:
                let record = try await gateway.socialInsurance(idNumber: identity.idNumber)
                return (try desk.render(kind, record), "社会保险参保证明", identity)
            case .receipt, .queueTicket, .serviceGuide:
                throw CitizenAPIError(messageKey: "error.generic", detail: "receipts and tickets are printed by the kiosk itself")
            }
        } catch let error as GatewayError {
            throw Self.citizenError(error)
        } catch let error as DocumentDeskError {
            logger.error("document not rendered", metadata: ["kind": "\(kind.rawValue)", "error": "\(error)"])
            throw CitizenAPIError(messageKey: "error.generic", detail: error.description)
        }
    }

    public func preview(_ request: DocumentRequest) async throws -> DocumentPreview {
        let (document, title, _) = try await document(for: request)
        return DocumentPreview(title: title, pages: DocumentDesk.previewPages(document, title: title, labels: config.texts.languages["zh"] ?? [:]))
    }

    static func messageKey(_ outcome: PrintOutcome) -> String {
        switch outcome {
        case .completed: return "print.done"
        case .failed(_, let citizen, _): return citizen.contains("缺纸") ? "print.nopaper" : "print.failed"
        case .uncertain: return "print.uncertain"
        }
    }

    static func stateName(_ outcome: PrintOutcome) -> String {
        switch outcome {
        case .completed: return "completed"
        case .failed: return "failed"
        case .uncertain: return "uncertain"
        }
    }

    public func print(_ request: DocumentRequest, requestId: String) async throws -> PrintOutcomeView {
        let session = await sessions.sessionID
        let (document, _, identity) = try await document(for: request)
        // The registry calls took time: print only for the same card holder's same visit.
        guard let still = await sessions.sessionID, still == session, await sessions.identity?.idNumber == identity.idNumber else {
            throw CitizenAPIError(messageKey: "card.needed", detail: "the card was taken off while the document was prepared; nothing was printed")
        }
        hub.publish(.printProgress(state: "printing"))
        let started = ContinuousClock.now
        let printed = await desk.print(document, role: "a4", requestID: requestId)
        let state = Self.stateName(printed.outcome)
        onPrinted?("a4", state, ContinuousClock.now - started)
        hub.publish(.printProgress(state: state))
        await self.state.count("prints.\(state)")
        if state != "completed" { await self.state.count("prints.problem.\(Self.messageKey(printed.outcome))") }
        await sessions.touch()
        var detail = "\(document.kind.rawValue) \(state) on \(printed.queue)"
        if case let .failed(_, _, why) = printed.outcome { detail += ": \(why)" }
        if case let .uncertain(_, why) = printed.outcome { detail += ": \(why)" }
        audit?.record(actor: "citizen", action: "print", subjectIdNumber: identity.idNumber, detail: detail)
        logger.info("print", metadata: ["kind": "\(document.kind.rawValue)", "outcome": "\(state)", "queue": "\(printed.queue)"])
        // What the document says travels with its code, so a verifier can later see what was printed.
        let verification = printed.outcome.succeeded
            ? VerificationRecord(code: document.code.description, kind: document.fields.kind, fields: document.fields.fields,
                                 sha256: document.fields.sha256.hexString)
            : nil
        let record = PrintRecord(visitId: await sessions.sessionID ?? "none", documentKind: document.kind.rawValue, uscc: request.uscc,
                                 verificationCode: printed.outcome.succeeded ? document.code.description : nil, outcome: state,
                                 pages: document.pageCount, printedAt: Date(), verification: verification)
        do { try await gateway.recordPrint(record) } catch {
            logger.warning("print record not queued", metadata: ["error": "\(error)"])
        }
        return PrintOutcomeView(state: state, messageKey: Self.messageKey(printed.outcome),
                                verificationCode: printed.outcome.succeeded ? document.code.description : nil)
    }

    /// Prints a rendered slip on the receipt printer, once per `requestID`, counting it and timing
    /// it for the metrics; answers the outcome's state name with the outcome.
    func printOnReceipt(_ document: RenderedDocument, requestID: String) async -> (state: String, outcome: PrintOutcome) {
        let started = ContinuousClock.now
        let printed = await desk.print(document, role: "receipt", requestID: requestID)
        let state = Self.stateName(printed.outcome)
        onPrinted?("receipt", state, ContinuousClock.now - started)
        await self.state.count("prints.\(state)")
        return (state, printed.outcome)
    }

    /// Prints a submission's receipt slip when the kiosk has a receipt printer; answers whether
    /// it printed. A slip that cannot be rendered or printed is logged (its service, never its note).
    func printReceipt(_ slip: ReceiptSlip, requestID: String) async -> Bool {
        guard desk.roles["receipt"] != nil else { return false }
        let document: RenderedDocument
        do { document = try desk.render(.receipt, slip) } catch {
            logger.error("receipt not rendered", metadata: ["service": "\(slip.service)", "error": "\(error)"])
            return false
        }
        let printed = await printOnReceipt(document, requestID: requestID)
        if !printed.outcome.succeeded {
            logger.warning("receipt not printed", metadata: ["service": "\(slip.service)", "outcome": "\(printed.outcome)"])
        }
        return printed.outcome.succeeded
    }

    /// The session's card holder for `action`, once the kiosk is in service and the visit's face
    /// match holds where the service needs one.
    func holder(for action: ServiceCatalogue.Action) async throws -> CardIdentity {
        try await notInMaintenance()
        let identity = try await holder()
        await sessions.touch()
        try await requireFaceMatch(for: action)
        return identity
    }

    // MARK: - Submissions

    public func checkName(_ proposedName: String) async throws -> NameCheckView {
        try await notInMaintenance()
        await sessions.touch()
        return try await nameVerdict(proposedName)
    }

    /// The registry's verdict on `proposedName`; `unchecked` while it cannot be asked.
    func nameVerdict(_ proposedName: String) async throws -> NameCheckView {
        do {
            return Self.view(try await gateway.checkName(proposedName))
        } catch {
            switch error {
            case .unreachable, .badAnswer:
                return NameCheckView(verdict: "unchecked", messageKey: "name.unchecked", detail: "the registry is unreachable: the name is checked when the application arrives")
            default: throw Self.citizenError(error)
            }
        }
    }

    static func view(_ result: NameCheckResult) -> NameCheckView {
        NameCheckView(verdict: result.verdict.rawValue, messageKey: "name." + result.verdict.rawValue, conflicts: result.conflicts.map(\.name),
                      forbiddenWords: result.forbiddenWords, detail: result.detail)
    }

    public func submitApplication(_ form: ApplicationForm) async throws -> ApplicationReceipt {
        try await notInMaintenance()
        let identity = try await holder()
        await sessions.touch()
        // The name is declared here (自主申报): a name the registry refuses is not submitted.
        let name = try await nameVerdict(form.proposedName)
        guard name.acceptable else {
            throw CitizenAPIError(messageKey: name.messageKey, detail: name.detail, values: name.values)
        }
        let settings = config.settings
        let parties = try Self.parties(form.parties, holder: identity)
        let draft = ApplicationDraft(applicant: Applicant(idNumber: identity.idNumber, name: identity.displayName),
                                     proposedName: form.proposedName, type: form.type, registeredCapital: form.registeredCapital,
                                     address: form.address, businessScope: form.businessScope, delivery: form.delivery, parties: parties)
        let queued: QueuedApplication
        do { queued = try await gateway.submitApplication(draft) } catch { throw Self.citizenError(error) }
        audit?.record(actor: "citizen", action: "submission.application", subjectIdNumber: identity.idNumber,
                      detail: "tracking \(queued.trackingNumber)")
        var note = queued.registryNumber == nil ? "网络恢复后将自动上报中心，编号不变" : "中心受理号 \(queued.registryNumber ?? "")"
        if let posted = form.delivery?.masked { note += "；结果免费邮寄至 \(posted.recipient) \(posted.mobile) \(posted.address)" }
        if let others = parties.map({ $0.count - 1 }), others > 0 {
            note += "；其余 \(others) 位当事人须凭本人身份证到任一自助机确认（企业开办当事人确认），逾期未确认申请失效"
        }
        let receiptPrinted = await printReceipt(ReceiptSlip(service: "企业设立登记预申请", time: Date(), kiosk: settings.kiosk.id,
                                                            trackingNumber: queued.trackingNumber, note: note),
                                                requestID: "receipt-" + queued.trackingNumber)
        return ApplicationReceipt(trackingNumber: queued.trackingNumber, registryNumber: queued.registryNumber,
                                  receiptPrinted: receiptPrinted, postedTo: form.delivery?.masked)
    }

    public func rate(_ rating: RatingSubmission) async throws {
        try await notInMaintenance()
        let form = config.evaluation
        guard rating.formVersion == form.version else {
            throw CitizenAPIError(messageKey: "error.generic", detail: "evaluation form version \(rating.formVersion) is not the current \(form.version)")
        }
        if rating.level <= form.reasonRequiredAtOrBelow, (rating.reason ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
            throw CitizenAPIError(messageKey: "rating.reason", detail: "a rating of \(rating.level) needs a reason")
        }
        // A rating belongs to a visit: a card holder's session, rated once.
        guard let visit = await sessions.sessionID else {
            throw CitizenAPIError(messageKey: "card.needed", detail: "a rating belongs to a visit: it is taken while the card is on the reader")
        }
        guard ratedVisits.withLock({ $0.insert(visit).inserted }) else {
            throw CitizenAPIError(messageKey: "rating.thanks", detail: "this visit was already rated")
        }
        let record = RatingRecord(visitId: visit, level: rating.level, reason: rating.reason, serviceCode: rating.serviceCode,
                                  formVersion: rating.formVersion, ratedAt: Date())
        do { try await gateway.submitRating(record) } catch { throw Self.citizenError(error) }
        audit?.record(actor: "citizen", action: "submission.rating", detail: "level \(rating.level) for \(rating.serviceCode)")
    }

    public func endSession() async { await sessions.end(.finished) }
}
