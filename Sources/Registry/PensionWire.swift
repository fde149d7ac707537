import Foundation
import KioskCore

/// A retiree's yearly entitlement confirmation (养老保险待遇领取资格认证, 生存认证) as the kiosk
/// sends it: the card holder passed the face match with a blink at a kiosk.
public struct PensionConfirmation: Codable, Sendable, Hashable {
    /// The kiosk's id for it, on the slip (a request id).
    public var confirmationId: String
    /// The retiree: the card holder of the session.
    public var applicant: Applicant
    /// The year confirmed (China time).
    public var year: Int
    public var confirmedAt: Date
    /// The liveness step the verifier asked for (`blink`).
    public var liveness: String

    public init(confirmationId: String, applicant: Applicant, year: Int, confirmedAt: Date, liveness: String) {
        self.confirmationId = confirmationId
        self.applicant = applicant
        self.year = year
        self.confirmedAt = confirmedAt
        self.liveness = liveness
    }

    /// Why the registry would refuse it, or nil.
    public func problem() -> String? {
        if !HallNames.isTicketId(confirmationId) { return "confirmationId is not 8–64 letters, digits and '-'" }
        if (try? IDNumber(applicant.idNumber)) == nil { return "applicant.idNumber is not a valid ID number" }
        if applicant.name.trimmingCharacters(in: .whitespaces).isEmpty || applicant.name.count > 60 { return "applicant.name must be 1–60 characters" }
        if !(2000...2100).contains(year) { return "year \(year) is not a confirmation year" }
        if liveness != "blink" { return "liveness \(liveness.prefix(20)) is not a liveness step the registry accepts (blink)" }
        return nil
    }
}
