import KioskCore

/// A natural person named in an establishment application, as the form enters them.
public struct PartyEntry: Codable, Sendable, Equatable {
    /// nil: the card holder (kioskd fills in the card's number and name).
    public var idNumber: String?
    public var name: String?
    /// `investor`, `legal-representative`, `supervisor`, `contact`.
    public var roles: [String]
    /// An investor's share in hundredths of a percent (4000 is 40 %).
    public var shareBasisPoints: Int?

    public init(idNumber: String?, name: String?, roles: [String], shareBasisPoints: Int?) {
        self.idNumber = idNumber
        self.name = name
        self.roles = roles
        self.shareBasisPoints = shareBasisPoints
    }
}

/// One party of an application as others see them: the name masked.
public struct PartyStandingView: Codable, Sendable, Equatable {
    public var maskedName: String
    public var roles: [String]
    public var shareBasisPoints: Int?
    public var confirmed: Bool

    public init(maskedName: String, roles: [String], shareBasisPoints: Int?, confirmed: Bool) {
        self.maskedName = maskedName
        self.roles = roles
        self.shareBasisPoints = shareBasisPoints
        self.confirmed = confirmed
    }
}

/// An establishment application that names the card holder, for their confirmation.
public struct OpeningView: Codable, Sendable, Equatable {
    public var trackingNumber: String
    public var proposedName: String
    public var type: String
    public var registeredCapital: String
    public var applicantMaskedName: String
    /// The holder's roles and share in it.
    public var roles: [String]
    public var shareBasisPoints: Int?
    /// `awaiting-confirmations`, `complete`, `lapsed`; `undelivered` while still in this kiosk's outbox.
    public var stage: String
    /// The end of the window, `yyyy-MM-dd HH:mm`; nil until the registry has the application.
    public var confirmBy: String?
    public var parties: [PartyStandingView]
    /// Whether the holder's confirmation is on record (or queued here).
    public var confirmedByMe: Bool

    public init(trackingNumber: String, proposedName: String, type: String, registeredCapital: String, applicantMaskedName: String,
                roles: [String], shareBasisPoints: Int?, stage: String, confirmBy: String?, parties: [PartyStandingView], confirmedByMe: Bool) {
        self.trackingNumber = trackingNumber
        self.proposedName = proposedName
        self.type = type
        self.registeredCapital = registeredCapital
        self.applicantMaskedName = applicantMaskedName
        self.roles = roles
        self.shareBasisPoints = shareBasisPoints
        self.stage = stage
        self.confirmBy = confirmBy
        self.parties = parties
        self.confirmedByMe = confirmedByMe
    }
}

/// The applications naming the card holder; `offline` when the registry could not be asked
/// (only those still in this kiosk's outbox are listed then).
public struct OpeningListView: Codable, Sendable, Equatable {
    public var openings: [OpeningView]
    public var offline: Bool
    public init(openings: [OpeningView], offline: Bool) { self.openings = openings; self.offline = offline }
}

/// A party's confirmation, for the screen.
public struct OpeningConfirmationView: Codable, Sendable, Equatable {
    /// `confirmed` (on record now), `queued` (counted when it reaches the registry) or `already`.
    public var outcome: String
    public var messageKey: String
    public var trackingNumber: String
    /// After this confirmation, when the registry answered: how many of how many, and the stage.
    public var confirmedCount: Int?
    public var partyCount: Int?
    public var stage: String?
    public var slipPrinted: Bool

    public init(outcome: String, messageKey: String, trackingNumber: String, confirmedCount: Int? = nil, partyCount: Int? = nil,
                stage: String? = nil, slipPrinted: Bool = false) {
        self.outcome = outcome
        self.messageKey = messageKey
        self.trackingNumber = trackingNumber
        self.confirmedCount = confirmedCount
        self.partyCount = partyCount
        self.stage = stage
        self.slipPrinted = slipPrinted
    }
}
