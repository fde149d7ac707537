import Crypto
import Foundation
import GRDB
import KioskCore

/// The outbox's tables: what is queued, what was given up on (dead letters), which applications
/// were delivered under which registry number, the technicians' actions on items, and the hall
/// numbers given offline.
extension Outbox {
    static func migrator() -> DatabaseMigrator {
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
        // Tables kioskd created itself before they were the outbox's (`IF NOT EXISTS` keeps a
        // kiosk's numbers of the day across the upgrade); the submission log nothing read goes.
        migrator.registerMigration("outbox-v2-hall-numbers") { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS kiosk_offline_number (
                    ticket_id TEXT PRIMARY KEY,
                    day TEXT NOT NULL,
                    queue TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    UNIQUE (day, queue, seq));
                CREATE TABLE IF NOT EXISTS kiosk_queue_figure (
                    queue TEXT PRIMARY KEY,
                    waiting INTEGER NOT NULL,
                    day TEXT NOT NULL,
                    offline_since INTEGER NOT NULL);
                DROP TABLE IF EXISTS kiosk_submission;
                """)
        }
        return migrator
    }
}
