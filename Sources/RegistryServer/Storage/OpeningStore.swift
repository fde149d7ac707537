import Foundation
import GRDB
import KioskCore
import Registry

/// The parties' confirmations of establishment applications: who is named in which application,
/// and who confirmed when. A confirmation is kept by the application's tracking number, even one
/// that arrives before its application (two kiosks' outboxes deliver in their own time); the
/// first confirmation of a person stands.
public protocol OpeningStore: Sendable {
    /// The confirmations on record for the application with `trackingNumber`: ID number (upper case) → when.
    func confirmations(trackingNumber: String) async throws -> [String: Date]
    /// The end of application `registryNumber`'s window, fixed when it arrived.
    func confirmBy(registryNumber: String) async throws -> Date?
    /// The registry numbers of the applications naming the person with `idNumber` as a party, newest first (at most 20).
    func openings(idNumber: String) async throws -> [String]
}

/// What follows from the parties' confirmations, over the stores.
public struct Openings: Sendable {
    public let progress: any ProgressStore
    public let store: any OpeningStore

    /// Seven days from arrival, the usual time a bank-branch opening gives its parties.
    public static let defaultWindow: TimeInterval = 7 * 24 * 3600

    public init(progress: any ProgressStore, store: any OpeningStore) {
        self.progress = progress
        self.store = store
    }

    /// `store` when it keeps progress and confirmations.
    public init?(_ store: any RegistryStore) {
        guard let progress = store as? any ProgressStore, let parties = store as? any OpeningStore else { return nil }
        self.init(progress: progress, store: parties)
    }

    /// Where application `number`'s confirmations stand, with its progress and the application.
    public func state(number: String, now: Date = Date()) async throws -> (ApplicationProgress, ApplicationSubmission, OpeningState)? {
        guard let found = try await progress.progress(number: number), let application = try await progress.application(number: number) else {
            return nil
        }
        let received = found.history.first?.at ?? found.submittedAt
        let confirmBy = try await store.confirmBy(registryNumber: found.registryNumber) ?? received.addingTimeInterval(Self.defaultWindow)
        let state = OpeningState.of(application, confirmBy: confirmBy,
                                    confirmations: try await store.confirmations(trackingNumber: application.trackingNumber), now: now)
        var decorated = found
        decorated.opening = state
        return (decorated, application, state)
    }

    /// `found` with its confirmations.
    public func decorate(_ found: ApplicationProgress, now: Date = Date()) async throws -> ApplicationProgress {
        try await state(number: found.registryNumber, now: now)?.0 ?? found
    }

    /// The applications naming the person with `idNumber`, as invitations to confirm, newest first.
    public func invitations(idNumber: String, now: Date = Date()) async throws -> [OpeningInvitation] {
        var out: [OpeningInvitation] = []
        for number in try await store.openings(idNumber: idNumber) {
            guard let (_, application, state) = try await state(number: number, now: now),
                  let invitation = OpeningInvitation.of(application, idNumber: idNumber, state: state) else { continue }
            out.append(invitation)
        }
        return out
    }

    /// Moves application `number` on (`ProgressStore.setStatus`); approval waits for every
    /// party's confirmation.
    public func setStatus(number: String, _ change: StatusChange, by: String, key: String?,
                          now: Date = Date()) async throws -> Result<ApplicationProgress, Problem> {
        if change.status == .approved, let problem = try await approvalProblem(number: number, now: now) { return .failure(problem) }
        return try await progress.setStatus(number: number, change, by: by, key: key, now: now)
    }

    /// Why application `number` may not be approved now, or nil.
    public func approvalProblem(number: String, now: Date = Date()) async throws -> Problem? {
        guard let (found, _, state) = try await state(number: number, now: now) else { return ProgressRules.notFound(number) }
        switch state.stage {
        case .complete: return nil
        case .awaiting:
            return Problem(statusCode: 409, code: "application.unconfirmed", title: "Parties have not all confirmed",
                           detail: "application \(found.registryNumber): \(state.confirmedCount) of \(state.parties.count) parties confirmed; the others have until \(ISO8601DateFormatter().string(from: state.confirmBy))")
        case .lapsed:
            return Problem(statusCode: 409, code: "application.lapsed", title: "Confirmation window closed",
                           detail: "application \(found.registryNumber): \(state.confirmedCount) of \(state.parties.count) parties confirmed before \(ISO8601DateFormatter().string(from: state.confirmBy)); the applicant applies again")
        }
    }
}

extension SQLiteRegistryStore: OpeningStore {
    static func registerOpeningMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v11-opening") { db in
            try db.execute(sql: """
                CREATE TABLE application_party (id_number TEXT NOT NULL, registry_number TEXT NOT NULL, submitted_at REAL NOT NULL,
                    PRIMARY KEY (id_number, registry_number));
                CREATE TABLE application_window (registry_number TEXT PRIMARY KEY, confirm_by REAL NOT NULL);
                CREATE TABLE party_confirmation (tracking_number TEXT NOT NULL, id_number TEXT NOT NULL, confirmed_at REAL NOT NULL,
                    kiosk_id TEXT NOT NULL, registry_number TEXT NOT NULL, face_matched INTEGER NOT NULL, PRIMARY KEY (tracking_number, id_number));
                """)
        }
    }

    /// Indexes a new application by every party it names, inside its submission's transaction.
    static func indexParties(_ item: StoredSubmission, registryNumber: String, now: Date, _ db: Database) throws {
        guard let application = item.application else { return }
        try db.execute(sql: "INSERT OR IGNORE INTO application_window (registry_number, confirm_by) VALUES (?, ?)",
                       arguments: [registryNumber, now.timeIntervalSince1970 + item.confirmationWindow])
        guard let parties = application.parties else { return }
        let at = now.timeIntervalSince1970
        for party in parties {
            try db.execute(sql: "INSERT OR IGNORE INTO application_party (id_number, registry_number, submitted_at) VALUES (?, ?, ?)",
                           arguments: [party.idNumber.uppercased(), registryNumber, at])
        }
    }

    /// Records a new confirmation inside its submission's transaction; the first of a person stands.
    static func recordConfirmation(_ item: StoredSubmission, kioskId: String, registryNumber: String, now: Date, _ db: Database) throws {
        guard let confirmation = item.partyConfirmation else { return }
        // A kiosk's clock ahead of the registry's counts as now.
        let at = min(confirmation.confirmedAt, now).timeIntervalSince1970
        try db.execute(sql: """
            INSERT OR IGNORE INTO party_confirmation (tracking_number, id_number, confirmed_at, kiosk_id, registry_number, face_matched)
            VALUES (?, ?, ?, ?, ?, ?)
            """, arguments: [confirmation.trackingNumber, confirmation.applicant.idNumber.uppercased(), at, kioskId, registryNumber,
                             confirmation.faceMatched])
    }

    public func confirmations(trackingNumber: String) async throws -> [String: Date] {
        try await queue.read { db in
            var out: [String: Date] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id_number, confirmed_at FROM party_confirmation WHERE tracking_number = ?",
                                        arguments: [trackingNumber]) {
                out[row["id_number"]] = Date(timeIntervalSince1970: row["confirmed_at"])
            }
            return out
        }
    }

    public func confirmBy(registryNumber: String) async throws -> Date? {
        try await queue.read { db in
            try Double.fetchOne(db, sql: "SELECT confirm_by FROM application_window WHERE registry_number = ?", arguments: [registryNumber])
        }.map { Date(timeIntervalSince1970: $0) }
    }

    public func openings(idNumber: String) async throws -> [String] {
        try await queue.read { db in
            try String.fetchAll(db, sql: "SELECT registry_number FROM application_party WHERE id_number = ? ORDER BY submitted_at DESC, registry_number DESC LIMIT 20",
                                arguments: [idNumber.uppercased()])
        }
    }
}
