import Foundation
import GRDB
import KioskCore
import Registry

/// Who signs a request: a key, what it may do, and for kiosks and counters the site they stand in.
public struct Principal: Sendable, Equatable {
    public var publicKey: Data
    public var role: PrincipalRole
    /// The site (hall) of a kiosk or counter; nil for the booking system, or a kiosk registered without one.
    public var site: String?
    public init(publicKey: Data, role: PrincipalRole, site: String?) {
        self.publicKey = publicKey
        self.role = role
        self.site = site
    }
}

/// The service hall: queue tickets, counters calling them, appointments checked in. Both stores
/// keep it; each write is one transaction.
public protocol HallStore: Sendable {
    /// Reserves the next number of `request.queue` at `site` for `kioskId`; the same ticket id
    /// again answers the same ticket. Reserved tickets wait only once reported printed.
    func reserveTicket(_ request: TicketRequest, site: String, kioskId: String, now: Date) async throws -> Result<HallTicket, Problem>
    /// Checks the holder of `request.idNumber` in for today's appointment at `site`: a reserved
    /// priority ticket, or the ticket of an earlier check-in.
    func checkIn(_ request: CheckInRequest, site: String, kioskId: String, now: Date) async throws -> Result<HallTicket, Problem>
    /// Calls the next waiting ticket of `queue` to `counter`: priority tickets first, then by time
    /// of issue. With an idempotency `key`, a repeated call answers the same ticket.
    func callNext(site: String, queue: String, counter: Int, caller: String, key: String?, now: Date) async throws -> Result<HallTicket, Problem>
    /// Every queue of `site` today.
    func hallFigures(site: String, now: Date) async throws -> HallFigures
    /// Stores appointments (replacing one with the same id unless it was checked in); one result
    /// per item: true when it replaced one.
    func storeAppointments(_ items: [Appointment], now: Date) async throws -> [Result<Bool, Problem>]
    /// One ticket, as it stands.
    func ticket(id: String, now: Date) async throws -> HallTicket?
}

/// The rules both stores apply, and the problems they answer.
enum HallRules {
    /// The order a queue is called in: priority first, then the time of issue. Times travel in
    /// whole seconds, so numbers issued in the same second (two citizens at one kiosk, offline)
    /// go in their own order: AK002 after AK001, A1000 after A999.
    static let queueOrder = "priority DESC, issued_at, length(number), number, ticket_id"

    static func problem(_ status: Int, _ code: String, _ title: String, _ detail: String, facts: [String: String]? = nil) -> Problem {
        var p = Problem(statusCode: status, code: code, title: title, detail: detail)
        p.facts = facts
        return p
    }

    static func idReused(_ id: String) -> Problem {
        problem(409, "ticket.id-reused", "Ticket id reused", "ticket id \(id.prefix(64)) belongs to another ticket; a new ticket needs a new id")
    }

    static func queueEmpty(_ queue: String) -> Problem {
        problem(404, "hall.queue-empty", "Nobody waiting", "no printed ticket of queue \(queue) is waiting today")
    }

    static func notFound(_ masked: String) -> Problem {
        problem(404, "appointment.not-found", "No appointment today", "no appointment today for \(masked)")
    }

    static func otherSite(_ site: String, appointment: Appointment) -> Problem {
        problem(422, "appointment.other-site", "Appointment at another hall",
                "today's appointment \(appointment.id) is at site \(appointment.site), not \(site)",
                facts: slotFacts(appointment).merging(["site": appointment.site]) { a, _ in a })
    }

    static func tooEarly(_ appointment: Appointment) -> Problem {
        problem(422, "appointment.too-early", "Too early to check in",
                "appointment \(appointment.id) starts at \(iso(appointment.startsAt)); check-in opens \(Int(CheckInWindow.early / 60)) minutes before",
                facts: slotFacts(appointment))
    }

    static func tooLate(_ appointment: Appointment) -> Problem {
        problem(422, "appointment.too-late", "Too late to check in",
                "appointment \(appointment.id) ended at \(iso(appointment.endsAt)); take an ordinary number", facts: slotFacts(appointment))
    }

    static func checkedIn(_ id: String) -> Problem {
        problem(409, "appointment.checked-in", "Already checked in", "appointment \(id.prefix(64)) was checked in; it can no longer change")
    }

    static func reportRefused(_ why: String) -> Problem {
        problem(422, "ticket.report-invalid", "Ticket report refused", why)
    }

    static func slotFacts(_ a: Appointment) -> [String: String] {
        ["startsAt": iso(a.startsAt), "endsAt": iso(a.endsAt), "serviceCode": a.serviceCode]
    }

    static func iso(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }

    /// Which of the person's appointments today decides the check-in at `site`, and how.
    static func choose(_ appointments: [Appointment], site: String, now: Date) -> Result<Appointment, Problem> {
        let here = appointments.filter { $0.site == site }
        guard !here.isEmpty else {
            guard let elsewhere = appointments.first else { return .failure(notFound("")) }
            return .failure(otherSite(site, appointment: elsewhere))
        }
        if let open = here.first(where: { now >= $0.startsAt.addingTimeInterval(-CheckInWindow.early) && now <= $0.endsAt }) {
            return .success(open)
        }
        if let next = here.filter({ now < $0.startsAt }).min(by: { $0.startsAt < $1.startsAt }) { return .failure(tooEarly(next)) }
        return .failure(tooLate(here.max(by: { $0.endsAt < $1.endsAt }) ?? here[0]))
    }

    /// What a ticket row says, with the waiting tickets ahead of it.
    static func ticket(_ row: Row, ahead: Int) -> HallTicket {
        HallTicket(ticketId: row["ticket_id"], site: row["site"], queue: row["queue"], number: row["number"], serviceCode: row["service_code"],
                   issuedAt: Date(timeIntervalSince1970: row["issued_at"]), priority: (row["priority"] as Int) != 0,
                   state: HallTicket.State(rawValue: row["state"]) ?? .reserved, ahead: ahead, counter: row["counter"],
                   calledAt: (row["called_at"] as Double?).map { Date(timeIntervalSince1970: $0) })
    }
}

extension SQLiteRegistryStore: HallStore {
    static func registerHallMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v6-hall") { db in
            try db.execute(sql: """
                ALTER TABLE kiosk ADD COLUMN role TEXT NOT NULL DEFAULT 'kiosk';
                ALTER TABLE kiosk ADD COLUMN site TEXT;
                CREATE TABLE hall_ticket (ticket_id TEXT PRIMARY KEY, site TEXT NOT NULL, day TEXT NOT NULL, queue TEXT NOT NULL,
                    number TEXT NOT NULL, seq INTEGER, service_code TEXT NOT NULL, kiosk_id TEXT NOT NULL, issued_at REAL NOT NULL,
                    priority INTEGER NOT NULL, appointment_id TEXT, state TEXT NOT NULL, counter INTEGER, called_at REAL,
                    UNIQUE (site, day, number));
                CREATE INDEX hall_ticket_queue ON hall_ticket(site, day, queue, state);
                CREATE TABLE hall_call (principal_id TEXT NOT NULL, key TEXT NOT NULL, ticket_id TEXT NOT NULL, created_at REAL NOT NULL,
                    PRIMARY KEY (principal_id, key));
                CREATE TABLE appointment (id TEXT PRIMARY KEY, site TEXT NOT NULL, day TEXT NOT NULL, id_number TEXT NOT NULL,
                    record TEXT NOT NULL, ticket_id TEXT, stored_at REAL NOT NULL);
                CREATE INDEX appointment_person ON appointment(id_number, day);
                """)
        }
    }

    static func ahead(_ db: Database, _ row: Row) throws -> Int {
        try Int.fetchOne(db, sql: """
            SELECT COUNT(*) FROM hall_ticket WHERE site = ? AND day = ? AND queue = ? AND state = 'waiting' AND ticket_id <> ?
              AND (priority > ? OR (priority = ? AND (issued_at < ? OR (issued_at = ?
                   AND (length(number) < ? OR (length(number) = ? AND number < ?))))))
            """, arguments: [row["site"], row["day"], row["queue"], row["ticket_id"], row["priority"], row["priority"],
                             row["issued_at"], row["issued_at"], (row["number"] as String).utf8.count, (row["number"] as String).utf8.count,
                             row["number"]]) ?? 0
    }

    static func ticketRow(_ db: Database, _ id: String) throws -> Row? {
        try Row.fetchOne(db, sql: "SELECT * FROM hall_ticket WHERE ticket_id = ?", arguments: [id])
    }

    /// Inserts a reserved ticket with the queue's next number.
    static func reserve(_ db: Database, id: String, site: String, queue: String, service: String, kioskId: String, now: Date,
                        priority: Bool, appointment: String?) throws -> Row? {
        let day = HallNames.day(of: now)
        let seq = (try Int.fetchOne(db, sql: "SELECT MAX(seq) FROM hall_ticket WHERE site = ? AND day = ? AND queue = ?",
                                    arguments: [site, day, queue]) ?? 0) + 1
        try db.execute(sql: """
            INSERT INTO hall_ticket (ticket_id, site, day, queue, number, seq, service_code, kiosk_id, issued_at, priority, appointment_id, state)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'reserved')
            """, arguments: [id, site, day, queue, HallNames.onlineNumber(queue: queue, sequence: seq), seq, service, kioskId,
                             now.timeIntervalSince1970, priority ? 1 : 0, appointment])
        return try ticketRow(db, id)
    }

    public func reserveTicket(_ request: TicketRequest, site: String, kioskId: String, now: Date) async throws -> Result<HallTicket, Problem> {
        try await queue.write { db in
            if let row = try Self.ticketRow(db, request.ticketId) {
                guard row["kiosk_id"] == kioskId, row["site"] == site, row["queue"] == request.queue,
                      row["service_code"] == request.serviceCode else { return .failure(HallRules.idReused(request.ticketId)) }
                return .success(HallRules.ticket(row, ahead: try Self.ahead(db, row)))
            }
            guard let row = try Self.reserve(db, id: request.ticketId, site: site, queue: request.queue, service: request.serviceCode,
                                             kioskId: kioskId, now: now, priority: false, appointment: nil) else {
                return .failure(HallRules.idReused(request.ticketId))
            }
            return .success(HallRules.ticket(row, ahead: try Self.ahead(db, row)))
        }
    }

    public func checkIn(_ request: CheckInRequest, site: String, kioskId: String, now: Date) async throws -> Result<HallTicket, Problem> {
        let masked = (try? IDNumber(request.idNumber))?.masked ?? "this card"
        return try await queue.write { db in
            let rows = try Row.fetchAll(db, sql: "SELECT record, ticket_id FROM appointment WHERE id_number = ? AND day = ? ORDER BY id",
                                        arguments: [request.idNumber.uppercased(), HallNames.day(of: now)])
            guard !rows.isEmpty else { return .failure(HallRules.notFound(masked)) }
            let appointments = try rows.map { try Self.decode(Appointment.self, $0["record"]) }
            for (appointment, row) in zip(appointments, rows) where appointment.site == site {
                if let ticketId = row["ticket_id"] as String?, let ticket = try Self.ticketRow(db, ticketId) {
                    return .success(HallRules.ticket(ticket, ahead: try Self.ahead(db, ticket)))
                }
            }
            switch HallRules.choose(appointments, site: site, now: now) {
            case .failure(let problem):
                return .failure(problem.code == "appointment.not-found" ? HallRules.notFound(masked) : problem)
            case .success(let appointment):
                if try Self.ticketRow(db, request.ticketId) != nil { return .failure(HallRules.idReused(request.ticketId)) }
                guard let ticket = try Self.reserve(db, id: request.ticketId, site: site, queue: appointment.queue, service: appointment.serviceCode,
                                                    kioskId: kioskId, now: now, priority: true, appointment: appointment.id) else {
                    return .failure(HallRules.idReused(request.ticketId))
                }
                try db.execute(sql: "UPDATE appointment SET ticket_id = ? WHERE id = ?", arguments: [request.ticketId, appointment.id])
                return .success(HallRules.ticket(ticket, ahead: try Self.ahead(db, ticket)))
            }
        }
    }

    public func callNext(site: String, queue hallQueue: String, counter: Int, caller: String, key: String?, now: Date) async throws -> Result<HallTicket, Problem> {
        try await queue.write { db in
            if let key, let id = try String.fetchOne(db, sql: "SELECT ticket_id FROM hall_call WHERE principal_id = ? AND key = ?",
                                                      arguments: [caller, key]),
               let row = try Self.ticketRow(db, id) {
                return .success(HallRules.ticket(row, ahead: 0))
            }
            guard let next = try Row.fetchOne(db, sql: """
                SELECT * FROM hall_ticket WHERE site = ? AND day = ? AND queue = ? AND state = 'waiting'
                ORDER BY \(HallRules.queueOrder) LIMIT 1
                """, arguments: [site, HallNames.day(of: now), hallQueue]) else { return .failure(HallRules.queueEmpty(hallQueue)) }
            let id: String = next["ticket_id"]
            try db.execute(sql: "UPDATE hall_ticket SET state = 'called', counter = ?, called_at = ? WHERE ticket_id = ?",
                           arguments: [counter, now.timeIntervalSince1970, id])
            if let key {
                try db.execute(sql: "INSERT INTO hall_call (principal_id, key, ticket_id, created_at) VALUES (?, ?, ?, ?)",
                               arguments: [caller, key, id, now.timeIntervalSince1970])
            }
            guard let row = try Self.ticketRow(db, id) else { return .failure(HallRules.queueEmpty(hallQueue)) }
            return .success(HallRules.ticket(row, ahead: 0))
        }
    }

    public func hallFigures(site: String, now: Date) async throws -> HallFigures {
        let day = HallNames.day(of: now)
        return try await queue.read { db in
            let queues = try String.fetchAll(db, sql: "SELECT DISTINCT queue FROM hall_ticket WHERE site = ? AND day = ? ORDER BY queue",
                                             arguments: [site, day])
            return HallFigures(site: site, day: day, queues: try queues.map { q in
                let waiting = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM hall_ticket WHERE site = ? AND day = ? AND queue = ? AND state = 'waiting'",
                                               arguments: [site, day, q]) ?? 0
                let last = try Row.fetchOne(db, sql: """
                    SELECT number, counter FROM hall_ticket WHERE site = ? AND day = ? AND queue = ? AND state = 'called'
                    ORDER BY called_at DESC, ticket_id DESC LIMIT 1
                    """, arguments: [site, day, q])
                return QueueFigure(queue: q, waiting: waiting, lastCalled: last?["number"], lastCounter: last?["counter"])
            })
        }
    }

    public func storeAppointments(_ items: [Appointment], now: Date) async throws -> [Result<Bool, Problem>] {
        try await queue.write { db in
            try items.map { item in
                if let problem = item.problem() {
                    return .failure(HallRules.problem(422, "appointment.invalid", "Invalid appointment", "\(item.id.prefix(64)): \(problem)"))
                }
                let record = try Self.encode(item)
                if let row = try Row.fetchOne(db, sql: "SELECT record, ticket_id FROM appointment WHERE id = ?", arguments: [item.id]) {
                    if (row["record"] as String) == record { return .success(false) }
                    if (row["ticket_id"] as String?) != nil { return .failure(HallRules.checkedIn(item.id)) }
                    try db.execute(sql: "UPDATE appointment SET site = ?, day = ?, id_number = ?, record = ?, stored_at = ? WHERE id = ?",
                                   arguments: [item.site, HallNames.day(of: item.startsAt), item.idNumber.uppercased(), record,
                                               now.timeIntervalSince1970, item.id])
                    return .success(true)
                }
                try db.execute(sql: "INSERT INTO appointment (id, site, day, id_number, record, stored_at) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [item.id, item.site, HallNames.day(of: item.startsAt), item.idNumber.uppercased(), record,
                                           now.timeIntervalSince1970])
                return .success(false)
            }
        }
    }

    public func ticket(id: String, now: Date) async throws -> HallTicket? {
        try await queue.read { db in
            guard let row = try Self.ticketRow(db, id) else { return nil }
            return HallRules.ticket(row, ahead: try Self.ahead(db, row))
        }
    }

    /// Applies a printed ticket's report inside the submission's transaction: nil when applied.
    static func apply(_ report: TicketReport, kioskId: String, _ db: Database) throws -> Problem? {
        let site = try String.fetchOne(db, sql: "SELECT site FROM kiosk WHERE id = ?", arguments: [kioskId])
        guard site == report.site else {
            return HallRules.reportRefused("kiosk \(kioskId) stands at \(site ?? "no site"), not \(report.site)")
        }
        if let row = try ticketRow(db, report.ticketId) {
            guard row["kiosk_id"] == kioskId, row["site"] == report.site, row["queue"] == report.queue, row["number"] == report.number else {
                return HallRules.reportRefused("ticket \(report.ticketId) was given as another number or to another kiosk")
            }
            try db.execute(sql: "UPDATE hall_ticket SET state = 'waiting' WHERE ticket_id = ? AND state = 'reserved'", arguments: [report.ticketId])
            return nil
        }
        guard report.offline else { return HallRules.reportRefused("the registry gave no ticket \(report.ticketId)") }
        let day = HallNames.day(of: report.issuedAt)
        if try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM hall_ticket WHERE site = ? AND day = ? AND number = ?",
                            arguments: [report.site, day, report.number]) ?? 0 > 0 {
            return HallRules.reportRefused("number \(report.number) of \(day) at \(report.site) was given already")
        }
        try db.execute(sql: """
            INSERT INTO hall_ticket (ticket_id, site, day, queue, number, seq, service_code, kiosk_id, issued_at, priority, state)
            VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, 0, 'waiting')
            """, arguments: [report.ticketId, report.site, day, report.queue, report.number, report.serviceCode, kioskId,
                             report.issuedAt.timeIntervalSince1970])
        return nil
    }
}
