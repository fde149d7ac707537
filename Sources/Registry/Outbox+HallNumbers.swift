import Foundation
import GRDB

/// The last waiting figure of a hall queue the kiosk knows, and the numbers it gave offline since;
/// good for its hall day only (numbers start again each day).
public struct KnownQueueFigure: Sendable, Equatable, Codable {
    public var waiting: Int
    public var day: String
    public var offlineSince: Int
    public init(waiting: Int, day: String, offlineSince: Int) {
        self.waiting = waiting
        self.day = day
        self.offlineSince = offlineSince
    }
}

/// The hall numbers a kiosk gives from its own block while the registry is unreachable, and the
/// last waiting figure per queue. Kept in the outbox's file so a number and the ticket report that
/// tells the registry about it survive the same power cut.
extension Outbox {
    /// The most numbers a kiosk gives from its own block per queue and day.
    public static let offlineNumbersPerQueue = 999

    /// The kiosk's own number for `ticketId` in `queue` on `day`: the one already given, or the
    /// next free one. Throws `OutboxError.full` when the day's block is used up.
    public func offlineSequence(ticketId: String, day: String, queue: String) async throws(OutboxError) -> Int {
        do {
            return try await database.write { db in
                if let seq = try Int.fetchOne(db, sql: "SELECT seq FROM kiosk_offline_number WHERE ticket_id = ?", arguments: [ticketId]) {
                    return seq
                }
                let seq = (try Int.fetchOne(db, sql: "SELECT MAX(seq) FROM kiosk_offline_number WHERE day = ? AND queue = ?",
                                            arguments: [day, queue]) ?? 0) + 1
                guard seq <= Self.offlineNumbersPerQueue else { throw OutboxError.full(stream: .tickets, limit: Self.offlineNumbersPerQueue) }
                try db.execute(sql: "INSERT INTO kiosk_offline_number (ticket_id, day, queue, seq) VALUES (?, ?, ?, ?)",
                               arguments: [ticketId, day, queue, seq])
                return seq
            }
        } catch let error as OutboxError {
            throw error
        } catch {
            throw .database("the kiosk's own numbers: \(error)")
        }
    }

    /// Whether the kiosk gave `ticketId` a number from its own block.
    public func hasOfflineSequence(ticketId: String) async -> Bool {
        ((try? await database.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM kiosk_offline_number WHERE ticket_id = ?", arguments: [ticketId])
        }) ?? 0) > 0
    }

    /// The last waiting figure kept for `queue`, if any.
    public func queueFigure(_ queue: String) async -> KnownQueueFigure? {
        (try? await database.read { db in
            try Row.fetchOne(db, sql: "SELECT waiting, day, offline_since FROM kiosk_queue_figure WHERE queue = ?", arguments: [queue]).map {
                KnownQueueFigure(waiting: $0["waiting"], day: $0["day"], offlineSince: $0["offline_since"])
            }
        }) ?? nil
    }

    /// Keeps `figure` as the last waiting figure of `queue`.
    public func saveQueueFigure(_ queue: String, _ figure: KnownQueueFigure) async throws(OutboxError) {
        do {
            try await database.write { db in
                try db.execute(sql: """
                    INSERT INTO kiosk_queue_figure (queue, waiting, day, offline_since) VALUES (?, ?, ?, ?)
                    ON CONFLICT(queue) DO UPDATE SET waiting = excluded.waiting, day = excluded.day, offline_since = excluded.offline_since
                    """, arguments: [queue, figure.waiting, figure.day, figure.offlineSince])
            }
        } catch { throw .database("the queue figure: \(error)") }
    }
}
