import Crypto
import Foundation
import GRDB
import KioskCore

/// Why an outbox operation failed.
public enum OutboxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The stream is at its size limit: the item was not accepted. Tell the citizen it could not
    /// be recorded (for an application: it was not submitted) and alert the technician.
    case full(stream: SubmissionKind, limit: Int)
    /// The outbox database failed; nothing of the operation was written.
    case database(String)
    /// The payload key file is missing, unreadable or not private (mode 0600).
    case keyFile(String)
    /// A payload could not be encoded, encrypted or decrypted.
    case payload(String)
    /// No queued item or dead letter has this ID.
    case notFound(Int64)
    /// A bad argument, e.g. an empty reason for a purge.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .full(let stream, let limit): return "outbox stream \(stream.rawValue) is full (\(limit) items): the item was not queued; check the network and `kioskctl queue status`"
        case .database(let why): return "outbox database: \(why)"
        case .keyFile(let why): return "outbox key file: \(why)"
        case .payload(let why): return "outbox payload: \(why)"
        case .notFound(let id): return "no outbox item or dead letter \(id)"
        case .invalidArgument(let why): return "outbox: \(why)"
        }
    }
}

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
        let ceiling = Self.ceiling(afterAttempts: attempts, base: backoffBase, cap: backoffCap)
        return .nanoseconds(Int64.random(in: 0...max(0, ceiling.nanoseconds)))
    }

    /// The largest wait `backoff(afterAttempts:)` may answer.
    public static func ceiling(afterAttempts attempts: Int, base: Duration, cap: Duration) -> Duration {
        let shift = min(max(attempts - 1, 0), 30)
        let value = base * (1 << shift)
        return min(value, cap)
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

/// The kiosk's durable outbox: every write to the registry is queued here first, in the same
/// SQLite transaction as the kiosk's own record of it, and delivered by `OutboxRelay`.
///
/// One SQLite file (WAL, synchronous=FULL); payloads are encrypted (ChaChaPoly) with a key kept
/// in a file of mode 0600, so no personal data is on disk in clear. Delivery is in order per
/// stream. Size policy: heartbeats coalesce to the newest; ratings and print records are refused
/// with `OutboxError.full` beyond their cap; applications are never dropped: beyond the hard cap
/// `enqueue` throws so the citizen is told, and expired or refused ones stay as dead letters.
public final class Outbox: Sendable {
    /// The database: create the kiosk's own tables here to write them in `enqueue`'s transaction.
    public let database: DatabasePool
    /// The kiosk ID used in tracking numbers.
    public let kioskId: String
    /// Size and retry policy.
    public let policy: OutboxPolicy
    let key: SymmetricKey
    /// Used only inside write transactions, which GRDB runs one at a time.
    let encoder = RegistryJSON.encoder()
    let wakers = Wakers()
    /// Items per stream, for the size policy: counted at open, kept on enqueue, recounted after other changes.
    let depths = Depths()
    let trackingCounter: TrackingCounter
    let dayStamp = DayStamp()
    let timeZone: TimeZone

    /// Opens (creating if needed) the outbox at `path`, with the payload key in `keyFile`
    /// (created with mode 0600 if missing; refused if others may read it).
    public init(path: String, keyFile: String, kioskId: String, policy: OutboxPolicy = OutboxPolicy(),
                timeZone: TimeZone = TimeZone(identifier: "Asia/Shanghai") ?? .current) throws(OutboxError) {
        guard KioskSignature.isValidKioskId(kioskId) else { throw .invalidArgument("kiosk ID '\(kioskId.prefix(70))' is not valid") }
        self.kioskId = kioskId
        self.policy = policy
        self.timeZone = timeZone
        trackingCounter = TrackingCounter(prefix: "YT-\(kioskId)-")
        let keyExisted = FileManager.default.fileExists(atPath: keyFile)
        do {
            var config = Configuration()
            config.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = FULL; PRAGMA secure_delete = ON")
            }
            database = try DatabasePool(path: path, configuration: config)
            var migrator = DatabaseMigrator()
            migrator.registerMigration("outbox-v1") { db in
                try db.execute(sql: """
                    CREATE TABLE outbox_item (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        stream TEXT NOT NULL,
                        idempotency_key TEXT NOT NULL,
                        tracking_number TEXT,
                        payload BLOB NOT NULL,
                        created_at REAL NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        refusals INTEGER NOT NULL DEFAULT 0,
                        next_attempt_at REAL NOT NULL,
                        last_error TEXT);
                    CREATE INDEX outbox_item_stream ON outbox_item(stream, id);
                    CREATE UNIQUE INDEX outbox_item_tracking ON outbox_item(tracking_number) WHERE tracking_number IS NOT NULL;
                    CREATE TABLE outbox_dead_letter (
                        id INTEGER PRIMARY KEY,
                        stream TEXT NOT NULL,
                        idempotency_key TEXT NOT NULL,
                        tracking_number TEXT,
                        payload BLOB NOT NULL,
                        created_at REAL NOT NULL,
                        attempts INTEGER NOT NULL,
                        last_error TEXT,
                        reason TEXT NOT NULL,
                        dead_at REAL NOT NULL);
                    CREATE TABLE outbox_delivered_application (
                        tracking_number TEXT PRIMARY KEY,
                        registry_number TEXT NOT NULL,
                        delivered_at REAL NOT NULL);
                    CREATE TABLE outbox_audit (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        at REAL NOT NULL,
                        action TEXT NOT NULL,
                        item_id INTEGER NOT NULL,
                        stream TEXT,
                        tracking_number TEXT,
                        who TEXT NOT NULL,
                        why TEXT NOT NULL);
                    """)
            }
            try migrator.migrate(database)
            if !keyExisted {
                // A new key cannot read what an old one sealed: never make one over sealed rows.
                let sealed = try database.read { db in
                    try Int.fetchOne(db, sql: "SELECT (SELECT COUNT(*) FROM outbox_item) + (SELECT COUNT(*) FROM outbox_dead_letter)") ?? 0
                }
                if sealed > 0 {
                    throw OutboxError.keyFile("\(keyFile) is missing, but \(path) holds \(sealed) item(s) sealed with it: restore the key file from where it was kept (a new key could not read them)")
                }
            }
        } catch let error as OutboxError {
            throw error
        } catch {
            throw .database("\(path): \(error)")
        }
        key = try Self.loadOrCreateKey(keyFile)
        do { try recount() } catch { throw .database("\(path): \(error)") }
    }

    /// The local day (`YYYYMMDD`) of a time, worked out with the calendar once a day and kept
    /// until midnight: calendar arithmetic in a named time zone is costly next to an insert.
    final class DayStamp: @unchecked Sendable {
        private let lock = NSLock()
        private var text = ""
        private var validFrom = Date.distantFuture
        private var validUntil = Date.distantPast

        func day(of date: Date, in timeZone: TimeZone) -> String {
            lock.lock()
            defer { lock.unlock() }
            if date >= validFrom, date < validUntil { return text }
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = timeZone
            let c = calendar.dateComponents([.year, .month, .day], from: date)
            let start = calendar.startOfDay(for: date)
            validFrom = start
            validUntil = calendar.date(byAdding: .day, value: 1, to: start) ?? date
            func pad(_ n: Int, _ width: Int) -> String { String(repeating: "0", count: max(0, width - String(n).count)) + String(n) }
            text = pad(c.year ?? 0, 4) + pad(c.month ?? 0, 2) + pad(c.day ?? 0, 2)
            return text
        }
    }

    /// The day's last tracking number, found once from every table that keeps tracking numbers
    /// (queued, delivered, dead letters, and the audit trail of purges), then kept in memory;
    /// only used inside write transactions. A rolled-back enqueue leaves a gap, never a reuse.
    final class TrackingCounter: @unchecked Sendable {
        let prefix: String
        var day = ""
        var last = 0
        init(prefix: String) { self.prefix = prefix }
        func next(day: String, _ database: Database) throws -> Int {
            if day != self.day {
                let pattern = prefix + day + "-%"
                let highest = try String.fetchOne(database, sql: """
                    SELECT MAX(t) FROM (
                        SELECT MAX(tracking_number) AS t FROM outbox_item WHERE tracking_number LIKE ?1
                        UNION ALL SELECT MAX(tracking_number) FROM outbox_dead_letter WHERE tracking_number LIKE ?1
                        UNION ALL SELECT MAX(tracking_number) FROM outbox_delivered_application WHERE tracking_number LIKE ?1
                        UNION ALL SELECT MAX(tracking_number) FROM outbox_audit WHERE tracking_number LIKE ?1)
                    """, arguments: [pattern])
                self.day = day
                last = highest.flatMap { Int($0.suffix(6)) } ?? 0
            }
            last += 1
            return last
        }
    }

    /// Counts each stream's items again (after anything but an enqueue changed them).
    func recount() throws {
        depths.set(try database.read(Self.counts))
    }

    /// Each stream's item count in `db`. The async paths take it inside the write that changed
    /// them: a synchronous read there would wait for a reader on a cooperative thread while the
    /// relay's async reads, which release theirs only when they resume on such a thread, hold them all.
    static func counts(_ db: Database) throws -> [(SubmissionKind, Int)] {
        try SubmissionKind.allCases.map { stream in
            (stream, try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM outbox_item WHERE stream = ?"), arguments: [stream.rawValue]) ?? 0)
        }
    }

    /// 128 random bits as 32 lower-case hex digits.
    static func randomKey() -> String {
        var generator = SystemRandomNumberGenerator()
        let hex = Array("0123456789abcdef".utf8)
        var bytes = [UInt8]()
        bytes.reserveCapacity(32)
        for _ in 0..<2 {
            var word = generator.next() as UInt64
            for _ in 0..<16 { bytes.append(hex[Int(word & 0xF)]); word >>= 4 }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func loadOrCreateKey(_ path: String) throws(OutboxError) -> SymmetricKey {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        if fd >= 0 {
            let key = SymmetricKey(size: .bits256)
            let bytes = key.withUnsafeBytes { Array($0) }
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            let synced = fsync(fd)
            close(fd)
            guard written == 32, synced == 0 else {
                unlink(path)
                throw .keyFile("cannot write \(path)")
            }
            return key
        }
        var info = stat()
        guard stat(path, &info) == 0 else { throw .keyFile("cannot create or read \(path): \(String(cString: strerror(errno)))") }
        guard info.st_mode & 0o077 == 0 else { throw .keyFile("\(path) may be read by others; run chmod 600 on it") }
        guard let data = FileManager.default.contents(atPath: path), data.count == 32 else {
            throw .keyFile("\(path) must hold exactly 32 bytes")
        }
        return SymmetricKey(data: data)
    }

    func seal(_ data: Data) throws(OutboxError) -> Data {
        do { return try ChaChaPoly.seal(data, using: key).combined } catch { throw .payload("cannot encrypt: \(error)") }
    }

    func unseal(_ data: Data) throws(OutboxError) -> Data {
        do { return try ChaChaPoly.open(ChaChaPoly.SealedBox(combined: data), using: key) } catch {
            throw .payload("cannot decrypt (wrong key file?)")
        }
    }

    // MARK: Enqueue

    /// Queues an application: mints its tracking number, then runs `alsoWrite` in the same
    /// transaction (the kiosk's own rows, in `database`). All or nothing.
    @discardableResult
    public func enqueueApplication(_ draft: ApplicationDraft,
                                   alsoWrite: ((Database, OutboxTicket) throws -> Void)? = nil) throws(OutboxError) -> OutboxTicket {
        try insert(stream: .applications, alsoWrite: alsoWrite) { tracking in
            guard let tracking else { throw OutboxError.invalidArgument("no tracking number") }
            let submission = ApplicationSubmission(
                trackingNumber: tracking, applicant: draft.applicant, proposedName: draft.proposedName, type: draft.type,
                registeredCapital: draft.registeredCapital, address: draft.address, businessScope: draft.businessScope,
                submittedAt: draft.submittedAt, delivery: draft.delivery, parties: draft.parties)
            return try self.encoder.encode(submission)
        }
    }

    /// Queues a rating, print record or heartbeat (`body` is its wire type), running `alsoWrite`
    /// in the same transaction. Applications go through `enqueueApplication`.
    @discardableResult
    public func enqueue(_ stream: SubmissionKind, _ body: some Encodable & Sendable,
                        alsoWrite: ((Database, OutboxTicket) throws -> Void)? = nil) throws(OutboxError) -> OutboxTicket {
        guard stream != .applications else { throw .invalidArgument("applications are queued with enqueueApplication") }
        return try insert(stream: stream, alsoWrite: alsoWrite) { _ in try self.encoder.encode(body) }
    }

    func insert(stream: SubmissionKind, alsoWrite: ((Database, OutboxTicket) throws -> Void)?,
                body: (String?) throws -> Data) throws(OutboxError) -> OutboxTicket {
        let now = Date()
        let idempotencyKey = Self.randomKey()
        let limit = policy.limit(stream)
        let day = stream == .applications ? dayStamp.day(of: now, in: timeZone) : ""
        let ticket: OutboxTicket
        do {
            ticket = try database.write { db -> OutboxTicket in
                if stream == .heartbeats {
                    // Coalesce: only the newest heartbeat is worth sending.
                    try db.cachedStatement(sql: "DELETE FROM outbox_item WHERE stream = ?").execute(arguments: [stream.rawValue])
                } else {
                    if depths.value(stream) >= limit { throw OutboxError.full(stream: stream, limit: limit) }
                }
                var tracking: String?
                if stream == .applications {
                    let n = try trackingCounter.next(day: day, db)
                    let digits = String(n)
                    tracking = "YT-\(kioskId)-\(day)-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
                }
                let sealed = try seal(try body(tracking))
                try db.cachedStatement(sql: """
                    INSERT INTO outbox_item (stream, idempotency_key, tracking_number, payload, created_at, next_attempt_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """).execute(arguments: [stream.rawValue, idempotencyKey, tracking, sealed, now.timeIntervalSince1970, now.timeIntervalSince1970])
                let ticket = OutboxTicket(id: db.lastInsertedRowID, stream: stream, idempotencyKey: idempotencyKey, trackingNumber: tracking)
                try alsoWrite?(db, ticket)
                return ticket
            }
        } catch let error as OutboxError {
            throw error
        } catch {
            throw .database("\(error)")
        }
        if stream == .heartbeats { depths.set(stream, 1) } else { depths.add(stream, 1) }
        wakers.fire()
        return ticket
    }

    /// Makes every waiting item due now (the registry is back: no need to sit out the backoff)
    /// and wakes the relay. Answers how many items were waiting on a backoff.
    @discardableResult
    public func makeDueNow(now: Date = Date()) throws(OutboxError) -> Int {
        let changed: Int
        do {
            changed = try database.write { db in
                try db.execute(sql: "UPDATE outbox_item SET next_attempt_at = ? WHERE next_attempt_at > ?",
                               arguments: [now.timeIntervalSince1970, now.timeIntervalSince1970])
                return db.changesCount
            }
        } catch { throw .database("\(error)") }
        if changed > 0 { wakers.fire() }
        return changed
    }

    /// Registers `action` to run after every successful enqueue (the relay wakes on it).
    public func onEnqueue(_ action: @escaping @Sendable () -> Void) {
        wakers.add(action)
    }

    // MARK: Lookups

    /// Where the application with `trackingNumber` is.
    public func applicationState(trackingNumber: String) throws(OutboxError) -> ApplicationState {
        do {
            return try database.read { db -> ApplicationState in
                if let number = try String.fetchOne(db, sql: "SELECT registry_number FROM outbox_delivered_application WHERE tracking_number = ?",
                                                    arguments: [trackingNumber]) {
                    return .delivered(registryNumber: number)
                }
                if try Bool.fetchOne(db, sql: "SELECT 1 FROM outbox_item WHERE tracking_number = ?", arguments: [trackingNumber]) != nil {
                    return .queued
                }
                if let reason = try String.fetchOne(db, sql: "SELECT reason FROM outbox_dead_letter WHERE tracking_number = ?",
                                                    arguments: [trackingNumber]) {
                    return .deadLetter(reason: reason)
                }
                return .unknown
            }
        } catch { throw .database("\(error)") }
    }

    /// The registry's number for the application with `trackingNumber`, once delivered.
    public func registryNumber(trackingNumber: String) throws(OutboxError) -> String? {
        if case .delivered(let number) = try applicationState(trackingNumber: trackingNumber) { return number }
        return nil
    }

    // MARK: Technician operations

    /// Depth, oldest age and dead letters per stream.
    public func status(now: Date = Date()) throws(OutboxError) -> OutboxStatus {
        do {
            return try database.read { db in
                var streams: [OutboxStreamStatus] = []
                for stream in SubmissionKind.allCases {
                    let row = try Row.fetchOne(db, sql: "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox_item WHERE stream = ?",
                                               arguments: [stream.rawValue])
                    let depth: Int = row?["n"] ?? 0
                    let oldest: Double? = row?["oldest"]
                    let lastError = try String.fetchOne(db, sql: "SELECT last_error FROM outbox_item WHERE stream = ? ORDER BY id LIMIT 1",
                                                        arguments: [stream.rawValue])
                    let dead = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox_dead_letter WHERE stream = ?", arguments: [stream.rawValue]) ?? 0
                    streams.append(OutboxStreamStatus(stream: stream, depth: depth, oldestAgeSeconds: oldest.map { now.timeIntervalSince1970 - $0 },
                                                      lastError: lastError, deadLetters: dead))
                }
                return OutboxStatus(streams: streams)
            }
        } catch { throw .database("\(error)") }
    }

    /// Queued items (oldest first) and, with `deadLetters`, dead letters, without payloads.
    public func list(stream: SubmissionKind? = nil, deadLetters: Bool = false, limit: Int = 100) throws(OutboxError) -> [OutboxItemSummary] {
        do {
            return try database.read { db in
                let table = deadLetters ? "outbox_dead_letter" : "outbox_item"
                let extra = deadLetters ? ", reason" : ", NULL AS reason"
                var sql = "SELECT id, stream, idempotency_key, tracking_number, created_at, attempts, last_error\(extra) FROM \(table)"
                var arguments: StatementArguments = []
                if let stream { sql += " WHERE stream = ?"; arguments += [stream.rawValue] }
                sql += " ORDER BY id LIMIT ?"
                arguments += [max(1, limit)]
                return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                    OutboxItemSummary(id: row["id"], stream: SubmissionKind(rawValue: row["stream"]) ?? .heartbeats,
                                      idempotencyKey: row["idempotency_key"], trackingNumber: row["tracking_number"],
                                      createdAt: Date(timeIntervalSince1970: row["created_at"]), attempts: row["attempts"],
                                      lastError: row["last_error"], dead: deadLetters, deadReason: row["reason"])
                }
            }
        } catch { throw .database("\(error)") }
    }

    /// The applications still queued here (not yet delivered), decrypted in memory: by tracking
    /// number, or those naming the person with `idNumber` as applicant or party.
    public func queuedApplications(trackingNumber: String? = nil, idNumber: String? = nil) throws(OutboxError) -> [ApplicationSubmission] {
        let wanted = idNumber?.uppercased()
        return try queued(.applications, as: ApplicationSubmission.self, trackingNumber: trackingNumber).filter { application in
            wanted.map { id in OpeningRules.parties(of: application).contains { $0.idNumber.uppercased() == id } } ?? true
        }
    }

    /// The items of `stream` still queued here (not yet delivered), decrypted in memory, oldest
    /// first (at most 1,000); with `trackingNumber`, only that one.
    public func queued<T: Decodable>(_ stream: SubmissionKind, as type: T.Type, trackingNumber: String? = nil) throws(OutboxError) -> [T] {
        let payloads: [Data]
        do {
            payloads = try database.read { db in
                if let trackingNumber {
                    return try Data.fetchAll(db, sql: "SELECT payload FROM outbox_item WHERE stream = ? AND tracking_number = ?",
                                             arguments: [stream.rawValue, trackingNumber])
                }
                return try Data.fetchAll(db, sql: "SELECT payload FROM outbox_item WHERE stream = ? ORDER BY id LIMIT 1000",
                                         arguments: [stream.rawValue])
            }
        } catch { throw .database("\(error)") }
        return payloads.compactMap { payload in
            guard let clear = try? unseal(payload) else { return nil }
            return try? RegistryJSON.decoder().decode(T.self, from: clear)
        }
    }

    /// One item (queued or dead letter) with its payload as JSON text, the applicant's ID number
    /// and name masked.
    public func show(id: Int64) throws(OutboxError) -> (summary: OutboxItemSummary, payload: String) {
        let found: (OutboxItemSummary, Data)?
        do {
            found = try database.read { db -> (OutboxItemSummary, Data)? in
                for dead in [false, true] {
                    let table = dead ? "outbox_dead_letter" : "outbox_item"
                    let reason = dead ? "reason" : "NULL AS reason"
                    if let row = try Row.fetchOne(db, sql: "SELECT *, \(reason) FROM \(table) WHERE id = ?", arguments: [id]) {
                        let summary = OutboxItemSummary(
                            id: row["id"], stream: SubmissionKind(rawValue: row["stream"]) ?? .heartbeats, idempotencyKey: row["idempotency_key"],
                            trackingNumber: row["tracking_number"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
                            attempts: row["attempts"], lastError: row["last_error"], dead: dead, deadReason: row["reason"])
                        return (summary, row["payload"])
                    }
                }
                return nil
            }
        } catch { throw .database("\(error)") }
        guard let found else { throw .notFound(id) }
        let clear = try unseal(found.1)
        var text = String(decoding: clear, as: UTF8.self)
        if var object = (try? JSONSerialization.jsonObject(with: clear)) as? [String: Any],
           var applicant = object["applicant"] as? [String: Any] {
            applicant["idNumber"] = IDNumber.mask(applicant["idNumber"] as? String ?? "")
            applicant["name"] = CardIdentity.maskName(applicant["name"] as? String ?? "")
            object["applicant"] = applicant
            if let parties = object["parties"] as? [[String: Any]] {
                object["parties"] = parties.map { party -> [String: Any] in
                    var party = party
                    party["idNumber"] = IDNumber.mask(party["idNumber"] as? String ?? "")
                    party["name"] = CardIdentity.maskName(party["name"] as? String ?? "")
                    return party
                }
            }
            if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
                text = String(decoding: data, as: UTF8.self)
            }
        }
        return (found.0, text)
    }

    /// Puts dead letter `id` back at its place in its stream, attempts reset; writes an audit row.
    public func retry(id: Int64, who: String, why: String) throws(OutboxError) {
        try checkAudit(who: who, why: why)
        do {
            try database.write { db in
                guard let row = try Row.fetchOne(db, sql: "SELECT * FROM outbox_dead_letter WHERE id = ?", arguments: [id]) else {
                    throw OutboxError.notFound(id)
                }
                let now = Date().timeIntervalSince1970
                try db.execute(sql: """
                    INSERT INTO outbox_item (id, stream, idempotency_key, tracking_number, payload, created_at, attempts, refusals, next_attempt_at, last_error)
                    VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, ?)
                    """, arguments: [id, row["stream"] as String, row["idempotency_key"] as String, row["tracking_number"] as String?,
                                     row["payload"] as Data, now, now, row["last_error"] as String?])
                try db.execute(sql: "DELETE FROM outbox_dead_letter WHERE id = ?", arguments: [id])
                try audit(db, action: "retry", id: id, stream: row["stream"], tracking: row["tracking_number"], who: who, why: why)
            }
        } catch let error as OutboxError { throw error } catch { throw .database("\(error)") }
        try? recount()
        wakers.fire()
    }

    /// Removes queued item or dead letter `id` for good; writes an audit row with `who` and `why`.
    public func purge(id: Int64, who: String, why: String) throws(OutboxError) {
        try checkAudit(who: who, why: why)
        do {
            try database.write { db in
                var found = false
                for table in ["outbox_item", "outbox_dead_letter"] {
                    if let row = try Row.fetchOne(db, sql: "SELECT stream, tracking_number FROM \(table) WHERE id = ?", arguments: [id]) {
                        try db.execute(sql: "DELETE FROM \(table) WHERE id = ?", arguments: [id])
                        try audit(db, action: "purge", id: id, stream: row["stream"], tracking: row["tracking_number"], who: who, why: why)
                        found = true
                    }
                }
                if !found { throw OutboxError.notFound(id) }
            }
        } catch let error as OutboxError { throw error } catch { throw .database("\(error)") }
        try? recount()
    }

    /// The audit trail of retries and purges, newest first: (when, action, item, who, why).
    public func auditTrail(limit: Int = 100) throws(OutboxError) -> [(at: Date, action: String, itemId: Int64, who: String, why: String)] {
        do {
            return try database.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM outbox_audit ORDER BY id DESC LIMIT ?", arguments: [limit]).map { row in
                    (Date(timeIntervalSince1970: row["at"]), row["action"], row["item_id"], row["who"], row["why"])
                }
            }
        } catch { throw .database("\(error)") }
    }

    func checkAudit(who: String, why: String) throws(OutboxError) {
        if who.trimmingCharacters(in: .whitespaces).isEmpty || why.trimmingCharacters(in: .whitespaces).isEmpty {
            throw .invalidArgument("say who you are and why (both are kept in the audit trail)")
        }
    }

    func audit(_ db: Database, action: String, id: Int64, stream: String?, tracking: String?, who: String, why: String) throws {
        try db.execute(sql: "INSERT INTO outbox_audit (at, action, item_id, stream, tracking_number, who, why) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       arguments: [Date().timeIntervalSince1970, action, id, stream, tracking, String(who.prefix(100)), String(why.prefix(500))])
    }

    // MARK: For the relay

    struct Pending: Sendable {
        var id: Int64
        var stream: SubmissionKind
        var idempotencyKey: String
        var trackingNumber: String?
        var body: Data
        var attempts: Int
        var refusals: Int
    }

    /// Why an item whose payload cannot be decrypted is a dead letter.
    static let undecryptableReason = "the payload cannot be decrypted with the outbox key (the key file was replaced, or the row is damaged); restore the original key file and retry the item, or purge it"

    /// Moves expired items to dead letters; answers how many.
    func expire(now: Date = Date()) async throws -> Int {
        let ttl = policy.ttl, heartbeatTTL = policy.heartbeatTTL
        let (expired, counts) = try await database.write { db in
            let cutoff = now.timeIntervalSince1970 - ttl, heartbeatCutoff = now.timeIntervalSince1970 - heartbeatTTL
            let condition = "(stream != 'heartbeats' AND created_at < \(cutoff)) OR (stream = 'heartbeats' AND created_at < \(heartbeatCutoff))"
            let ids = try Int64.fetchAll(db, sql: "SELECT id FROM outbox_item WHERE \(condition)")
            for id in ids {
                try Self.moveToDeadLetter(db, id: id, reason: "expired: not delivered within its time to live", now: now)
            }
            return (ids.count, try Self.counts(db))
        }
        depths.set(counts)
        return expired
    }

    static func moveToDeadLetter(_ db: Database, id: Int64, reason: String, now: Date) throws {
        try db.execute(sql: """
            INSERT OR REPLACE INTO outbox_dead_letter (id, stream, idempotency_key, tracking_number, payload, created_at, attempts, last_error, reason, dead_at)
            SELECT id, stream, idempotency_key, tracking_number, payload, created_at, attempts, last_error, ?, ? FROM outbox_item WHERE id = ?
            """, arguments: [String(reason.prefix(1000)), now.timeIntervalSince1970, id])
        try db.execute(sql: "DELETE FROM outbox_item WHERE id = ?", arguments: [id])
    }

    /// The head of `stream` (up to `limit` items) when the head is due, else when it will be.
    func head(of stream: SubmissionKind, limit: Int, now: Date = Date()) async throws -> (items: [Pending], nextDue: Date?) {
        let rows: [(Pending, Double)] = try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT id, idempotency_key, tracking_number, payload, attempts, refusals, next_attempt_at FROM outbox_item WHERE stream = ? ORDER BY id LIMIT ?",
                             arguments: [stream.rawValue, limit]).map { row in
                (Pending(id: row["id"], stream: stream, idempotencyKey: row["idempotency_key"], trackingNumber: row["tracking_number"],
                         body: row["payload"], attempts: row["attempts"], refusals: row["refusals"]), row["next_attempt_at"])
            }
        }
        guard let first = rows.first else { return ([], nil) }
        let due = Date(timeIntervalSince1970: first.1)
        if due > now { return ([], due) }
        var items: [Pending] = []
        var unreadable: [Int64] = []
        for (item, _) in rows {
            var clear = item
            do { clear.body = try unseal(item.body) } catch {
                unreadable.append(item.id)
                continue
            }
            items.append(clear)
        }
        if !unreadable.isEmpty {
            // One row that cannot be decrypted must not hold its stream: it becomes a dead letter
            // with the reason, and the items behind it flow.
            let ids = unreadable
            depths.set(try await database.write { db in
                for id in ids {
                    try Self.moveToDeadLetter(db, id: id, reason: Self.undecryptableReason, now: now)
                }
                return try Self.counts(db)
            })
        }
        return (items, now)
    }

    /// What happened to one item of a delivery.
    enum Outcome: Sendable {
        case delivered(registryNumber: String)
        case rejected(reason: String)
        case failed(error: String, refusal: Bool)
    }

    /// Records the outcomes of one delivery in one transaction.
    func record(_ outcomes: [(Pending, Outcome)], now: Date = Date()) async throws {
        let policy = self.policy
        depths.set(try await database.write { db in
            for (item, outcome) in outcomes {
                switch outcome {
                case .delivered(let number):
                    if let tracking = item.trackingNumber {
                        try db.execute(sql: "INSERT OR REPLACE INTO outbox_delivered_application (tracking_number, registry_number, delivered_at) VALUES (?, ?, ?)",
                                       arguments: [tracking, number, now.timeIntervalSince1970])
                    }
                    try db.execute(sql: "DELETE FROM outbox_item WHERE id = ?", arguments: [item.id])
                case .rejected(let reason):
                    try db.execute(sql: "UPDATE outbox_item SET attempts = attempts + 1, last_error = ? WHERE id = ?", arguments: [reason, item.id])
                    try Self.moveToDeadLetter(db, id: item.id, reason: reason, now: now)
                case .failed(let error, let refusal):
                    let attempts = item.attempts + 1
                    let refusals = item.refusals + (refusal ? 1 : 0)
                    if refusals >= policy.poisonThreshold {
                        try db.execute(sql: "UPDATE outbox_item SET attempts = ?, last_error = ? WHERE id = ?", arguments: [attempts, error, item.id])
                        try Self.moveToDeadLetter(db, id: item.id, reason: "poison: refused \(refusals) times; last: \(error)", now: now)
                    } else {
                        let wait = policy.backoff(afterAttempts: attempts)
                        let next = now.timeIntervalSince1970 + Double(wait.nanoseconds) / 1e9
                        try db.execute(sql: "UPDATE outbox_item SET attempts = ?, refusals = ?, last_error = ?, next_attempt_at = ? WHERE id = ?",
                                       arguments: [attempts, refusals, String(error.prefix(1000)), next, item.id])
                    }
                }
            }
            return try Self.counts(db)
        })
    }
}

/// Item counts per stream.
final class Depths: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [SubmissionKind: Int] = [:]
    func value(_ stream: SubmissionKind) -> Int { lock.withLock { counts[stream] ?? 0 } }
    func set(_ stream: SubmissionKind, _ n: Int) { lock.withLock { counts[stream] = n } }
    func set(_ all: [(SubmissionKind, Int)]) { lock.withLock { for (stream, n) in all { counts[stream] = n } } }
    func add(_ stream: SubmissionKind, _ n: Int) { lock.withLock { counts[stream, default: 0] += n } }
}

/// Actions run after each enqueue.
final class Wakers: @unchecked Sendable {
    private let lock = NSLock()
    private var actions: [@Sendable () -> Void] = []
    func add(_ action: @escaping @Sendable () -> Void) { lock.lock(); actions.append(action); lock.unlock() }
    func fire() {
        lock.lock(); let list = actions; lock.unlock()
        for action in list { action() }
    }
}
