import Crypto
import Foundation
import KioskCore

/// What a kiosk submits to the registry. The raw value is both the path under `/v1`
/// (`POST /v1/applications`) and the name of the outbox stream that carries it.
public enum SubmissionKind: String, Codable, Sendable, CaseIterable, Hashable {
    /// An enterprise establishment pre-application (`ApplicationSubmission`).
    case applications
    /// A 好差评 rating (`RatingRecord`).
    case ratings
    /// A record of a printed document (`PrintRecord`).
    case printRecords = "print-records"
    /// A kiosk heartbeat (`Heartbeat`).
    case heartbeats
    /// A queue ticket the kiosk printed (`TicketReport`).
    case tickets
    /// A document to be posted instead of printed (`DeliveryRequest`).
    case deliveries
    /// A retiree's yearly entitlement confirmation (`PensionConfirmation`).
    case pensionConfirmations = "pension-confirmations"
    /// A lost social security card (`CardLossReport`).
    case cardLosses = "card-losses"
    /// A named party's confirmation of an establishment application (`PartyConfirmation`).
    case partyConfirmations = "party-confirmations"
}

/// The applicant of an application: the card holder of the session, only what the registry needs.
public struct Applicant: Codable, Sendable, Hashable {
    /// 公民身份号码.
    public var idNumber: String
    /// 姓名.
    public var name: String
    public init(idNumber: String, name: String) { self.idNumber = idNumber; self.name = name }
}

/// An enterprise establishment pre-application as the registry receives it.
public struct ApplicationSubmission: Codable, Sendable, Hashable {
    /// The kiosk's tracking number, `YT-<kiosk>-YYYYMMDD-NNNNNN`, printed on the citizen's receipt.
    public var trackingNumber: String
    public var applicant: Applicant
    public var proposedName: String
    /// 企业类型.
    public var type: String
    public var registeredCapital: String
    public var address: String
    public var businessScope: String
    /// When the citizen submitted it at the kiosk (ISO 8601).
    public var submittedAt: Date
    /// Where the result is posted; nil: collected at the hall.
    public var delivery: DeliveryAddress?
    /// The natural persons named (investors, legal representative, supervisor, contact), the
    /// applicant among them; nil: the applicant alone, in every role.
    public var parties: [ApplicationParty]?

    public init(trackingNumber: String, applicant: Applicant, proposedName: String, type: String,
                registeredCapital: String, address: String, businessScope: String, submittedAt: Date, delivery: DeliveryAddress? = nil,
                parties: [ApplicationParty]? = nil) {
        self.delivery = delivery
        self.parties = parties
        self.trackingNumber = trackingNumber
        self.applicant = applicant
        self.proposedName = proposedName
        self.type = type
        self.registeredCapital = registeredCapital
        self.address = address
        self.businessScope = businessScope
        self.submittedAt = submittedAt
    }

    /// Why the registry would refuse it, or nil when it is well formed.
    public func problem() -> String? {
        if trackingNumber.isEmpty || trackingNumber.count > 64 { return "trackingNumber must hold 1 to 64 characters" }
        if let problem = applicant.problem() { return problem }
        if let (field, why) = delivery?.problem() { return "delivery.\(field): \(why)" }
        if let parties, let problem = OpeningRules.problem(parties, applicant: applicant) { return problem }
        for (field, value, limit) in [("proposedName", proposedName, 100),
                                      ("type", type, 64), ("registeredCapital", registeredCapital, 64),
                                      ("address", address, 200), ("businessScope", businessScope, 2000)] {
            let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty || value.count > limit { return "\(field) must hold 1 to \(limit) characters" }
        }
        return nil
    }
}

/// A 好差评 rating: five levels, an optional reason, the service item, one per visit.
public struct RatingRecord: Codable, Sendable, Hashable {
    /// The visit (session) rated; the registry keeps one rating per kiosk and visit.
    public var visitId: String
    /// 1 (非常不满意) to 5 (非常满意).
    public var level: Int
    public var reason: String?
    /// The service item rated.
    public var serviceCode: String
    /// The evaluation form's version.
    public var formVersion: Int
    public var ratedAt: Date

    public init(visitId: String, level: Int, reason: String?, serviceCode: String, formVersion: Int, ratedAt: Date) {
        self.visitId = visitId
        self.level = level
        self.reason = reason
        self.serviceCode = serviceCode
        self.formVersion = formVersion
        self.ratedAt = ratedAt
    }

    /// Why the registry would refuse it, or nil when it is well formed.
    public func problem() -> String? {
        if !(1...5).contains(level) { return "level must be 1 to 5" }
        if visitId.isEmpty || visitId.count > 64 { return "visitId must hold 1 to 64 characters" }
        if serviceCode.isEmpty || serviceCode.count > 64 { return "serviceCode must hold 1 to 64 characters" }
        if let reason, reason.count > 500 { return "reason holds at most 500 characters" }
        return nil
    }
}

/// A printed (or failed) document, without the card holder's identity.
public struct PrintRecord: Codable, Sendable, Hashable {
    /// The visit it belongs to.
    public var visitId: String
    /// `business-licence`, `archive-extract`, `social-insurance-certificate`, `application-receipt`.
    public var documentKind: String
    /// The enterprise, for enterprise documents.
    public var uscc: String?
    /// The code printed on the document for verification.
    public var verificationCode: String?
    /// `completed`, `failed` or `uncertain`.
    public var outcome: String
    public var pages: Int
    public var printedAt: Date
    /// For a printed document with a code: what it says, so a verifier can see what was printed.
    public var verification: VerificationRecord?

    public init(visitId: String, documentKind: String, uscc: String?, verificationCode: String?, outcome: String,
                pages: Int, printedAt: Date, verification: VerificationRecord? = nil) {
        self.visitId = visitId
        self.documentKind = documentKind
        self.uscc = uscc
        self.verificationCode = verificationCode
        self.outcome = outcome
        self.pages = pages
        self.printedAt = printedAt
        self.verification = verification
    }

    /// Why the registry would refuse it, or nil when it is well formed.
    public func problem() -> String? {
        if !["completed", "failed", "uncertain"].contains(outcome) { return "outcome must be completed, failed or uncertain" }
        if documentKind.isEmpty || documentKind.count > 64 { return "documentKind must hold 1 to 64 characters" }
        if visitId.isEmpty || visitId.count > 64 { return "visitId must hold 1 to 64 characters" }
        if !(0...10_000).contains(pages) { return "pages must be 0 to 10000" }
        if let verification {
            if let problem = verification.problem() { return "verification.\(problem)" }
            guard verificationCode.flatMap(VerificationRecord.recordKey(code:)) == VerificationRecord.recordKey(code: verification.code) else {
                return "verification.code must be the document's verificationCode"
            }
        }
        return nil
    }
}

/// What a printed document with a verification code says: its kind and canonical fields (the
/// ones the code's signature covers, in order) and their SHA-256. Kept by the registry per code
/// and answered to anyone holding the code (`GET /v1/verifications/{code}`).
public struct VerificationRecord: Codable, Sendable, Hashable {
    /// The code as printed (Crockford base32 in groups).
    public var code: String
    /// The document kind, e.g. `business-licence`.
    public var kind: String
    /// `[name, value]` pairs in the document's canonical order.
    public var fields: [[String]]
    /// Lower-case hex SHA-256 of the canonical text.
    public var sha256: String

    public init(code: String, kind: String, fields: [[String]], sha256: String) {
        self.code = code
        self.kind = kind
        self.fields = fields
        self.sha256 = sha256
    }

    /// A code is 80 bytes: key id (4), minutes (4), digest (8), signature (64).
    public static let codeBytes = 80

    /// The registry's key for a code: its first 16 bytes (key id, minutes, digest) as hex, or nil
    /// when the text is not a code.
    public static func recordKey(code: String) -> String? {
        var text = code.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.uppercased().hasPrefix("YTJ2:") { text = String(text.dropFirst(5)) }
        guard text.utf8.count <= 200, case .success(let bytes) = CrockfordBase32.decode(text), bytes.count == codeBytes else { return nil }
        return bytes.prefix(16).hexString
    }

    /// Why it is malformed, or nil.
    public func problem() -> String? {
        if Self.recordKey(code: code) == nil { return "code is not a verification code" }
        if kind.isEmpty || kind.count > 64 { return "kind must hold 1 to 64 characters" }
        if fields.count > 200 || fields.contains(where: { $0.count != 2 || $0[0].isEmpty || $0[0].count > 64 || $0[1].count > 4000 }) {
            return "fields must be at most 200 [name, value] pairs (names up to 64, values up to 4000 characters)"
        }
        if sha256.count != 64 || !sha256.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) { return "sha256 must be 64 lower-case hex digits" }
        return nil
    }
}

/// The registry's answer about a verification code: what was printed, by which kiosk, when
/// the registry recorded it.
public struct VerificationAnswer: Codable, Sendable, Hashable {
    public var record: VerificationRecord
    public var kioskId: String
    public var recordedAt: Date
    /// The document keys that kiosk registered under the code's key id: what any verifier checks
    /// the code's signature with.
    public var documentKeys: [RegisteredDocumentKey]?

    public init(record: VerificationRecord, kioskId: String, recordedAt: Date, documentKeys: [RegisteredDocumentKey]? = nil) {
        self.record = record
        self.kioskId = kioskId
        self.recordedAt = recordedAt
        self.documentKeys = documentKeys
    }
}

/// A kiosk's document-signing public key as the registry holds it (`PUT /v1/document-keys`
/// registers one, `GET /v1/document-keys/{keyId}` lists them).
public struct RegisteredDocumentKey: Codable, Sendable, Hashable {
    /// Hex of the key id verification codes carry: the first 4 bytes of SHA-256 over the raw key.
    public var keyId: String
    /// Base64 of the raw 32-byte Ed25519 public key.
    public var publicKey: String
    public var kioskId: String
    public var registeredAt: Date

    public init(keyId: String, publicKey: String, kioskId: String, registeredAt: Date) {
        self.keyId = keyId
        self.publicKey = publicKey
        self.kioskId = kioskId
        self.registeredAt = registeredAt
    }

    /// The key id of a raw Ed25519 public key, in hex.
    public static func keyId(of rawPublicKey: Data) -> String {
        SHA256.hash(data: rawPublicKey).prefix(4).hexString
    }

    /// Whether `text` is a key id: 8 lower-case hex digits.
    public static func isKeyId(_ text: String) -> Bool {
        text.utf8.count == 8 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}

/// A kiosk's periodic heartbeat.
public struct Heartbeat: Codable, Sendable, Hashable {
    /// Device states by device, e.g. `["reader": "ok", "printer.a4": "nopaper"]`.
    public var deviceStatus: [String: String]
    /// Items waiting in the kiosk's outbox.
    public var outboxDepth: Int
    /// The configuration version the kiosk runs.
    public var configVersion: String
    public var sentAt: Date

    public init(deviceStatus: [String: String], outboxDepth: Int, configVersion: String, sentAt: Date) {
        self.deviceStatus = deviceStatus
        self.outboxDepth = outboxDepth
        self.configVersion = configVersion
        self.sentAt = sentAt
    }

    /// Why the registry would refuse it, or nil when it is well formed.
    public func problem() -> String? {
        if outboxDepth < 0 { return "outboxDepth must not be negative" }
        if deviceStatus.count > 64 { return "deviceStatus holds at most 64 devices" }
        if configVersion.count > 64 { return "configVersion holds at most 64 characters" }
        // Shown on an operator's terminal (`registryd kiosk status`): plain text only.
        if !PlainText.isPlain(configVersion) { return "configVersion holds no control characters" }
        if let bad = deviceStatus.first(where: { !(1...64).contains($0.key.count) || !(1...64).contains($0.value.count)
                                                   || !PlainText.isPlain($0.key) || !PlainText.isPlain($0.value) }) {
            return "deviceStatus '\(PlainText.printable(String(bad.key.prefix(64))))': a device and its state are 1 to 64 characters, no control characters"
        }
        return nil
    }
}

/// The registry's answer to an accepted submission.
public struct SubmissionReceipt: Codable, Sendable, Hashable {
    public var kind: SubmissionKind
    /// The registry's number for it, e.g. `SQ-20261123-000042` for an application.
    public var registryNumber: String
    public var receivedAt: Date

    public init(kind: SubmissionKind, registryNumber: String, receivedAt: Date) {
        self.kind = kind
        self.registryNumber = registryNumber
        self.receivedAt = receivedAt
    }
}

/// One item of a batch submission (`POST /v1/submissions`).
public struct BatchItem: Codable, Sendable, Hashable {
    public var kind: SubmissionKind
    public var idempotencyKey: String
    /// The submission's JSON body, exactly as it would be posted alone.
    public var body: Data

    public init(kind: SubmissionKind, idempotencyKey: String, body: Data) {
        self.kind = kind
        self.idempotencyKey = idempotencyKey
        self.body = body
    }
}

/// A batch of submissions, processed in order.
public struct BatchRequest: Codable, Sendable, Hashable {
    public var items: [BatchItem]
    public init(items: [BatchItem]) { self.items = items }
}

/// The outcome of one batch item: a receipt, a problem, or nil for both when the item was not
/// attempted because an earlier item of the batch must be retried first.
public struct BatchResult: Codable, Sendable, Hashable {
    public var idempotencyKey: String
    public var receipt: SubmissionReceipt?
    public var problem: Problem?

    public init(idempotencyKey: String, receipt: SubmissionReceipt?, problem: Problem?) {
        self.idempotencyKey = idempotencyKey
        self.receipt = receipt
        self.problem = problem
    }
}

/// The answer to a batch, one result per item, in order.
public struct BatchResponse: Codable, Sendable, Hashable {
    public var results: [BatchResult]
    public init(results: [BatchResult]) { self.results = results }
}

/// What a print authorisation asks about.
public enum PrintKind: String, Codable, Sendable, CaseIterable {
    /// 营业执照.
    case businessLicence = "business-licence"
    /// The enterprise's full registration archive.
    case archive
}

/// A granted print authorisation (a refusal is a 403 problem `print.not-entitled`).
public struct PrintAuthorization: Codable, Sendable, Hashable {
    public var allowed: Bool
    public var kind: PrintKind
    public var uscc: String
    public init(allowed: Bool, kind: PrintKind, uscc: String) { self.allowed = allowed; self.kind = kind; self.uscc = uscc }
}

/// `GET /v1/health`: the registry is up, and its clock.
public struct HealthStatus: Codable, Sendable, Hashable {
    /// Whether the registry can answer: `ok`, or `store-unavailable` (its database does not answer).
    public enum Condition: String, Codable, Sendable, Hashable {
        case ok
        case storeUnavailable = "store-unavailable"
    }

    public var status: Condition
    public var serverTime: Date
    public var version: String
    public init(status: Condition, serverTime: Date, version: String) {
        self.status = status
        self.serverTime = serverTime
        self.version = version
    }
}

/// The public part of an enterprise's archive: the licence record, status and events, never
/// the legal representative's ID number. Safe to cache.
public struct PublicArchive: Codable, Sendable, Hashable {
    public var enterprise: Enterprise
    public var status: String
    public var archive: [ArchiveEvent]

    public init(enterprise: Enterprise, status: String, archive: [ArchiveEvent]) {
        self.enterprise = enterprise
        self.status = status
        self.archive = archive
    }

    /// The public part of `record`.
    public init(_ record: EnterpriseRecord) {
        self.init(enterprise: record.enterprise, status: record.status, archive: record.archive)
    }

    enum CodingKeys: String, CodingKey { case status, archive }

    public init(from decoder: any Decoder) throws {
        enterprise = try Enterprise(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        status = try c.decode(String.self, forKey: .status)
        archive = try c.decodeIfPresent([ArchiveEvent].self, forKey: .archive) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        try enterprise.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(status, forKey: .status)
        try c.encode(archive, forKey: .archive)
    }
}

/// One search hit: the public licence record and the enterprise's status (存续, 注销, ...),
/// encoded flat, as the licence object plus `status`.
public struct EnterpriseListing: Codable, Sendable, Hashable {
    public var enterprise: Enterprise
    /// Empty when the registry did not say.
    public var status: String

    public init(enterprise: Enterprise, status: String) {
        self.enterprise = enterprise
        self.status = status
    }

    /// The listing of `record`, without its private fields.
    public init(_ record: EnterpriseRecord) { self.init(enterprise: record.enterprise, status: record.status) }

    enum CodingKeys: String, CodingKey { case status }

    public init(from decoder: any Decoder) throws {
        enterprise = try Enterprise(from: decoder)
        status = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(String.self, forKey: .status) ?? ""
    }

    public func encode(to encoder: any Encoder) throws {
        try enterprise.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(status, forKey: .status)
    }
}

/// The search answer: `{"enterprises": [...]}`.
public struct EnterpriseList: Codable, Sendable, Hashable {
    public var enterprises: [EnterpriseListing]
    public init(enterprises: [EnterpriseListing]) { self.enterprises = enterprises }
}

/// The JSON coders both ends use: ISO 8601 dates, sorted keys.
public enum RegistryJSON {
    /// An encoder with ISO 8601 dates and sorted keys (stable bytes for idempotency).
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }

    /// A decoder with ISO 8601 dates.
    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }
}
