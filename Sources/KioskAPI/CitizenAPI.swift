import KioskCore

/// The card holder as the citizen's screen may show them: masked, never the full identity.
public struct CardHolderView: Codable, Sendable, Equatable {
    /// `resident`, `hkMacaoTaiwan`, `foreigner2017` or `foreigner2023`.
    public var cardType: String
    /// Masked name, e.g. 张*.
    public var maskedName: String
    /// Masked ID number, e.g. 441900********1234.
    public var maskedIdNumber: String

    public init(cardType: String, maskedName: String, maskedIdNumber: String) {
        self.cardType = cardType
        self.maskedName = maskedName
        self.maskedIdNumber = maskedIdNumber
    }
}

/// Something that happened at the kiosk, pushed to subscribed clients.
public enum KioskEvent: Codable, Sendable, Equatable {
    /// A card is on the reader and being read.
    case cardReading
    /// A card was read: a session started for its holder.
    case sessionStarted(CardHolderView)
    /// The card on the reader could not be read; `reason` is a text key such as `card.unreadable`.
    case cardUnreadable(reason: String)
    /// The card was removed: the session ended and its data was wiped.
    case cardRemoved
    /// The session will end in `secondsLeft` unless the citizen does something.
    case sessionWarning(secondsLeft: Int)
    /// The session ended, and why.
    case sessionEnded(reason: SessionEndReason)
    /// The reader is connected (true) or missing (false).
    case readerPresent(Bool)
    /// A print job moved on: `queued`, `printing`, `completed`, `failed`, `uncertain`.
    case printProgress(state: String)
    /// Maintenance mode switched on (with the technician's reason) or off.
    case maintenance(on: Bool, reason: String?)
    /// A new configuration is in use: reload menus and texts.
    case configurationChanged
}

/// Why a session ended; its card data is wiped in every case.
public enum SessionEndReason: String, Sendable, Codable, CaseIterable {
    /// The card was taken off the reader.
    case cardRemoved
    /// The citizen chose 结束办理 (or the interface ended the visit).
    case finished
    /// Nobody touched the kiosk for the idle timeout.
    case timeout
    /// A technician switched maintenance mode on.
    case maintenance
    /// kioskd is stopping.
    case shutdown
    /// Another card was read: the old session gave way to the new one.
    case replaced
}

/// On the wire an event is one object whose `type` names it, with its values beside it:
/// `{"type":"sessionStarted","holder":{…}}`, `{"type":"readerPresent","present":false}`,
/// `{"type":"cardRemoved"}`. An unknown `type` is a decoding error the client skips.
extension KioskEvent {
    enum CodingKeys: String, CodingKey { case type, holder, reason, secondsLeft, present, state, on }

    /// The `type` of each event.
    public var type: String {
        switch self {
        case .cardReading: return "cardReading"
        case .sessionStarted: return "sessionStarted"
        case .cardUnreadable: return "cardUnreadable"
        case .cardRemoved: return "cardRemoved"
        case .sessionWarning: return "sessionWarning"
        case .sessionEnded: return "sessionEnded"
        case .readerPresent: return "readerPresent"
        case .printProgress: return "printProgress"
        case .maintenance: return "maintenance"
        case .configurationChanged: return "configurationChanged"
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(String.self, forKey: .type)
        switch type {
        case "cardReading": self = .cardReading
        case "sessionStarted": self = .sessionStarted(try c.decode(CardHolderView.self, forKey: .holder))
        case "cardUnreadable": self = .cardUnreadable(reason: try c.decode(String.self, forKey: .reason))
        case "cardRemoved": self = .cardRemoved
        case "sessionWarning": self = .sessionWarning(secondsLeft: try c.decode(Int.self, forKey: .secondsLeft))
        case "sessionEnded": self = .sessionEnded(reason: try c.decode(SessionEndReason.self, forKey: .reason))
        case "readerPresent": self = .readerPresent(try c.decode(Bool.self, forKey: .present))
        case "printProgress": self = .printProgress(state: try c.decode(String.self, forKey: .state))
        case "maintenance": self = .maintenance(on: try c.decode(Bool.self, forKey: .on), reason: try c.decodeIfPresent(String.self, forKey: .reason))
        case "configurationChanged": self = .configurationChanged
        default:
            throw DecodingError.dataCorruptedError(forKey: .type, in: c, debugDescription: "unknown event type '\(type.prefix(40))'")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .type)
        switch self {
        case .cardReading, .cardRemoved, .configurationChanged: break
        case .sessionStarted(let holder): try c.encode(holder, forKey: .holder)
        case .cardUnreadable(let reason): try c.encode(reason, forKey: .reason)
        case .sessionEnded(let reason): try c.encode(reason, forKey: .reason)
        case .sessionWarning(let secondsLeft): try c.encode(secondsLeft, forKey: .secondsLeft)
        case .readerPresent(let present): try c.encode(present, forKey: .present)
        case .printProgress(let state): try c.encode(state, forKey: .state)
        case .maintenance(let on, let reason):
            try c.encode(on, forKey: .on)
            try c.encodeIfPresent(reason, forKey: .reason)
        }
    }
}

/// One service item as the citizen's menu shows it.
public struct ServiceItemView: Codable, Sendable, Equatable {
    public var code: String
    public var nameZh: String
    public var nameEn: String
    /// `archive-query`, `business-licence`, `social-insurance-certificate`, `establishment-application`,
    /// `counter-ticket`, `appointment-check-in`.
    public var action: String
    public var requiresCard: Bool
    /// The service guide (办事指南) shown before the service starts.
    public var guide: ServiceGuideView?

    public init(code: String, nameZh: String, nameEn: String, action: String, requiresCard: Bool, guide: ServiceGuideView? = nil) {
        self.code = code
        self.nameZh = nameZh
        self.nameEn = nameEn
        self.action = action
        self.requiresCard = requiresCard
        self.guide = guide
    }
}

/// A service's guide (办事指南): who does it, on what basis, what to bring, how long, what it
/// costs, where and when; every field in both languages.
public struct ServiceGuideView: Codable, Sendable, Equatable {
    /// 事项类型.
    public var type: String
    public var department: LocalizedTextView
    public var legalBasis: LocalizedTextView
    public var materials: [LocalizedTextView]
    public var timeLimit: LocalizedTextView
    public var fee: LocalizedTextView
    public var location: LocalizedTextView?
    public var hours: LocalizedTextView?
    /// For counter services: the hall queue's name.
    public var queueName: LocalizedTextView?

    public init(type: String, department: LocalizedTextView, legalBasis: LocalizedTextView, materials: [LocalizedTextView],
                timeLimit: LocalizedTextView, fee: LocalizedTextView, location: LocalizedTextView?, hours: LocalizedTextView?,
                queueName: LocalizedTextView?) {
        self.type = type
        self.department = department
        self.legalBasis = legalBasis
        self.materials = materials
        self.timeLimit = timeLimit
        self.fee = fee
        self.location = location
        self.hours = hours
        self.queueName = queueName
    }
}

/// A queue ticket as the citizen's screen shows it, once printed (or not).
public struct QueueTicketView: Codable, Sendable, Equatable {
    /// The number, e.g. A023 (AK007 when given offline).
    public var number: String
    /// The service, in both languages.
    public var service: LocalizedTextView
    /// People waiting ahead; nil when not known (offline without an earlier figure).
    public var ahead: Int?
    /// The figure is the last one known, not the registry's now ("约 N 人").
    public var approximate: Bool
    /// Rough minutes to wait, from the queue's counters and minutes per person.
    public var waitMinutes: Int?
    /// An appointment's check-in: called before ordinary numbers.
    public var priority: Bool
    /// Given by the kiosk while the registry was unreachable.
    public var offline: Bool
    /// Whether the ticket printed; a ticket not printed is not counted.
    public var printed: Bool
    /// A text key for the outcome: `ticket.take`, `print.nopaper`, `print.failed`, `print.uncertain`.
    public var messageKey: String

    public init(number: String, service: LocalizedTextView, ahead: Int?, approximate: Bool, waitMinutes: Int?, priority: Bool,
                offline: Bool, printed: Bool, messageKey: String) {
        self.number = number
        self.service = service
        self.ahead = ahead
        self.approximate = approximate
        self.waitMinutes = waitMinutes
        self.priority = priority
        self.offline = offline
        self.printed = printed
        self.messageKey = messageKey
    }
}

/// What the citizen interface needs from the configuration: menu, texts, evaluation form.
public struct InterfaceConfiguration: Codable, Sendable, Equatable {
    public var kioskName: String
    public var languages: [String]
    /// Texts by language, then key.
    public var texts: [String: [String: String]]
    public var services: [ServiceItemView]
    /// Level labels, best (5) first, by language.
    public var ratingLevels: [RatingLevelView]
    public var ratingReasons: [LocalizedTextView]
    public var reasonRequiredAtOrBelow: Int
    public var evaluationVersion: Int
    public var idleTimeoutSeconds: Int

    public init(kioskName: String, languages: [String], texts: [String: [String: String]], services: [ServiceItemView],
                ratingLevels: [RatingLevelView], ratingReasons: [LocalizedTextView], reasonRequiredAtOrBelow: Int,
                evaluationVersion: Int, idleTimeoutSeconds: Int) {
        self.kioskName = kioskName
        self.languages = languages
        self.texts = texts
        self.services = services
        self.ratingLevels = ratingLevels
        self.ratingReasons = ratingReasons
        self.reasonRequiredAtOrBelow = reasonRequiredAtOrBelow
        self.evaluationVersion = evaluationVersion
        self.idleTimeoutSeconds = idleTimeoutSeconds
    }

    /// The text for `key` in `language`, else Chinese, else the key itself.
    public func text(_ key: String, _ language: String) -> String {
        texts[language]?[key] ?? texts["zh"]?[key] ?? key
    }
}

/// A text in both interface languages.
public struct LocalizedTextView: Codable, Sendable, Equatable {
    public var zh: String
    public var en: String
    public init(zh: String, en: String) { self.zh = zh; self.en = en }
    public func text(_ language: String) -> String { language == "en" ? en : zh }
}

/// One level of the evaluation form.
public struct RatingLevelView: Codable, Sendable, Equatable {
    public var value: Int
    public var label: LocalizedTextView
    public init(value: Int, label: LocalizedTextView) { self.value = value; self.label = label }
}

/// What the kiosk is able to do right now.
public struct KioskStatusView: Codable, Sendable, Equatable {
    public var maintenance: Bool
    public var maintenanceReason: String?
    public var readerPresent: Bool
    /// Text keys of current problems the citizen should know, e.g. `print.nopaper`.
    public var warnings: [String]
    /// The current session's card holder, if a session is active.
    public var session: CardHolderView?

    public init(maintenance: Bool, maintenanceReason: String? = nil, readerPresent: Bool, warnings: [String] = [],
                session: CardHolderView? = nil) {
        self.maintenance = maintenance
        self.maintenanceReason = maintenanceReason
        self.readerPresent = readerPresent
        self.warnings = warnings
        self.session = session
    }
}

/// One line of an enterprise search result.
public struct EnterpriseSummary: Codable, Sendable, Equatable {
    public var uscc: String
    public var name: String
    public var status: String
    public var legalRepresentative: String
    public init(uscc: String, name: String, status: String, legalRepresentative: String) {
        self.uscc = uscc
        self.name = name
        self.status = status
        self.legalRepresentative = legalRepresentative
    }
}

/// Search results; `cachedAgeSeconds` is set when the registry was unreachable and cached data is shown.
public struct EnterpriseSearchResult: Codable, Sendable, Equatable {
    public var results: [EnterpriseSummary]
    public var cachedAgeSeconds: Int?
    public init(results: [EnterpriseSummary], cachedAgeSeconds: Int? = nil) {
        self.results = results
        self.cachedAgeSeconds = cachedAgeSeconds
    }
}

/// An enterprise's public record and registration archive.
public struct EnterpriseDetail: Codable, Sendable, Equatable {
    public var enterprise: Enterprise
    public var status: String
    public var archive: [ArchiveEvent]
    public var cachedAgeSeconds: Int?
    public init(enterprise: Enterprise, status: String, archive: [ArchiveEvent], cachedAgeSeconds: Int? = nil) {
        self.enterprise = enterprise
        self.status = status
        self.archive = archive
        self.cachedAgeSeconds = cachedAgeSeconds
    }
}

/// A document the citizen asks for.
public struct DocumentRequest: Codable, Sendable, Equatable {
    /// `business-licence`, `archive-extract` or `social-insurance-certificate`.
    public var kind: String
    /// The enterprise, for enterprise documents.
    public var uscc: String?
    public init(kind: String, uscc: String? = nil) { self.kind = kind; self.uscc = uscc }
}

/// A document's text, page by page, for the preview screen.
public struct DocumentPreview: Codable, Sendable, Equatable {
    public var title: String
    public var pages: [String]
    public init(title: String, pages: [String]) { self.title = title; self.pages = pages }
}

/// How a print ended.
public struct PrintOutcomeView: Codable, Sendable, Equatable {
    /// `completed`, `failed` or `uncertain`.
    public var state: String
    /// A text key for the citizen, e.g. `print.done`, `print.nopaper`.
    public var messageKey: String
    public var verificationCode: String?
    public init(state: String, messageKey: String, verificationCode: String? = nil) {
        self.state = state
        self.messageKey = messageKey
        self.verificationCode = verificationCode
    }
}

/// An enterprise establishment pre-application; the applicant is the session's card holder.
public struct ApplicationForm: Codable, Sendable, Equatable {
    public var proposedName: String
    public var type: String
    public var registeredCapital: String
    public var address: String
    public var businessScope: String
    /// Where the result is posted (免费邮递); nil: collected at the hall.
    public var delivery: DeliveryAddress?
    /// The natural persons named, the card holder among them; nil: the holder alone, in every role.
    public var parties: [PartyEntry]?
    public init(proposedName: String, type: String, registeredCapital: String, address: String, businessScope: String,
                delivery: DeliveryAddress? = nil, parties: [PartyEntry]? = nil) {
        self.delivery = delivery
        self.parties = parties
        self.proposedName = proposedName
        self.type = type
        self.registeredCapital = registeredCapital
        self.address = address
        self.businessScope = businessScope
    }
}

/// The receipt a citizen gets at once, online or offline.
public struct ApplicationReceipt: Codable, Sendable, Equatable {
    /// The kiosk's own tracking number, e.g. YT-20261123-000042.
    public var trackingNumber: String
    /// The registry's number, once delivered; nil while queued offline.
    public var registryNumber: String?
    /// Whether the receipt slip printed.
    public var receiptPrinted: Bool
    /// Where the result will be posted, masked (张*, 138****1234); nil: collected at the hall.
    public var postedTo: DeliveryAddress?
    public init(trackingNumber: String, registryNumber: String?, receiptPrinted: Bool, postedTo: DeliveryAddress? = nil) {
        self.postedTo = postedTo
        self.trackingNumber = trackingNumber
        self.registryNumber = registryNumber
        self.receiptPrinted = receiptPrinted
    }
}

/// One step of an application's history as the screen shows it.
public struct ProgressStepView: Codable, Sendable, Equatable {
    /// A text key: `progress.received`, `progress.under-review`, `progress.more-materials`,
    /// `progress.approved`, `progress.refused`.
    public var statusKey: String
    /// What to bring, or why refused.
    public var note: String?
    /// When, `yyyy-MM-dd HH:mm` Beijing time.
    public var at: String
    public init(statusKey: String, note: String?, at: String) { self.statusKey = statusKey; self.note = note; self.at = at }
}

/// An application's progress (办件进度) as the citizen's screen shows it: what it is and where it
/// stands, nothing about the applicant.
public struct ProgressView: Codable, Sendable, Equatable {
    public var trackingNumber: String
    public var proposedName: String
    /// When it was submitted, `yyyy-MM-dd HH:mm`.
    public var submittedAt: String
    /// The current status's text key; `progress.notDelivered` while still in the kiosk's outbox.
    public var statusKey: String
    public var note: String?
    /// Whether the registry has it.
    public var delivered: Bool
    /// Oldest first.
    public var history: [ProgressStepView]
    /// The named parties and whether each has confirmed; nil for an application of one person.
    public var parties: [PartyStandingView]?
    /// The end of the parties' window, `yyyy-MM-dd HH:mm`.
    public var confirmBy: String?

    public init(trackingNumber: String, proposedName: String, submittedAt: String, statusKey: String, note: String?, delivered: Bool,
                history: [ProgressStepView], parties: [PartyStandingView]? = nil, confirmBy: String? = nil) {
        self.parties = parties
        self.confirmBy = confirmBy
        self.trackingNumber = trackingNumber
        self.proposedName = proposedName
        self.submittedAt = submittedAt
        self.statusKey = statusKey
        self.note = note
        self.delivered = delivered
        self.history = history
    }
}

/// A 好差评 rating.
public struct RatingSubmission: Codable, Sendable, Equatable {
    /// 1 (非常不满意) to 5 (非常满意).
    public var level: Int
    public var reason: String?
    /// The service item rated.
    public var serviceCode: String
    public var formVersion: Int
    public init(level: Int, reason: String?, serviceCode: String, formVersion: Int) {
        self.level = level
        self.reason = reason
        self.serviceCode = serviceCode
        self.formVersion = formVersion
    }
}

/// A failure the citizen's interface shows: `messageKey` names the text to show
/// (e.g. `registry.unreachable`, `licence.refused`), `detail` is for logs and staff.
public struct CitizenAPIError: Error, Codable, Sendable, Equatable, CustomStringConvertible {
    public var messageKey: String
    public var detail: String?
    /// Values the text's placeholders take, e.g. `{start}` and `{end}` of an appointment.
    public var values: [String: String]?
    public init(messageKey: String, detail: String? = nil, values: [String: String]? = nil) {
        self.messageKey = messageKey
        self.detail = detail
        self.values = values
    }
    public var description: String { detail.map { "\(messageKey): \($0)" } ?? messageKey }
}

/// The operations of kioskd's citizen socket. The `kiosk` program is written against this
/// protocol; its production implementation talks to kioskd over the Unix socket.
public protocol CitizenOperations: Sendable {
    /// Menu, texts and the evaluation form.
    func interfaceConfiguration() async throws -> InterfaceConfiguration
    /// What works right now, and the current session.
    func status() async throws -> KioskStatusView
    /// Events as they happen, until the stream is cancelled.
    func events() -> AsyncStream<KioskEvent>
    /// Tells kioskd the citizen is still there (resets the idle timer).
    func touch() async
    func searchEnterprises(_ query: String) async throws -> EnterpriseSearchResult
    func enterprise(uscc: String) async throws -> EnterpriseDetail
    func preview(_ request: DocumentRequest) async throws -> DocumentPreview
    /// Prints; retrying with the same `requestId` never prints twice.
    func print(_ request: DocumentRequest, requestId: String) async throws -> PrintOutcomeView
    func submitApplication(_ form: ApplicationForm) async throws -> ApplicationReceipt
    func rate(_ rating: RatingSubmission) async throws
    /// Takes a number for the counter service `serviceCode` and prints its ticket; retrying with
    /// the same `requestId` never gives or prints a second one.
    func takeTicket(serviceCode: String, requestId: String) async throws -> QueueTicketView
    /// Checks the card holder in for today's appointment: a priority ticket, printed.
    func checkIn(requestId: String) async throws -> QueueTicketView
    /// Prints the guide of `serviceCode` on the receipt printer, once per `requestId`.
    func printGuide(serviceCode: String, requestId: String) async throws -> PrintOutcomeView
    /// An application's progress by the tracking number on its receipt (no card needed).
    func progress(trackingNumber: String) async throws -> ProgressView
    /// The card holder's applications, newest first (those still in the kiosk's outbox too).
    func myApplications() async throws -> [ProgressView]
    /// Prints an application's progress on the receipt printer, once per `requestId`.
    func printProgress(trackingNumber: String, requestId: String) async throws -> PrintOutcomeView
    /// Asks for the card holder's document to be posted to `address` instead of printed here;
    /// queued durably, a receipt printed. Once per `requestId`.
    func requestDelivery(_ request: DocumentRequest, address: DeliveryAddress, requestId: String) async throws -> ApplicationReceipt
    /// The registry's verdict on a proposed enterprise name (企业名称自主申报): conflicts with
    /// registered names, forbidden words, a malformed name.
    func checkName(_ proposedName: String) async throws -> NameCheckView
    /// The card holder's own social-insurance record for the screen (参保、缴费、个人账户查询),
    /// after a face match.
    func myInsurance() async throws -> InsuranceRecordView
    /// The card holder's social security card, masked, to confirm before reporting it lost (after a face match).
    func mySecurityCard() async throws -> SecurityCardView
    /// Reports the card holder's social security card lost; a receipt prints. Once per `requestId`.
    func reportCardLoss(requestId: String) async throws -> CardLossView
    /// Confirms the card holder's pension entitlement for this year (生存认证) after a face match;
    /// queued durably, a slip printed. Once per `requestId`.
    func confirmPension(requestId: String) async throws -> PensionConfirmationView
    /// The establishment applications naming the card holder as a party, for their confirmation.
    func myOpenings() async throws -> OpeningListView
    /// Confirms the application `trackingNumber` as the card holder (a named party), after a face
    /// match when the catalogue asks for one; durable offline, a slip printed. Once per `requestId`.
    func confirmOpening(trackingNumber: String, requestId: String) async throws -> OpeningConfirmationView
    /// Checks that the person at the camera is the card's holder (人证核验), for services that
    /// need it; a passed check holds for the rest of the visit.
    func checkFace() async throws -> FaceCheckView
    /// Ends the session and wipes its data.
    func endSession() async
}

/// The card holder's social-insurance record as the screen shows it: the ID number masked,
/// payments newest first.
public struct InsuranceRecordView: Codable, Sendable, Equatable {
    public var name: String
    public var maskedIdNumber: String
    public var region: String
    public var enrolments: [InsuranceEnrolment]
    /// Newest first, at most 120 months' lines.
    public var payments: [MonthlyPayment]
    public var pension: PensionEntitlement?
    public var account: PensionAccount?

    public init(name: String, maskedIdNumber: String, region: String, enrolments: [InsuranceEnrolment], payments: [MonthlyPayment],
                pension: PensionEntitlement?, account: PensionAccount?) {
        self.name = name
        self.maskedIdNumber = maskedIdNumber
        self.region = region
        self.enrolments = enrolments
        self.payments = payments
        self.pension = pension
        self.account = account
    }
}

/// A proposed name's verdict, for the screen.
public struct NameCheckView: Codable, Sendable, Equatable {
    /// `available`, `conflict`, `forbidden`, `malformed`, or `unchecked` (the registry is unreachable).
    public var verdict: String
    /// The text key to show, e.g. `name.conflict`.
    public var messageKey: String
    /// The registered names it collides with.
    public var conflicts: [String]
    /// The forbidden words it uses, each with why.
    public var forbiddenWords: [String]
    public var detail: String?

    public init(verdict: String, messageKey: String, conflicts: [String] = [], forbiddenWords: [String] = [], detail: String? = nil) {
        self.verdict = verdict
        self.messageKey = messageKey
        self.conflicts = conflicts
        self.forbiddenWords = forbiddenWords
        self.detail = detail
    }

    /// Whether the citizen may go on with this name.
    public var acceptable: Bool { verdict == "available" || verdict == "unchecked" }

    /// The values of the message's placeholders.
    public var values: [String: String] {
        ["conflicts": conflicts.joined(separator: "、"), "words": forbiddenWords.joined(separator: "、"), "detail": detail ?? ""]
    }
}

/// The holder's social security card as the screen shows it before a loss report.
public struct SecurityCardView: Codable, Sendable, Equatable {
    /// `A1*****78`.
    public var maskedNumber: String
    public var issuedOn: String
    /// The day it was reported lost, if it was.
    public var lostOn: String?

    public init(maskedNumber: String, issuedOn: String, lostOn: String?) {
        self.maskedNumber = maskedNumber
        self.issuedOn = issuedOn
        self.lostOn = lostOn
    }
}

/// A loss report's outcome.
public struct CardLossView: Codable, Sendable, Equatable {
    /// `recorded` (the card stops now), `queued` (it stops when the registry has the report) or
    /// `alreadyLost`.
    public var outcome: String
    public var messageKey: String
    /// The registry's number, when recorded.
    public var registryNumber: String?
    /// The receipt's number.
    public var reportId: String?
    public var receiptPrinted: Bool

    public init(outcome: String, messageKey: String, registryNumber: String? = nil, reportId: String? = nil, receiptPrinted: Bool = false) {
        self.outcome = outcome
        self.messageKey = messageKey
        self.registryNumber = registryNumber
        self.reportId = reportId
        self.receiptPrinted = receiptPrinted
    }
}

/// A pension entitlement confirmation's outcome, for the screen.
public struct PensionConfirmationView: Codable, Sendable, Equatable {
    /// `confirmed` (the registry is told now), `queued` (told when the network is back) or
    /// `alreadyConfirmed` (nothing new was recorded).
    public var outcome: String
    /// The text key to show, e.g. `pension.confirmed`.
    public var messageKey: String
    public var year: Int
    /// The day the year's confirmation was made, when it was made before.
    public var confirmedOn: String?
    /// The slip's number, when one was queued.
    public var confirmationId: String?
    public var slipPrinted: Bool

    public init(outcome: String, messageKey: String, year: Int, confirmedOn: String? = nil, confirmationId: String? = nil, slipPrinted: Bool = false) {
        self.outcome = outcome
        self.messageKey = messageKey
        self.year = year
        self.confirmedOn = confirmedOn
        self.confirmationId = confirmationId
        self.slipPrinted = slipPrinted
    }
}

/// The outcome of a person–card check, for the screen (no score, no photo).
public struct FaceCheckView: Codable, Sendable, Equatable {
    /// `passed`, `noMatch`, `noFace`, `notLive` or `unavailable`.
    public var outcome: String
    /// The text key to show, e.g. `face.noMatch`.
    public var messageKey: String
    /// Checks left in this visit.
    public var attemptsLeft: Int

    public init(outcome: String, messageKey: String, attemptsLeft: Int) {
        self.outcome = outcome
        self.messageKey = messageKey
        self.attemptsLeft = attemptsLeft
    }

    /// Whether the person matched.
    public var passed: Bool { outcome == "passed" }
}
