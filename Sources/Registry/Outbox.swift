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

/// The kiosk's durable outbox: every write to the registry is queued here first, in one SQLite
/// transaction, and delivered by `OutboxRelay`.
///
/// One SQLite file (WAL, synchronous=FULL); payloads are encrypted (ChaChaPoly) with a key kept
/// in a file of mode 0600, so no personal data is on disk in clear. Delivery is in order per
/// stream. Size policy: heartbeats coalesce to the newest; ratings and print records are refused
/// with `OutboxError.full` beyond their cap; applications are never dropped: beyond the hard cap
/// `enqueue` throws so the citizen is told, and expired or refused ones stay as dead letters.
///
/// Every read is `async`. A synchronous read waits for one of the pool's readers on a thread of
/// the concurrency pool, while an async read gives its reader back only once it resumes on such a
/// thread: with the pool's few threads all waiting, the daemon would stop for good.
public final class Outbox: Sendable {
    let database: DatabasePool
    /// The kiosk ID used in tracking numbers.
    public let kioskId: String
    /// Size and retry policy.
    public let policy: OutboxPolicy
    let key: SymmetricKey
    /// Used only inside write transactions, which GRDB runs one at a time.
    let encoder = RegistryJSON.encoder()
    let wakers = Wakers()
    /// Items per stream, for the size policy: counted at open, kept on enqueue, recounted inside the other writes.
    let depths = Depths()
    let trackingCounter: TrackingCounter
    let dayStamp = DayStamp()
    let timeZone: TimeZone

    /// Opens (creating if needed) the outbox at `path`, with the payload key in `keyFile`
    /// (created with mode 0600 if missing; refused if others may read it).
    public init(path: String, keyFile: String, kioskId: String, policy: OutboxPolicy = OutboxPolicy(),
                timeZone: TimeZone = .kiosk) throws(OutboxError) {
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
            try Self.migrator().migrate(database)
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
    final class DayStamp: Sendable {
        private let cached = Locked((text: "", validFrom: Date.distantFuture, validUntil: Date.distantPast))

        func day(of date: Date, in timeZone: TimeZone) -> String {
            cached.withLock { cached in
                if date >= cached.validFrom, date < cached.validUntil { return cached.text }
                var calendar = Calendar(identifier: .gregorian)
                calendar.timeZone = timeZone
                let c = calendar.dateComponents([.year, .month, .day], from: date)
                let start = calendar.startOfDay(for: date)
                func pad(_ n: Int, _ width: Int) -> String { String(repeating: "0", count: max(0, width - String(n).count)) + String(n) }
                cached = (pad(c.year ?? 0, 4) + pad(c.month ?? 0, 2) + pad(c.day ?? 0, 2), start,
                          calendar.date(byAdding: .day, value: 1, to: start) ?? date)
                return cached.text
            }
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

    /// Counts each stream's items (when the outbox opens).
    func recount() throws {
        depths.set(try database.read(Self.counts))
    }

    /// Each stream's item count in `db`, taken inside the write that changed them.
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

    /// Queues an application and mints its tracking number, in one transaction.
    @discardableResult
    public func enqueueApplication(_ draft: ApplicationDraft) throws(OutboxError) -> OutboxTicket {
        try insert(stream: .applications) { tracking in
            guard let tracking else { throw OutboxError.invalidArgument("no tracking number") }
            let submission = ApplicationSubmission(
                trackingNumber: tracking, applicant: draft.applicant, proposedName: draft.proposedName, type: draft.type,
                registeredCapital: draft.registeredCapital, address: draft.address, businessScope: draft.businessScope,
                submittedAt: draft.submittedAt, delivery: draft.delivery, parties: draft.parties)
            return try self.encoder.encode(submission)
        }
    }

    /// Queues a rating, print record or heartbeat (`body` is its wire type). Applications go
    /// through `enqueueApplication`.
    @discardableResult
    public func enqueue(_ stream: SubmissionKind, _ body: some Encodable & Sendable) throws(OutboxError) -> OutboxTicket {
        guard stream != .applications else { throw .invalidArgument("applications are queued with enqueueApplication") }
        return try insert(stream: stream) { _ in try self.encoder.encode(body) }
    }

    func insert(stream: SubmissionKind, body: (String?) throws -> Data) throws(OutboxError) -> OutboxTicket {
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
                return OutboxTicket(id: db.lastInsertedRowID, stream: stream, idempotencyKey: idempotencyKey, trackingNumber: tracking)
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

    /// How many items wait in `stream` (dead letters not counted), or in every stream when nil.
    /// Kept in memory beside the database: no read, so it can be asked often.
    public func depth(of stream: SubmissionKind? = nil) -> Int {
        guard let stream else { return SubmissionKind.allCases.reduce(0) { $0 + depths.value($1) } }
        return depths.value(stream)
    }

    /// Where the application with `trackingNumber` is.
    public func applicationState(trackingNumber: String) async throws(OutboxError) -> ApplicationState {
        do {
            return try await database.read { db -> ApplicationState in
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
    public func registryNumber(trackingNumber: String) async throws(OutboxError) -> String? {
        if case .delivered(let number) = try await applicationState(trackingNumber: trackingNumber) { return number }
        return nil
    }
}

/// Item counts per stream.
final class Depths: Sendable {
    private let counts = Locked<[SubmissionKind: Int]>([:])
    func value(_ stream: SubmissionKind) -> Int { counts.withLock { $0[stream] ?? 0 } }
    func set(_ stream: SubmissionKind, _ n: Int) { counts.withLock { $0[stream] = n } }
    func set(_ all: [(SubmissionKind, Int)]) { counts.withLock { for (stream, n) in all { $0[stream] = n } } }
    func add(_ stream: SubmissionKind, _ n: Int) { counts.withLock { $0[stream, default: 0] += n } }
}

/// Actions run after each enqueue.
final class Wakers: Sendable {
    private let actions = Locked<[@Sendable () -> Void]>([])
    func add(_ action: @escaping @Sendable () -> Void) { actions.withLock { $0.append(action) } }
    func fire() {
        for action in actions.withLock({ $0 }) { action() }
    }
}
