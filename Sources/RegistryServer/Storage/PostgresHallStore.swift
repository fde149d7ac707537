import Foundation
import KioskCore
import Logging
import PostgresNIO
import Registry

/// The hall on PostgreSQL: the same tables and rules as on SQLite. A queue's numbers and calls
/// are serialised by a transaction-scoped advisory lock per site and queue, so several registryd
/// processes never give one number twice nor call one ticket twice.
extension PostgresRegistryStore: HallStore {
    static let hallMigration: [PostgresQuery] = [
        "ALTER TABLE kiosk ADD COLUMN IF NOT EXISTS role TEXT NOT NULL DEFAULT 'kiosk'",
        "ALTER TABLE kiosk ADD COLUMN IF NOT EXISTS site TEXT",
        """
        CREATE TABLE IF NOT EXISTS hall_ticket (ticket_id TEXT PRIMARY KEY, site TEXT NOT NULL, day TEXT NOT NULL, queue TEXT NOT NULL,
            number TEXT NOT NULL, seq INTEGER, service_code TEXT NOT NULL, kiosk_id TEXT NOT NULL, issued_at DOUBLE PRECISION NOT NULL,
            priority INTEGER NOT NULL, appointment_id TEXT, state TEXT NOT NULL, counter INTEGER, called_at DOUBLE PRECISION,
            UNIQUE (site, day, number))
        """,
        "CREATE INDEX IF NOT EXISTS hall_ticket_queue ON hall_ticket(site, day, queue, state)",
        """
        CREATE TABLE IF NOT EXISTS hall_call (principal_id TEXT NOT NULL, key TEXT NOT NULL, ticket_id TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (principal_id, key))
        """,
        """
        CREATE TABLE IF NOT EXISTS appointment (id TEXT PRIMARY KEY, site TEXT NOT NULL, day TEXT NOT NULL, id_number TEXT NOT NULL,
            record TEXT NOT NULL, ticket_id TEXT, stored_at DOUBLE PRECISION NOT NULL)
        """,
        "CREATE INDEX IF NOT EXISTS appointment_person ON appointment(id_number, day)",
    ]

    typealias TicketColumns = (String, String, String, String, String, String, Double, Int, String, Int?, Double?)
    static let ticketSelect = "SELECT ticket_id, site, day, queue, number, service_code, issued_at, priority, state, counter, called_at FROM hall_ticket"

    static func ticket(_ c: TicketColumns, ahead: Int) -> HallTicket {
        HallTicket(ticketId: c.0, site: c.1, queue: c.3, number: c.4, serviceCode: c.5, issuedAt: Date(timeIntervalSince1970: c.6),
                   priority: c.7 != 0, state: HallTicket.State(rawValue: c.8) ?? .reserved, ahead: ahead, counter: c.9,
                   calledAt: c.10.map { Date(timeIntervalSince1970: $0) })
    }

    static func ticketRow(_ connection: PostgresConnection, _ id: String, _ logger: Logger) async throws -> TicketColumns? {
        for try await row in try await connection.query("\(unescaped: ticketSelect) WHERE ticket_id = \(id)", logger: logger)
            .decode(TicketColumns.self) { return row }
        return nil
    }

    static func ahead(_ connection: PostgresConnection, _ c: TicketColumns, _ logger: Logger) async throws -> Int {
        let (id, site, day, queue, number, priority, issued) = (c.0, c.1, c.2, c.3, c.4, c.7, c.6)
        let length = number.utf8.count
        for try await n in try await connection.query("""
            SELECT COUNT(*) FROM hall_ticket WHERE site = \(site) AND day = \(day) AND queue = \(queue) AND state = 'waiting' AND ticket_id <> \(id)
              AND (priority > \(priority) OR (priority = \(priority) AND (issued_at < \(issued) OR (issued_at = \(issued)
                   AND (length(number) < \(length) OR (length(number) = \(length) AND number < \(number)))))))
            """, logger: logger).decode(Int.self) { return n }
        return 0
    }

    static func lockQueue(_ connection: PostgresConnection, site: String, queue: String, _ logger: Logger) async throws {
        let name = site + "/" + queue
        try await connection.query("SELECT pg_advisory_xact_lock(7465, hashtext(\(name)))", logger: logger)
    }

    static func reserve(_ connection: PostgresConnection, id: String, site: String, queue: String, service: String, kioskId: String,
                        now: Date, priority: Bool, appointment: String?, _ logger: Logger) async throws -> TicketColumns? {
        try await lockQueue(connection, site: site, queue: queue, logger)
        let day = HallNames.day(of: now)
        var seq = 1
        for try await max in try await connection.query("SELECT MAX(seq) FROM hall_ticket WHERE site = \(site) AND day = \(day) AND queue = \(queue)",
                                                        logger: logger).decode(Int?.self) { seq = (max ?? 0) + 1 }
        let number = HallNames.onlineNumber(queue: queue, sequence: seq), at = now.timeIntervalSince1970, level = priority ? 1 : 0
        try await connection.query("""
            INSERT INTO hall_ticket (ticket_id, site, day, queue, number, seq, service_code, kiosk_id, issued_at, priority, appointment_id, state)
            VALUES (\(id), \(site), \(day), \(queue), \(number), \(seq), \(service), \(kioskId), \(at), \(level), \(appointment), 'reserved')
            """, logger: logger)
        return try await ticketRow(connection, id, logger)
    }

    public func reserveTicket(_ request: TicketRequest, site: String, kioskId: String, now: Date) async throws -> Result<HallTicket, Problem> {
        let logger = self.logger
        return try await client.withTransaction(logger: logger) { connection in
            try await Self.lockQueue(connection, site: site, queue: request.queue, logger)
            if let row = try await Self.ticketRow(connection, request.ticketId, logger) {
                let owner = try await Self.owner(connection, request.ticketId, logger)
                guard owner == kioskId, row.1 == site, row.3 == request.queue, row.5 == request.serviceCode else {
                    return .failure(HallRules.idReused(request.ticketId))
                }
                return .success(Self.ticket(row, ahead: try await Self.ahead(connection, row, logger)))
            }
            guard let row = try await Self.reserve(connection, id: request.ticketId, site: site, queue: request.queue, service: request.serviceCode,
                                                   kioskId: kioskId, now: now, priority: false, appointment: nil, logger) else {
                return .failure(HallRules.idReused(request.ticketId))
            }
            return .success(Self.ticket(row, ahead: try await Self.ahead(connection, row, logger)))
        }
    }

    static func owner(_ connection: PostgresConnection, _ id: String, _ logger: Logger) async throws -> String? {
        for try await kiosk in try await connection.query("SELECT kiosk_id FROM hall_ticket WHERE ticket_id = \(id)", logger: logger)
            .decode(String.self) { return kiosk }
        return nil
    }

    public func checkIn(_ request: CheckInRequest, site: String, kioskId: String, now: Date) async throws -> Result<HallTicket, Problem> {
        let masked = (try? IDNumber(request.idNumber))?.masked ?? "this card"
        let logger = self.logger, person = request.idNumber.uppercased(), day = HallNames.day(of: now)
        return try await client.withTransaction(logger: logger) { connection in
            // One check-in of a person at a time.
            try await connection.query("SELECT pg_advisory_xact_lock(7466, hashtext(\(person)))", logger: logger)
            var rows: [(String, String?)] = []
            for try await row in try await connection.query(
                "SELECT record, ticket_id FROM appointment WHERE id_number = \(person) AND day = \(day) ORDER BY id", logger: logger)
                .decode((String, String?).self) { rows.append(row) }
            guard !rows.isEmpty else { return .failure(HallRules.notFound(masked)) }
            let appointments = try rows.map { try SQLiteRegistryStore.decode(Appointment.self, $0.0) }
            for (appointment, row) in zip(appointments, rows) where appointment.site == site {
                if let ticketId = row.1, let ticket = try await Self.ticketRow(connection, ticketId, logger) {
                    return .success(Self.ticket(ticket, ahead: try await Self.ahead(connection, ticket, logger)))
                }
            }
            switch HallRules.choose(appointments, site: site, now: now) {
            case .failure(let problem):
                return .failure(problem.code == "appointment.not-found" ? HallRules.notFound(masked) : problem)
            case .success(let appointment):
                if try await Self.ticketRow(connection, request.ticketId, logger) != nil { return .failure(HallRules.idReused(request.ticketId)) }
                guard let ticket = try await Self.reserve(connection, id: request.ticketId, site: site, queue: appointment.queue,
                                                          service: appointment.serviceCode, kioskId: kioskId, now: now, priority: true,
                                                          appointment: appointment.id, logger) else {
                    return .failure(HallRules.idReused(request.ticketId))
                }
                let (ticketId, appointmentId) = (request.ticketId, appointment.id)
                try await connection.query("UPDATE appointment SET ticket_id = \(ticketId) WHERE id = \(appointmentId)", logger: logger)
                return .success(Self.ticket(ticket, ahead: try await Self.ahead(connection, ticket, logger)))
            }
        }
    }

    public func callNext(site: String, queue: String, counter: Int, caller: String, key: String?, now: Date) async throws -> Result<HallTicket, Problem> {
        let logger = self.logger, day = HallNames.day(of: now), at = now.timeIntervalSince1970
        return try await client.withTransaction(logger: logger) { connection in
            try await Self.lockQueue(connection, site: site, queue: queue, logger)
            if let key {
                for try await id in try await connection.query("SELECT ticket_id FROM hall_call WHERE principal_id = \(caller) AND key = \(key)",
                                                               logger: logger).decode(String.self) {
                    if let row = try await Self.ticketRow(connection, id, logger) { return .success(Self.ticket(row, ahead: 0)) }
                }
            }
            var next: String?
            for try await id in try await connection.query("""
                SELECT ticket_id FROM hall_ticket WHERE site = \(site) AND day = \(day) AND queue = \(queue) AND state = 'waiting'
                ORDER BY \(unescaped: HallRules.queueOrder) LIMIT 1
                """, logger: logger).decode(String.self) { next = id }
            guard let id = next else { return .failure(HallRules.queueEmpty(queue)) }
            try await connection.query("UPDATE hall_ticket SET state = 'called', counter = \(counter), called_at = \(at) WHERE ticket_id = \(id)",
                                       logger: logger)
            if let key {
                try await connection.query("INSERT INTO hall_call (principal_id, key, ticket_id, created_at) VALUES (\(caller), \(key), \(id), \(at))",
                                           logger: logger)
            }
            guard let row = try await Self.ticketRow(connection, id, logger) else { return .failure(HallRules.queueEmpty(queue)) }
            return .success(Self.ticket(row, ahead: 0))
        }
    }

    public func hallFigures(site: String, now: Date) async throws -> HallFigures {
        let day = HallNames.day(of: now)
        var waiting: [String: Int] = [:]
        for try await (queue, count) in try await client.query("""
            SELECT queue, COUNT(*) FILTER (WHERE state = 'waiting') FROM hall_ticket WHERE site = \(site) AND day = \(day) GROUP BY queue
            """, logger: logger).decode((String, Int).self) { waiting[queue] = count }
        var last: [String: (String, Int?)] = [:]
        for try await (queue, number, counter) in try await client.query("""
            SELECT DISTINCT ON (queue) queue, number, counter FROM hall_ticket WHERE site = \(site) AND day = \(day) AND state = 'called'
            ORDER BY queue, called_at DESC, ticket_id DESC
            """, logger: logger).decode((String, String, Int?).self) { last[queue] = (number, counter) }
        return HallFigures(site: site, day: day, queues: waiting.keys.sorted().map {
            QueueFigure(queue: $0, waiting: waiting[$0] ?? 0, lastCalled: last[$0]?.0, lastCounter: last[$0]?.1 ?? nil)
        })
    }

    public func storeAppointments(_ items: [Appointment], now: Date) async throws -> [Result<Bool, Problem>] {
        let logger = self.logger, at = now.timeIntervalSince1970
        var encoded: [String] = []
        for item in items { encoded.append(try SQLiteRegistryStore.encode(item)) }
        return try await client.withTransaction(logger: logger) { connection in
            var results: [Result<Bool, Problem>] = []
            for (item, record) in zip(items, encoded) {
                if let problem = item.problem() {
                    results.append(.failure(HallRules.problem(422, "appointment.invalid", "Invalid appointment", "\(item.id.prefix(64)): \(problem)")))
                    continue
                }
                let (id, site, day, person) = (item.id, item.site, HallNames.day(of: item.startsAt), item.idNumber.uppercased())
                var existing: (String, String?)?
                for try await row in try await connection.query("SELECT record, ticket_id FROM appointment WHERE id = \(id) FOR UPDATE",
                                                                logger: logger).decode((String, String?).self) { existing = row }
                if let existing {
                    if existing.0 == record { results.append(.success(false)); continue }
                    if existing.1 != nil { results.append(.failure(HallRules.checkedIn(id))); continue }
                    try await connection.query("""
                        UPDATE appointment SET site = \(site), day = \(day), id_number = \(person), record = \(record), stored_at = \(at) WHERE id = \(id)
                        """, logger: logger)
                    results.append(.success(true))
                    continue
                }
                try await connection.query("""
                    INSERT INTO appointment (id, site, day, id_number, record, stored_at) VALUES (\(id), \(site), \(day), \(person), \(record), \(at))
                    """, logger: logger)
                results.append(.success(false))
            }
            return results
        }
    }

    public func ticket(id: String, now: Date) async throws -> HallTicket? {
        let logger = self.logger
        return try await client.withConnection { connection in
            guard let row = try await Self.ticketRow(connection, id, logger) else { return nil }
            return Self.ticket(row, ahead: try await Self.ahead(connection, row, logger))
        }
    }

    /// Applies a printed ticket's report inside the submission's transaction: nil when applied.
    static func apply(_ report: TicketReport, kioskId: String, _ connection: PostgresConnection, _ logger: Logger) async throws -> Problem? {
        var site: String?
        for try await value in try await connection.query("SELECT site FROM kiosk WHERE id = \(kioskId)", logger: logger)
            .decode(String?.self) { site = value }
        guard site == report.site else {
            return HallRules.reportRefused("kiosk \(kioskId) stands at \(site ?? "no site"), not \(report.site)")
        }
        try await lockQueue(connection, site: report.site, queue: report.queue, logger)
        let id = report.ticketId
        if let row = try await ticketRow(connection, id, logger) {
            let owner = try await self.owner(connection, id, logger)
            guard owner == kioskId, row.1 == report.site, row.3 == report.queue, row.4 == report.number else {
                return HallRules.reportRefused("ticket \(id) was given as another number or to another kiosk")
            }
            try await connection.query("UPDATE hall_ticket SET state = 'waiting' WHERE ticket_id = \(id) AND state = 'reserved'", logger: logger)
            return nil
        }
        guard report.offline else { return HallRules.reportRefused("the registry gave no ticket \(id)") }
        let day = HallNames.day(of: report.issuedAt), number = report.number
        var taken = 0
        for try await n in try await connection.query("SELECT COUNT(*) FROM hall_ticket WHERE site = \(report.site) AND day = \(day) AND number = \(number)",
                                                      logger: logger).decode(Int.self) { taken = n }
        guard taken == 0 else { return HallRules.reportRefused("number \(number) of \(day) at \(report.site) was given already") }
        let (queue, service, at) = (report.queue, report.serviceCode, report.issuedAt.timeIntervalSince1970)
        try await connection.query("""
            INSERT INTO hall_ticket (ticket_id, site, day, queue, number, seq, service_code, kiosk_id, issued_at, priority, state)
            VALUES (\(id), \(report.site), \(day), \(queue), \(number), NULL, \(service), \(kioskId), \(at), 0, 'waiting')
            """, logger: logger)
        return nil
    }
}
