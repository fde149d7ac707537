import Foundation
import KioskCore

/// A report that the card holder's social security card is lost (社会保障卡挂失): the card stops
/// working from the moment the registry records it.
public struct CardLossReport: Codable, Sendable, Hashable {
    /// The kiosk's id for it, on the receipt (a request id).
    public var reportId: String
    /// The card holder of the session, after a face match.
    public var applicant: Applicant
    /// The social security card's number as the holder confirmed it; nil (reported while the
    /// registry was unreachable): the holder's current card.
    public var cardNumber: String?
    public var reportedAt: Date

    public init(reportId: String, applicant: Applicant, cardNumber: String?, reportedAt: Date) {
        self.reportId = reportId
        self.applicant = applicant
        self.cardNumber = cardNumber
        self.reportedAt = reportedAt
    }

    /// Why the registry would refuse it, or nil.
    public func problem() -> String? {
        if !HallNames.isTicketId(reportId) { return "reportId is not 8–64 letters, digits and '-'" }
        if let problem = applicant.problem() { return problem }
        if let cardNumber, !SecurityCard.isNumber(cardNumber) { return "cardNumber is not a social security card number (9 capitals and digits)" }
        return nil
    }
}

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
        if let problem = applicant.problem() { return problem }
        if !(2000...2100).contains(year) { return "year \(year) is not a confirmation year" }
        if liveness != "blink" { return "liveness \(liveness.prefix(20)) is not a liveness step the registry accepts (blink)" }
        return nil
    }
}

extension Applicant {
    /// Why the registry would refuse this card holder's ID number or name, or nil: the one rule for
    /// every submission that names a person.
    public func problem() -> String? {
        if (try? IDNumber(idNumber)) == nil { return "applicant.idNumber is not a valid ID number" }
        if name.trimmingCharacters(in: .whitespaces).isEmpty || name.count > 64 { return "applicant.name must hold 1 to 64 characters" }
        return nil
    }
}
