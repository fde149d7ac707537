import Foundation

/// Sex as the cards code it (GB/T 2261.1).
public enum Sex: String, Sendable, Codable, CaseIterable {
    case unknown, male, female, unspecified

    /// From the card's code: 0 unknown, 1 male, 2 female, 9 unspecified; nil for anything else.
    public init?(code: String) {
        switch code {
        case "0": self = .unknown
        case "1": self = .male
        case "2": self = .female
        case "9": self = .unspecified
        default: return nil
        }
    }

    /// The card's code for this value.
    public var code: String {
        switch self {
        case .unknown: return "0"
        case .male: return "1"
        case .female: return "2"
        case .unspecified: return "9"
        }
    }
}

/// The four kinds of card a reader can read.
public enum CardKind: String, Sendable, Codable, CaseIterable {
    /// 居民身份证, the resident ID card.
    case resident
    /// 港澳台居民居住证, the Hong Kong / Macao / Taiwan residence permit.
    case hkMacaoTaiwan
    /// 外国人永久居留身份证, 2017 edition.
    case foreigner2017
    /// 外国人永久居留身份证, 2023 edition.
    case foreigner2023
}

/// The identity printed on a card, as the reader's text block carries it.
///
/// Personal data: a value of this type lives for one session only and is never logged;
/// `description` is masked.
public struct CardIdentity: Sendable, Equatable, Codable, CustomStringConvertible {
    public var cardType: CardKind
    /// The Chinese name, where the card has one.
    public var name: String?
    /// The English name (foreigner cards).
    public var englishName: String?
    public var sex: Sex
    /// The ethnicity's name, e.g. 汉 (resident cards).
    public var ethnicity: String?
    public var birthDate: CalendarDate
    public var address: String?
    /// The ID number, permit number or card number.
    public var idNumber: String
    /// The issuing authority (or its code on 2017 foreigner cards).
    public var issuer: String?
    public var validFrom: CalendarDate
    /// nil for 长期 (no end date).
    public var validUntil: CalendarDate?
    /// ISO 3166 alpha-3 (foreigner cards).
    public var nationality: String?
    /// The travel permit number (HK/Macao/Taiwan permits).
    public var passNumber: String?
    /// How many times the permit was issued (HK/Macao/Taiwan permits).
    public var issueCount: Int?
    /// The card version (2017 foreigner cards).
    public var cardVersion: String?
    /// How many times the card was renewed (2023 foreigner cards).
    public var renewalCount: Int?
    /// The earlier 15-character card number (2023 foreigner cards), when linked.
    public var previousNumber: String?

    public init(cardType: CardKind, name: String? = nil, englishName: String? = nil, sex: Sex,
                ethnicity: String? = nil, birthDate: CalendarDate, address: String? = nil,
                idNumber: String, issuer: String? = nil, validFrom: CalendarDate,
                validUntil: CalendarDate?, nationality: String? = nil, passNumber: String? = nil,
                issueCount: Int? = nil, cardVersion: String? = nil, renewalCount: Int? = nil,
                previousNumber: String? = nil) {
        self.cardType = cardType
        self.name = name
        self.englishName = englishName
        self.sex = sex
        self.ethnicity = ethnicity
        self.birthDate = birthDate
        self.address = address
        self.idNumber = idNumber
        self.issuer = issuer
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.nationality = nationality
        self.passNumber = passNumber
        self.issueCount = issueCount
        self.cardVersion = cardVersion
        self.renewalCount = renewalCount
        self.previousNumber = previousNumber
    }

    /// The name to greet the holder with: the Chinese name, else the English one.
    public var displayName: String { name ?? englishName ?? "" }

    /// The name masked as screens show it: 张*, 欧阳**, or J*** for English names.
    public var maskedName: String { CardIdentity.maskName(displayName) }

    /// The ID number masked: 441900********1234.
    public var maskedIDNumber: String { IDNumber.mask(idNumber) }

    /// Masks a name: keeps the first character.
    public static func maskName(_ name: String) -> String {
        guard let first = name.first else { return "" }
        return String(first) + String(repeating: "*", count: max(1, name.count - 1))
    }

    /// True when the card's validity has ended before `today`.
    public func isExpired(today: CalendarDate = .today()) -> Bool {
        guard let until = validUntil else { return false }
        return until < today
    }

    /// Masked: never prints personal data in clear.
    public var description: String {
        "\(cardType.rawValue) card of \(maskedName), \(maskedIDNumber)"
    }

    private enum CodingKeys: String, CodingKey {
        case cardType, name, englishName, sex, ethnicity, birthDate, address, idNumber, issuer,
             validFrom, validUntil, nationality, passNumber, issueCount, cardVersion, renewalCount,
             previousNumber
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        cardType = try c.decode(CardKind.self, forKey: .cardType)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        englishName = try c.decodeIfPresent(String.self, forKey: .englishName)
        sex = try c.decode(Sex.self, forKey: .sex)
        ethnicity = try c.decodeIfPresent(String.self, forKey: .ethnicity)
        birthDate = try c.decode(CalendarDate.self, forKey: .birthDate)
        address = try c.decodeIfPresent(String.self, forKey: .address)
        idNumber = try c.decode(String.self, forKey: .idNumber)
        issuer = try c.decodeIfPresent(String.self, forKey: .issuer)
        validFrom = try c.decode(CalendarDate.self, forKey: .validFrom)
        validUntil = try c.decodeIfPresent(CalendarDate.self, forKey: .validUntil)
        nationality = try c.decodeIfPresent(String.self, forKey: .nationality)
        passNumber = try c.decodeIfPresent(String.self, forKey: .passNumber)
        issueCount = try c.decodeIfPresent(Int.self, forKey: .issueCount)
        cardVersion = try c.decodeIfPresent(String.self, forKey: .cardVersion)
        renewalCount = try c.decodeIfPresent(Int.self, forKey: .renewalCount)
        previousNumber = try c.decodeIfPresent(String.self, forKey: .previousNumber)
    }

    /// The card JSON contract: every field the kind has; `validUntil` is an explicit null for 长期.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(cardType, forKey: .cardType)
        try c.encodeIfPresent(name, forKey: .name)
        try c.encodeIfPresent(englishName, forKey: .englishName)
        try c.encode(sex, forKey: .sex)
        try c.encodeIfPresent(ethnicity, forKey: .ethnicity)
        try c.encode(birthDate, forKey: .birthDate)
        try c.encodeIfPresent(address, forKey: .address)
        try c.encode(idNumber, forKey: .idNumber)
        try c.encodeIfPresent(issuer, forKey: .issuer)
        try c.encode(validFrom, forKey: .validFrom)
        try c.encode(validUntil, forKey: .validUntil)
        try c.encodeIfPresent(nationality, forKey: .nationality)
        try c.encodeIfPresent(passNumber, forKey: .passNumber)
        try c.encodeIfPresent(issueCount, forKey: .issueCount)
        try c.encodeIfPresent(cardVersion, forKey: .cardVersion)
        try c.encodeIfPresent(renewalCount, forKey: .renewalCount)
        try c.encodeIfPresent(previousNumber, forKey: .previousNumber)
    }
}

/// Bytes that hold personal data (photo, fingerprint, raw card text): zeroed when wiped or freed.
public final class SensitiveBytes: Sendable {
    private let storage: Locked<[UInt8]>

    public init(_ bytes: [UInt8]) { storage = Locked(bytes) }

    /// The bytes, or empty after `wipe()`.
    public var bytes: [UInt8] { storage.withLock { $0 } }
    public var count: Int { storage.withLock { $0.count } }

    /// Overwrites the bytes with zeros and empties the buffer.
    public func wipe() {
        storage.withLock { storage in
            storage.withUnsafeMutableBufferPointer { buffer in
                for i in buffer.indices { buffer[i] = 0 }
            }
            storage.removeAll()
        }
    }

    deinit { wipe() }
}

/// Zeroes a byte array in place (used for frame buffers that held card data).
public func wipeBytes(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBufferPointer { buffer in
        for i in buffer.indices { buffer[i] = 0 }
    }
    bytes.removeAll()
}
