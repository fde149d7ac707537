import Foundation
import KioskCore

/// Where an application stands at the registry (办件状态).
public enum ApplicationStatus: String, Codable, Sendable, CaseIterable {
    /// 已受理: received, not yet looked at.
    case received
    /// 审核中.
    case underReview = "under-review"
    /// 需补正材料: the note says what to bring.
    case moreMaterials = "more-materials"
    /// 已办结（准予）.
    case approved
    /// 不予受理/不予许可: the note says why.
    case refused

    /// Whether a change to this status must say what or why.
    public var needsNote: Bool { self == .moreMaterials || self == .refused }
}

/// One step of an application's history.
public struct StatusEntry: Codable, Sendable, Hashable {
    public var status: ApplicationStatus
    /// What to bring (more materials) or why (refused).
    public var note: String?
    public var at: Date
    public init(status: ApplicationStatus, note: String?, at: Date) { self.status = status; self.note = note; self.at = at }
}

/// An application's progress as a kiosk shows it: no applicant data, only what it is and where it stands.
public struct ApplicationProgress: Codable, Sendable, Hashable {
    /// The kiosk's tracking number, on the citizen's receipt.
    public var trackingNumber: String
    /// The registry's number.
    public var registryNumber: String
    /// 拟设企业名称 of an establishment pre-application.
    public var proposedName: String
    public var submittedAt: Date
    /// The current status (the last of the history).
    public var status: ApplicationStatus
    /// Oldest first; the first is `received`.
    public var history: [StatusEntry]
    /// Every named party's confirmation (nil from a registry that does not keep them).
    public var opening: OpeningState?

    public init(trackingNumber: String, registryNumber: String, proposedName: String, submittedAt: Date, status: ApplicationStatus,
                history: [StatusEntry], opening: OpeningState? = nil) {
        self.opening = opening
        self.trackingNumber = trackingNumber
        self.registryNumber = registryNumber
        self.proposedName = proposedName
        self.submittedAt = submittedAt
        self.status = status
        self.history = history
    }
}

/// `POST /v1/applications/{number}/status`: the back office moves an application on.
public struct StatusChange: Codable, Sendable, Hashable {
    public var status: ApplicationStatus
    public var note: String?
    public init(status: ApplicationStatus, note: String?) { self.status = status; self.note = note }

    /// Why the registry would refuse it, or nil when it is well formed.
    public func problem() -> String? {
        let text = (note ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        if status.needsNote, text.isEmpty { return "a \(status.rawValue) status says \(status == .refused ? "why" : "what to bring") in note" }
        if text.count > 500 { return "note holds at most 500 characters" }
        if status == .received { return "received is where every application starts; it cannot be set" }
        return nil
    }
}

/// The answer to a progress query by person.
public struct ProgressList: Codable, Sendable, Hashable {
    public var applications: [ApplicationProgress]
    public init(applications: [ApplicationProgress]) { self.applications = applications }
}

public enum ProgressNames {
    /// A tracking number as kiosks make them (`YT-<kiosk>-YYYYMMDD-NNNNNN`) or a registry number
    /// (`SQ-YYYYMMDD-NNNNNNNN`): 6 to 80 of A-Z a-z 0-9 . _ -.
    public static func isNumber(_ text: String) -> Bool {
        (6...80).contains(text.utf8.count)
            && text.utf8.allSatisfy { (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 45 || $0 == 46 || $0 == 95 }
    }
}
