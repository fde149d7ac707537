import Foundation
import KioskCore

/// What a natural person named in an establishment application is (one person may be several).
public enum PartyRole: String, Codable, Sendable, CaseIterable, Hashable {
    /// 投资人（股东）: holds a share.
    case investor
    /// 法定代表人: exactly one; prints the licence.
    case legalRepresentative = "legal-representative"
    /// 监事: optional; never the legal representative.
    case supervisor
    /// 联络员: exactly one.
    case contact

    /// The role's name on slips and screens.
    public var chinese: String {
        switch self {
        case .investor: return "投资人"
        case .legalRepresentative: return "法定代表人"
        case .supervisor: return "监事"
        case .contact: return "联络员"
        }
    }
}

/// A natural person named in an establishment application.
public struct ApplicationParty: Codable, Sendable, Hashable {
    /// 公民身份号码.
    public var idNumber: String
    /// 姓名.
    public var name: String
    public var roles: [PartyRole]
    /// An investor's share in hundredths of a percent (4000 is 40 %); nil for a party who invests nothing.
    public var shareBasisPoints: Int?

    public init(idNumber: String, name: String, roles: [PartyRole], shareBasisPoints: Int? = nil) {
        self.idNumber = idNumber
        self.name = name
        self.roles = roles
        self.shareBasisPoints = shareBasisPoints
    }
}

/// The rules an application's parties follow (公司登记: shares add up to 100 %, one legal
/// representative, one contact, a supervisor is not the legal representative).
public enum OpeningRules {
    /// At most this many natural persons (有限责任公司: at most 50 shareholders).
    public static let maximumParties = 50

    /// The parties of `application`: as named, or (an application naming none) the applicant in every role with all shares.
    public static func parties(of application: ApplicationSubmission) -> [ApplicationParty] {
        application.parties ?? [ApplicationParty(idNumber: application.applicant.idNumber, name: application.applicant.name,
                                                 roles: [.investor, .legalRepresentative, .contact], shareBasisPoints: 10_000)]
    }

    /// Why these parties cannot stand, or nil. `applicant` must be one of them.
    public static func problem(_ parties: [ApplicationParty], applicant: Applicant) -> String? {
        guard !parties.isEmpty, parties.count <= maximumParties else { return "parties name 1 to \(maximumParties) natural persons" }
        var seen = Set<String>()
        for (index, party) in parties.enumerated() {
            let at = "parties[\(index)]"
            guard let id = try? IDNumber(party.idNumber) else { return "\(at).idNumber is not a valid ID number" }
            guard seen.insert(id.value).inserted else { return "\(at) names \(IDNumber.mask(id.value)) a second time; list each person once" }
            let name = party.name.trimmingCharacters(in: .whitespacesAndNewlines)
            if name.isEmpty || party.name.count > 64 { return "\(at).name must hold 1 to 64 characters" }
            if party.roles.isEmpty || Set(party.roles).count != party.roles.count { return "\(at).roles names each role once, at least one" }
            let invests = party.roles.contains(.investor)
            if invests, !(1...10_000).contains(party.shareBasisPoints ?? 0) { return "\(at) is an investor: shareBasisPoints is 1 to 10000" }
            if !invests, party.shareBasisPoints != nil { return "\(at) is not an investor and holds no share" }
            if party.roles.contains(.supervisor), party.roles.contains(.legalRepresentative) {
                return "\(at): the legal representative cannot also be the supervisor"
            }
        }
        for role in [PartyRole.legalRepresentative, .contact] where parties.filter({ $0.roles.contains(role) }).count != 1 {
            return "exactly one party is the \(role.rawValue)"
        }
        let shares = parties.compactMap(\.shareBasisPoints)
        if shares.isEmpty { return "at least one party is an investor" }
        if shares.reduce(0, +) != 10_000 { return "the investors' shares add up to \(Shares.percent(shares.reduce(0, +))), not 100%" }
        guard seen.contains(applicant.idNumber.uppercased()) else { return "the applicant is one of the parties" }
        return nil
    }
}

/// A named party's confirmation (确认) of an establishment application, made at a kiosk with
/// their own card: `POST /v1/party-confirmations`. The first confirmation of a person stands.
public struct PartyConfirmation: Codable, Sendable, Hashable {
    /// The kiosk's number for this confirmation, unique per kiosk.
    public var confirmationId: String
    /// The application's tracking number (on the applicant's receipt).
    public var trackingNumber: String
    /// The confirming card holder.
    public var applicant: Applicant
    public var confirmedAt: Date
    /// Whether the holder passed the face match at the kiosk.
    public var faceMatched: Bool

    public init(confirmationId: String, trackingNumber: String, applicant: Applicant, confirmedAt: Date, faceMatched: Bool) {
        self.confirmationId = confirmationId
        self.trackingNumber = trackingNumber
        self.applicant = applicant
        self.confirmedAt = confirmedAt
        self.faceMatched = faceMatched
    }

    /// Why the registry would refuse it, or nil when it is well formed.
    public func problem() -> String? {
        if !HallNames.isTicketId(confirmationId) { return "confirmationId is not 8–64 letters, digits and '-'" }
        if !ProgressNames.isNumber(trackingNumber) { return "trackingNumber is an application's tracking number (YT-…)" }
        return applicant.problem()
    }
}

/// Where an establishment application's confirmations stand.
public enum OpeningStage: String, Codable, Sendable, Hashable {
    /// 待确认: some party has not confirmed and the window is open.
    case awaiting = "awaiting-confirmations"
    /// 已确认: every party confirmed in time; the back office may approve it.
    case complete
    /// 已失效: the window closed before every party confirmed.
    case lapsed
}

/// One party as the parties and the applicant see them: the name masked, never the ID number.
public struct PartyStanding: Codable, Sendable, Hashable {
    public var maskedName: String
    public var roles: [PartyRole]
    public var shareBasisPoints: Int?
    public var confirmedAt: Date?
    public init(maskedName: String, roles: [PartyRole], shareBasisPoints: Int?, confirmedAt: Date?) {
        self.maskedName = maskedName
        self.roles = roles
        self.shareBasisPoints = shareBasisPoints
        self.confirmedAt = confirmedAt
    }
}

/// Every party's confirmation of one application.
public struct OpeningState: Codable, Sendable, Hashable {
    public var stage: OpeningStage
    /// The end of the window.
    public var confirmBy: Date
    public var parties: [PartyStanding]
    public init(stage: OpeningStage, confirmBy: Date, parties: [PartyStanding]) {
        self.stage = stage
        self.confirmBy = confirmBy
        self.parties = parties
    }

    /// How many parties have confirmed.
    public var confirmedCount: Int { parties.filter { $0.confirmedAt != nil }.count }

    /// The state of `application` whose window ends at `confirmBy`, with the confirmations on
    /// record (ID number, upper case → when): the applicant confirms by submitting; another
    /// party's confirmation counts when made by `confirmBy`.
    public static func of(_ application: ApplicationSubmission, confirmBy: Date, confirmations: [String: Date], now: Date) -> OpeningState {
        let applicant = application.applicant.idNumber.uppercased()
        let parties = OpeningRules.parties(of: application).map { party -> PartyStanding in
            let id = party.idNumber.uppercased()
            let at = id == applicant ? application.submittedAt : confirmations[id].flatMap { $0 <= confirmBy ? $0 : nil }
            return PartyStanding(maskedName: CardIdentity.maskName(party.name), roles: party.roles, shareBasisPoints: party.shareBasisPoints,
                                 confirmedAt: at)
        }
        let stage: OpeningStage = parties.allSatisfy { $0.confirmedAt != nil } ? .complete : (now > confirmBy ? .lapsed : .awaiting)
        return OpeningState(stage: stage, confirmBy: confirmBy, parties: parties)
    }
}

/// An application that names the asking card holder, for their confirmation:
/// `POST /v1/openings/mine` answers these for `{"idNumber"}`.
public struct OpeningInvitation: Codable, Sendable, Hashable {
    public var trackingNumber: String
    public var proposedName: String
    public var type: String
    public var registeredCapital: String
    /// The applicant, masked.
    public var applicantMaskedName: String
    /// The asking person's roles and share in it.
    public var roles: [PartyRole]
    public var shareBasisPoints: Int?
    /// When the asking person's confirmation counted; nil while it has not.
    public var confirmedAt: Date?
    public var state: OpeningState

    public init(trackingNumber: String, proposedName: String, type: String, registeredCapital: String, applicantMaskedName: String,
                roles: [PartyRole], shareBasisPoints: Int?, confirmedAt: Date?, state: OpeningState) {
        self.confirmedAt = confirmedAt
        self.trackingNumber = trackingNumber
        self.proposedName = proposedName
        self.type = type
        self.registeredCapital = registeredCapital
        self.applicantMaskedName = applicantMaskedName
        self.roles = roles
        self.shareBasisPoints = shareBasisPoints
        self.state = state
    }

    /// The invitation of the person with `idNumber` to `application`, or nil when it does not name them.
    public static func of(_ application: ApplicationSubmission, idNumber: String, state: OpeningState) -> OpeningInvitation? {
        let parties = OpeningRules.parties(of: application)
        guard let index = parties.firstIndex(where: { $0.idNumber.uppercased() == idNumber.uppercased() }) else { return nil }
        let me = parties[index]
        return OpeningInvitation(trackingNumber: application.trackingNumber, proposedName: application.proposedName, type: application.type,
                                 registeredCapital: application.registeredCapital, applicantMaskedName: CardIdentity.maskName(application.applicant.name),
                                 roles: me.roles, shareBasisPoints: me.shareBasisPoints,
                                 confirmedAt: state.parties.indices.contains(index) ? state.parties[index].confirmedAt : nil, state: state)
    }
}

/// The answer to `POST /v1/openings/mine`: newest first.
public struct OpeningList: Codable, Sendable, Hashable {
    public var openings: [OpeningInvitation]
    public init(openings: [OpeningInvitation]) { self.openings = openings }
}
