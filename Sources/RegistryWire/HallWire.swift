import Foundation
import KioskCore

/// What a signing key may do at the registry.
public enum PrincipalRole: String, Codable, Sendable, CaseIterable {
    /// A kiosk: reads, submissions, tickets and check-ins for its own site.
    case kiosk
    /// A hall counter (窗口): calls the next number of its site's queues.
    case counter
    /// The online booking system: stores appointments.
    case booking
    /// The back office: moves applications on (status, what to bring, why refused).
    case backoffice
}

/// The names the hall routes take, checked before anything is looked up.
public enum HallNames {
    /// A site id: 1 to 64 of A-Z a-z 0-9 . _ -.
    public static func isSite(_ text: String) -> Bool { KioskIdentifier.isValid(text) }

    /// A queue: one capital letter, the prefix of its numbers (A023).
    public static func isQueue(_ text: String) -> Bool {
        text.utf8.count == 1 && text.utf8.allSatisfy { (65...90).contains($0) }
    }

    /// A ticket or request id the kiosk makes: 8 to 64 of A-Z a-z 0-9 -.
    public static func isTicketId(_ text: String) -> Bool {
        (8...64).contains(text.utf8.count) && text.utf8.allSatisfy { (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 45 }
    }

    /// A service code as the catalogue writes it.
    public static func isServiceCode(_ text: String) -> Bool {
        (2...32).contains(text.utf8.count) && text.utf8.allSatisfy { (48...57).contains($0) || (65...90).contains($0) || $0 == 45 }
    }

    /// The first problem of the hall names a request carries (those given), or nil.
    static func problem(ticketId: (name: String, value: String)? = nil, site: String? = nil, queue: String? = nil,
                        serviceCode: String? = nil) -> String? {
        if let ticketId, !isTicketId(ticketId.value) { return "\(ticketId.name) must be 8 to 64 of A-Z a-z 0-9 -" }
        if let site, !isSite(site) { return "site must be 1 to 64 of A-Z a-z 0-9 . _ -" }
        if let queue, !isQueue(queue) { return "queue must be one capital letter" }
        if let serviceCode, !isServiceCode(serviceCode) { return "serviceCode must be 2 to 32 of A-Z 0-9 -" }
        return nil
    }

    /// The registry's day (Beijing time) of `date`, `YYYYMMDD`: hall numbers start again each
    /// day, and registry numbers carry it.
    public static func day(of date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .kiosk
        let c = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d%02d%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
    }

    /// A ticket number the registry gives: the queue letter and at least three digits (A023).
    public static func onlineNumber(queue: String, sequence: Int) -> String { queue + String(format: "%03d", sequence) }

    /// A ticket number a kiosk gives while the registry is unreachable: the queue letter, the
    /// kiosk's own letter and three digits (AK007), so it never meets the registry's or another kiosk's.
    public static func offlineNumber(queue: String, kioskLetter: String, sequence: Int) -> String {
        queue + kioskLetter + String(format: "%03d", sequence)
    }

    /// Whether `number` is an offline number of `queue`.
    public static func isOfflineNumber(_ number: String, queue: String) -> Bool {
        let bytes = Array(number.utf8)
        return bytes.count >= 5 && bytes.count <= 8 && String(decoding: bytes.prefix(1), as: UTF8.self) == queue
            && (65...90).contains(bytes[1]) && bytes.dropFirst(2).allSatisfy { (48...57).contains($0) }
    }
}

/// `POST /v1/halls/{site}/tickets`: a kiosk asks for a number. The ticket is reserved, not yet
/// waiting: it counts once the kiosk reports it printed (a `TicketReport`). Asking again with the
/// same `ticketId` answers the same ticket.
public struct TicketRequest: Codable, Sendable, Hashable {
    /// The kiosk's id for the ticket (8 to 64 of A-Z a-z 0-9 -), also in the ticket's QR code.
    public var ticketId: String
    /// The queue letter.
    public var queue: String
    /// The catalogue's service code, e.g. SC-ESTATE.
    public var serviceCode: String

    public init(ticketId: String, queue: String, serviceCode: String) {
        self.ticketId = ticketId
        self.queue = queue
        self.serviceCode = serviceCode
    }

    /// Why the registry would refuse it, or nil when it is well formed.
    public func problem() -> String? {
        HallNames.problem(ticketId: ("ticketId", ticketId), queue: queue, serviceCode: serviceCode)
    }
}

/// A queue ticket as the registry keeps it.
public struct HallTicket: Codable, Sendable, Hashable {
    /// Where a ticket stands.
    public enum State: String, Codable, Sendable {
        /// Given, not yet printed: not counted, never called.
        case reserved
        /// Printed: waiting to be called.
        case waiting
        /// Called to a counter.
        case called
    }

    public var ticketId: String
    public var site: String
    public var queue: String
    /// The number printed, e.g. A023 (or AK007 when a kiosk issued it offline).
    public var number: String
    public var serviceCode: String
    public var issuedAt: Date
    /// Called before ordinary tickets (an appointment's check-in).
    public var priority: Bool
    public var state: State
    /// Waiting tickets that will be called before this one.
    public var ahead: Int
    /// The counter that called it.
    public var counter: Int?
    public var calledAt: Date?

    public init(ticketId: String, site: String, queue: String, number: String, serviceCode: String, issuedAt: Date,
                priority: Bool, state: State, ahead: Int, counter: Int? = nil, calledAt: Date? = nil) {
        self.ticketId = ticketId
        self.site = site
        self.queue = queue
        self.number = number
        self.serviceCode = serviceCode
        self.issuedAt = issuedAt
        self.priority = priority
        self.state = state
        self.ahead = ahead
        self.counter = counter
        self.calledAt = calledAt
    }
}

/// The outbox's `tickets` stream: a ticket the kiosk printed. For a ticket the registry reserved
/// it makes it wait in the queue; for one issued offline it adds it, at its time of issue.
public struct TicketReport: Codable, Sendable, Hashable {
    public var ticketId: String
    public var site: String
    public var queue: String
    public var number: String
    public var serviceCode: String
    public var issuedAt: Date
    /// Issued by the kiosk while the registry was unreachable (a number of its own block).
    public var offline: Bool

    public init(ticketId: String, site: String, queue: String, number: String, serviceCode: String, issuedAt: Date, offline: Bool) {
        self.ticketId = ticketId
        self.site = site
        self.queue = queue
        self.number = number
        self.serviceCode = serviceCode
        self.issuedAt = issuedAt
        self.offline = offline
    }

    /// Why the registry would refuse it, or nil when it is well formed.
    public func problem() -> String? {
        if let problem = HallNames.problem(ticketId: ("ticketId", ticketId), site: site, queue: queue, serviceCode: serviceCode) { return problem }
        if offline, !HallNames.isOfflineNumber(number, queue: queue) {
            return "an offline number is the queue letter, the kiosk's letter and digits, e.g. \(queue)K007"
        }
        if !offline, number.isEmpty || number.count > 8 { return "number must hold 1 to 8 characters" }
        return nil
    }
}

/// `POST /v1/halls/{site}/check-ins`: the card holder checks in for today's appointment.
public struct CheckInRequest: Codable, Sendable, Hashable {
    /// The ID number read from the card in this session.
    public var idNumber: String
    /// The kiosk's id for the priority ticket it will print.
    public var ticketId: String

    public init(idNumber: String, ticketId: String) { self.idNumber = idNumber; self.ticketId = ticketId }
}

/// One queue's figures today.
public struct QueueFigure: Codable, Sendable, Hashable {
    public var queue: String
    /// Printed tickets not yet called.
    public var waiting: Int
    /// The number called last, if any.
    public var lastCalled: String?
    public var lastCounter: Int?

    public init(queue: String, waiting: Int, lastCalled: String?, lastCounter: Int?) {
        self.queue = queue
        self.waiting = waiting
        self.lastCalled = lastCalled
        self.lastCounter = lastCounter
    }
}

/// `GET /v1/halls/{site}/queues`: every queue of a site today.
public struct HallFigures: Codable, Sendable, Hashable {
    public var site: String
    public var day: String
    public var queues: [QueueFigure]
    public init(site: String, day: String, queues: [QueueFigure]) { self.site = site; self.day = day; self.queues = queues }
}

/// An appointment booked online (`POST /v1/appointments`, `registryd appointments import`).
public struct Appointment: Codable, Sendable, Hashable {
    /// The booking system's id, unique: storing it again replaces it until it is checked in.
    public var id: String
    public var site: String
    public var serviceCode: String
    /// The queue its priority ticket goes to.
    public var queue: String
    /// 公民身份号码 of the person booked.
    public var idNumber: String
    public var name: String
    /// The slot.
    public var startsAt: Date
    public var endsAt: Date

    public init(id: String, site: String, serviceCode: String, queue: String, idNumber: String, name: String,
                startsAt: Date, endsAt: Date) {
        self.id = id
        self.site = site
        self.serviceCode = serviceCode
        self.queue = queue
        self.idNumber = idNumber
        self.name = name
        self.startsAt = startsAt
        self.endsAt = endsAt
    }

    /// Why the registry would refuse it, or nil when it is well formed.
    public func problem() -> String? {
        if let problem = HallNames.problem(ticketId: ("id", id), site: site, queue: queue, serviceCode: serviceCode) { return problem }
        if (try? IDNumber(idNumber)) == nil { return "idNumber is not a valid ID number" }
        if name.trimmingCharacters(in: .whitespaces).isEmpty || name.count > 64 { return "name must hold 1 to 64 characters" }
        if endsAt <= startsAt { return "endsAt must be after startsAt" }
        if endsAt.timeIntervalSince(startsAt) > 12 * 3600 { return "a slot lasts at most 12 hours" }
        if HallNames.day(of: startsAt) != HallNames.day(of: endsAt.addingTimeInterval(-1)) { return "a slot lies within one day (Beijing time)" }
        return nil
    }
}

/// When an appointment may be checked in: from `early` before its start to its end.
public enum CheckInWindow {
    /// How long before the slot a check-in is taken.
    public static let early: TimeInterval = 30 * 60
}
