import Foundation
import KioskCore

/// The outbox's `deliveries` stream: a document the citizen asked to have posted instead of
/// printing it at the kiosk (the hall prints and posts it).
public struct DeliveryRequest: Codable, Sendable, Hashable {
    /// The kiosk's id for it, on the receipt.
    public var deliveryId: String
    /// The kiosk's site: the hall that posts it.
    public var site: String
    /// The document, e.g. `social-insurance-certificate`.
    public var documentKind: String
    /// Whose document it is: the card holder of the session.
    public var applicant: Applicant
    public var address: DeliveryAddress
    public var requestedAt: Date

    public init(deliveryId: String, site: String, documentKind: String, applicant: Applicant, address: DeliveryAddress, requestedAt: Date) {
        self.deliveryId = deliveryId
        self.site = site
        self.documentKind = documentKind
        self.applicant = applicant
        self.address = address
        self.requestedAt = requestedAt
    }

    /// Why the registry would refuse it, or nil.
    public func problem() -> String? {
        if let problem = HallNames.problem(ticketId: ("deliveryId", deliveryId), site: site) { return problem }
        if !["social-insurance-certificate", "business-licence"].contains(documentKind) { return "documentKind \(documentKind.prefix(40)) is not posted" }
        if let problem = applicant.problem() { return problem }
        if let (field, why) = address.problem() { return "address.\(field): \(why)" }
        return nil
    }
}

/// A delivery as the hall staff see it, to hand the envelope to the courier.
public struct DeliveryRecord: Codable, Sendable, Hashable {
    /// What is posted.
    public enum Kind: String, Codable, Sendable { case application, certificate }
    /// Where it stands.
    public enum Status: String, Codable, Sendable, CaseIterable { case pending, posted }

    /// The application's tracking number, or the certificate request's id.
    public var deliveryId: String
    public var kind: Kind
    /// The registry's number of the application, or the document kind of a certificate.
    public var reference: String
    public var site: String
    public var address: DeliveryAddress
    public var status: Status
    public var createdAt: Date
    public var postedAt: Date?
    public var postedBy: String?

    public init(deliveryId: String, kind: Kind, reference: String, site: String, address: DeliveryAddress, status: Status, createdAt: Date,
                postedAt: Date? = nil, postedBy: String? = nil) {
        self.deliveryId = deliveryId
        self.kind = kind
        self.reference = reference
        self.site = site
        self.address = address
        self.status = status
        self.createdAt = createdAt
        self.postedAt = postedAt
        self.postedBy = postedBy
    }
}

/// `GET /v1/deliveries?site=…&status=…`.
public struct DeliveryList: Codable, Sendable, Hashable {
    public var deliveries: [DeliveryRecord]
    public init(deliveries: [DeliveryRecord]) { self.deliveries = deliveries }
}
