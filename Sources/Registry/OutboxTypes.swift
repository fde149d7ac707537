import Foundation
import KioskCore

/// How full the outbox may get, and how delivery retries.
public struct OutboxPolicy: Sendable {
    /// Applications beyond this many queued are refused with `.full` (never dropped).
    public var applicationHardCap = 50_000
    /// Ratings beyond this many queued are refused with `.full`.
    public var ratingCap = 20_000
    /// Print records beyond this many queued are refused with `.full`.
    public var printRecordCap = 20_000
    /// Ticket reports beyond this many queued are refused with `.full` (the ticket is then not printed).
    public var ticketCap = 20_000
    /// Delivery requests (and pension confirmations) beyond this many queued are refused with `.full`.
    public var deliveryCap = 20_000
    /// Undelivered items older than this become dead letters (reason kept).
    public var ttl: TimeInterval = 30 * 24 * 3600
    /// Heartbeats older than this become dead letters (they would say nothing new).
    public var heartbeatTTL: TimeInterval = 24 * 3600
    /// An item the registry refused this many times (with a retryable answer) becomes a dead letter.
    public var poisonThreshold = 10
    /// The first retry waits a random time up to this; each failure doubles it up to `backoffCap`.
    public var backoffBase: Duration = .seconds(1)
    /// The longest wait between two attempts.
    public var backoffCap: Duration = .seconds(300)
    /// Items sent per batch request per stream.
    public var batchSize = 200

    /// The defaults: applications hard cap 50,000, ratings and print records 20,000 each,
    /// heartbeats coalesced to the newest, TTL 30 days (heartbeats 1 day), poison after 10 refusals,
    /// backoff 1 s doubling to 300 s with full jitter, batches of 200.
    public init() {}

    /// The size limit of `stream` (heartbeats: 1, the newest).
    public func limit(_ stream: SubmissionKind) -> Int {
        switch stream {
        case .applications: return applicationHardCap
        case .ratings: return ratingCap
        case .printRecords: return printRecordCap
        case .heartbeats: return 1
        case .tickets: return ticketCap
        case .deliveries, .pensionConfirmations, .cardLosses, .partyConfirmations: return deliveryCap
        }
    }

    /// The wait before attempt `attempts + 1`: uniformly random in 0…min(cap, base·2^(attempts−1)).
    public func backoff(afterAttempts attempts: Int) -> Duration {
        Backoff.jittered(afterFailures: attempts, base: backoffBase, cap: backoffCap)
    }

    /// The largest wait `backoff(afterAttempts:)` may answer.
    public static func ceiling(afterAttempts attempts: Int, base: Duration, cap: Duration) -> Duration {
        Backoff.ceiling(afterFailures: attempts, base: base, cap: cap)
    }
}

/// What `enqueue` answers: the item's ID, idempotency key and, for applications, tracking number.
public struct OutboxTicket: Sendable, Hashable {
    public var id: Int64
    public var stream: SubmissionKind
    public var idempotencyKey: String
    /// `YT-<kiosk>-YYYYMMDD-NNNNNN`, for applications.
    public var trackingNumber: String?
}

/// An application before it has a tracking number.
public struct ApplicationDraft: Sendable, Hashable {
    public var applicant: Applicant
    public var proposedName: String
    public var type: String
    public var registeredCapital: String
    public var address: String
    public var businessScope: String
    public var submittedAt: Date
    /// Where the result is posted; nil: collected at the hall.
    public var delivery: DeliveryAddress?
    /// The natural persons named; nil: the applicant alone.
    public var parties: [ApplicationParty]?

    public init(applicant: Applicant, proposedName: String, type: String, registeredCapital: String, address: String,
                businessScope: String, submittedAt: Date = Date(), delivery: DeliveryAddress? = nil, parties: [ApplicationParty]? = nil) {
        self.delivery = delivery
        self.parties = parties
        self.applicant = applicant
        self.proposedName = proposedName
        self.type = type
        self.registeredCapital = registeredCapital
        self.address = address
        self.businessScope = businessScope
        self.submittedAt = submittedAt
    }
}

/// Where an application is, by tracking number.
public enum ApplicationState: Sendable, Equatable {
    /// Waiting in the outbox.
    case queued
    /// Delivered; the registry's number.
    case delivered(registryNumber: String)
    /// Given up on; the reason. A technician may retry it.
    case deadLetter(reason: String)
    /// No application has this tracking number.
    case unknown
}

/// One stream's figures for `status()`.
public struct OutboxStreamStatus: Sendable, Equatable, Codable {
    public var stream: SubmissionKind
    public var depth: Int
    /// Age of the oldest queued item in seconds.
    public var oldestAgeSeconds: Double?
    /// The head item's last error.
    public var lastError: String?
    public var deadLetters: Int
}

/// The outbox at a glance.
public struct OutboxStatus: Sendable, Equatable, Codable {
    public var streams: [OutboxStreamStatus]
    public var depth: Int { streams.reduce(0) { $0 + $1.depth } }
    public var deadLetters: Int { streams.reduce(0) { $0 + $1.deadLetters } }
}

/// A queued item or dead letter without its payload.
public struct OutboxItemSummary: Sendable, Equatable, Codable {
    public var id: Int64
    public var stream: SubmissionKind
    public var idempotencyKey: String
    public var trackingNumber: String?
    public var createdAt: Date
    public var attempts: Int
    public var lastError: String?
    /// True for a dead letter.
    public var dead: Bool
    /// Why it became a dead letter.
    public var deadReason: String?
}

/// One outbox item with its payload (the applicant and the parties masked), as the technician
/// socket shows it.
public struct QueueItemDetail: Codable, Sendable, Equatable {
    public var item: OutboxItemSummary
    public var payload: String
    public init(item: OutboxItemSummary, payload: String) { self.item = item; self.payload = payload }
}
