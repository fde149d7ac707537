import KioskCore

// The bodies the citizen socket takes, one definition for kioskd's routes and the `kiosk`
// client. Every request that changes something carries a `requestId` (8 to 64 of A-Z a-z 0-9 -):
// the same id again is answered with the first outcome, never done twice.

/// `POST /v1/prints`: a document to print.
public struct PrintAsk: Codable, Sendable, Equatable {
    public var request: DocumentRequest
    public var requestId: String
    public init(request: DocumentRequest, requestId: String) {
        self.request = request
        self.requestId = requestId
    }
}

/// `POST /v1/tickets` (a queue number) and `POST /v1/guides/print`: a service by its code.
public struct ServiceAsk: Codable, Sendable, Equatable {
    public var serviceCode: String
    public var requestId: String
    public init(serviceCode: String, requestId: String) {
        self.serviceCode = serviceCode
        self.requestId = requestId
    }
}

/// `POST /v1/check-ins`, `/v1/pension-confirmations`, `/v1/security-card/losses`: the request id alone.
public struct RequestIdAsk: Codable, Sendable, Equatable {
    public var requestId: String
    public init(requestId: String) { self.requestId = requestId }
}

/// `POST /v1/progress`: an application by its tracking or registry number.
public struct TrackingNumberAsk: Codable, Sendable, Equatable {
    public var trackingNumber: String
    public init(trackingNumber: String) { self.trackingNumber = trackingNumber }
}

/// `POST /v1/progress/print` and `POST /v1/openings/confirmations`: an application, and the request id.
public struct TrackedRequestAsk: Codable, Sendable, Equatable {
    public var trackingNumber: String
    public var requestId: String
    public init(trackingNumber: String, requestId: String) {
        self.trackingNumber = trackingNumber
        self.requestId = requestId
    }
}

/// `POST /v1/deliveries`: a document posted to an address instead of printed.
public struct DeliveryAsk: Codable, Sendable, Equatable {
    public var request: DocumentRequest
    public var address: DeliveryAddress
    public var requestId: String
    public init(request: DocumentRequest, address: DeliveryAddress, requestId: String) {
        self.request = request
        self.address = address
        self.requestId = requestId
    }
}

/// `POST /v1/name-checks`: a proposed enterprise name.
public struct NameCheckAsk: Codable, Sendable, Equatable {
    public var proposedName: String
    public init(proposedName: String) { self.proposedName = proposedName }
}
