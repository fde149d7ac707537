import Foundation
import KioskAPI
import KioskCore
import Registry

/// Why a registry operation did not give an answer.
public enum GatewayError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The registry could not be reached (network down, timeout, circuit open).
    case unreachable(String)
    /// The registry has no such record.
    case notFound(String)
    /// The registry refused: `code` is its stable problem code, e.g. `print.not-entitled`.
    case refused(code: String, detail: String)
    /// The outbox cannot take more of this kind of item right now.
    case queueFull(String)
    /// The registry answered something the kiosk cannot use.
    case badAnswer(String)

    public var description: String {
        switch self {
        case .unreachable(let d): return "registry unreachable: \(d)"
        case .notFound(let d): return "not found: \(d)"
        case let .refused(code, d): return "refused (\(code)): \(d)"
        case .queueFull(let d): return "outbox full: \(d)"
        case .badAnswer(let d): return "bad answer from the registry: \(d)"
        }
    }
}

/// A public enterprise record as the kiosk shows it, possibly from the cache.
public struct EnterpriseAnswer: Sendable, Equatable {
    public var enterprise: Enterprise
    public var status: String
    public var archive: [ArchiveEvent]
    /// Set when the registry was unreachable and this came from the cache.
    public var cachedAgeSeconds: Int?
    public init(enterprise: Enterprise, status: String, archive: [ArchiveEvent], cachedAgeSeconds: Int? = nil) {
        self.enterprise = enterprise
        self.status = status
        self.archive = archive
        self.cachedAgeSeconds = cachedAgeSeconds
    }
}

/// An accepted application: the kiosk's tracking number at once, the registry's when delivered.
public struct QueuedApplication: Sendable, Equatable {
    public var trackingNumber: String
    public var registryNumber: String?
}

/// The registry's answer to a check-in: a priority ticket, or why not (`appointment.not-found`,
/// `appointment.too-early`, `appointment.too-late`, `appointment.other-site`, with the slot's facts).
public enum CheckInAnswer: Sendable, Equatable {
    case ticket(HallTicket)
    case refused(Problem)
}

/// What kioskd needs from the central registry. The production implementation goes through the
/// signed registry client, the query cache and the durable outbox; tests may use an in-process one.
public protocol RegistryGateway: Sendable {
    /// The public record of one enterprise (cached data when the registry is unreachable).
    func enterprise(uscc: String) async throws(GatewayError) -> EnterpriseAnswer
    /// Enterprises whose name contains `name`.
    func search(name: String, limit: Int) async throws(GatewayError) -> (results: [EnterpriseSummary], cachedAgeSeconds: Int?)
    /// A person's social-insurance record; never cached.
    func socialInsurance(idNumber: String) async throws(GatewayError) -> SocialInsuranceRecord
    /// Whether the holder of `idNumber` may print `kind` for `uscc`.
    func authorizePrint(kind: String, uscc: String, idNumber: String) async throws(GatewayError) -> Bool
    /// The registry's verdict on a proposed enterprise name.
    func checkName(_ proposedName: String) async throws(GatewayError) -> NameCheckResult
    /// Queues an application durably; delivered when the registry is reachable.
    func submitApplication(_ draft: ApplicationDraft) async throws(GatewayError) -> QueuedApplication
    /// Queues a rating durably.
    func submitRating(_ rating: RatingRecord) async throws(GatewayError)
    /// Queues a print record durably.
    func recordPrint(_ record: PrintRecord) async throws(GatewayError)
    /// Reserves the next number of a hall queue at `site` (the same ticket again for the same id).
    func reserveTicket(site: String, _ request: TicketRequest) async throws(GatewayError) -> HallTicket
    /// Checks the card holder in for today's appointment at `site`.
    func checkIn(site: String, _ request: CheckInRequest) async throws(GatewayError) -> CheckInAnswer
    /// The next number of the kiosk's own block for `queue` on `day`, kept across restarts; the
    /// same number again for the same ticket id.
    func offlineSequence(ticketId: String, day: String, queue: String) async throws(GatewayError) -> Int
    /// Whether a number of the kiosk's own block was given under `ticketId`.
    func hasOfflineSequence(ticketId: String) async -> Bool
    /// Queues the report of a printed ticket durably.
    func reportTicket(_ report: TicketReport) async throws(GatewayError)
    /// An application's progress at the registry by tracking number; nil when the registry has none.
    func progress(number: String) async throws(GatewayError) -> ApplicationProgress?
    /// The applications of the person with `idNumber` at the registry.
    func progress(idNumber: String) async throws(GatewayError) -> [ApplicationProgress]
    /// Applications still in the kiosk's outbox (not yet delivered), by tracking number or applicant.
    func undelivered(trackingNumber: String?, idNumber: String?) async -> [ApplicationSubmission]
    /// Queues a request to post a document durably.
    func requestDelivery(_ request: DeliveryRequest) async throws(GatewayError)
    /// Reports a lost social security card: recorded by the registry at once when it answers (its
    /// number), else queued durably (nil) and delivered when it is back.
    func reportCardLoss(_ report: CardLossReport) async throws(GatewayError) -> String?
    /// The establishment applications naming the person as a party (read now, never cached).
    func openings(idNumber: String) async throws(GatewayError) -> [OpeningInvitation]
    /// A party's confirmation: the registry's number when it took it at once, nil when queued.
    func confirmParty(_ confirmation: PartyConfirmation) async throws(GatewayError) -> String?
    /// The party confirmations of the person with `idNumber` still queued here: their applications' tracking numbers.
    func queuedConfirmations(idNumber: String) async -> Set<String>
    /// Queues a retiree's entitlement confirmation durably.
    func confirmPension(_ confirmation: PensionConfirmation) async throws(GatewayError)
    /// The last waiting figure the kiosk knew of `queue`, kept across restarts.
    func queueFigure(_ queue: String) async -> KnownQueueFigure?
    /// Keeps the waiting figure of `queue`.
    func saveQueueFigure(_ queue: String, _ figure: KnownQueueFigure) async
}
