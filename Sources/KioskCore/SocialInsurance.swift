/// An amount of money in yuan, kept exactly as fen (1/100 yuan). Codable as a string with two
/// decimals, e.g. `"1234.50"`.
public struct Money: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The amount in fen.
    public let fen: Int

    public init(fen: Int) { self.fen = fen }

    /// Parses `"1234"`, `"1234.5"` or `"1234.50"`; nil for anything else.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count),
              let yuanPart = parts.first, !yuanPart.isEmpty, yuanPart.count <= 12,
              yuanPart.allSatisfy({ $0.isASCII && $0.isNumber }),
              let yuan = Int(yuanPart) else { return nil }
        var fenPart = 0
        if parts.count == 2 {
            let decimals = parts[1]
            guard (1...2).contains(decimals.count), decimals.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let value = Int(decimals) else { return nil }
            fenPart = decimals.count == 1 ? value * 10 : value
        }
        fen = yuan * 100 + fenPart
    }

    /// `1234.50`.
    public var description: String {
        let cents = fen % 100
        return "\(fen / 100).\(cents < 10 ? "0" : "")\(cents)"
    }

    public static func < (lhs: Money, rhs: Money) -> Bool { lhs.fen < rhs.fen }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Money(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "'\(text)' is not an amount: expected e.g. \"1234.50\"")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// The five social insurances (五险).
public enum InsuranceType: String, Codable, Sendable, CaseIterable {
    case pension, medical, unemployment, workInjury, maternity

    /// The Chinese name as printed, e.g. 基本养老保险.
    public var chineseName: String {
        switch self {
        case .pension: return "基本养老保险"
        case .medical: return "基本医疗保险"
        case .unemployment: return "失业保险"
        case .workInjury: return "工伤保险"
        case .maternity: return "生育保险"
        }
    }

    /// The English name, e.g. Basic pension insurance.
    public var englishName: String {
        switch self {
        case .pension: return "Basic pension insurance"
        case .medical: return "Basic medical insurance"
        case .unemployment: return "Unemployment insurance"
        case .workInjury: return "Work-injury insurance"
        case .maternity: return "Maternity insurance"
        }
    }
}

/// A person's enrolment in one insurance.
public struct InsuranceEnrolment: Codable, Sendable, Hashable {
    public var type: InsuranceType
    /// 参保日期.
    public var startedOn: CalendarDate
    /// 累计缴费月数.
    public var monthsPaid: Int
    /// 参保状态, e.g. 正常参保, 暂停缴费.
    public var status: String

    public init(type: InsuranceType, startedOn: CalendarDate, monthsPaid: Int, status: String) {
        self.type = type
        self.startedOn = startedOn
        self.monthsPaid = monthsPaid
        self.status = status
    }
}

/// One month's contribution to one insurance.
public struct MonthlyPayment: Codable, Sendable, Hashable {
    /// 费款所属期, `YYYY-MM`.
    public var month: String
    public var type: InsuranceType
    /// 缴费基数.
    public var base: Money
    /// 单位缴纳.
    public var employerAmount: Money
    /// 个人缴纳.
    public var personalAmount: Money
    /// 缴费单位.
    public var employer: String

    public init(month: String, type: InsuranceType, base: Money, employerAmount: Money,
                personalAmount: Money, employer: String) {
        self.month = month
        self.type = type
        self.base = base
        self.employerAmount = employerAmount
        self.personalAmount = personalAmount
        self.employer = employer
    }
}

/// A retiree's pension (城镇职工基本养老保险待遇): since when, and how much a month.
public struct PensionEntitlement: Codable, Sendable, Hashable {
    /// 待遇领取开始日期.
    public var startedOn: CalendarDate
    /// 月养老金.
    public var monthlyAmount: Money

    public init(startedOn: CalendarDate, monthlyAmount: Money) {
        self.startedOn = startedOn
        self.monthlyAmount = monthlyAmount
    }
}

/// The social security card (社会保障卡) and whether it was reported lost.
public struct SecurityCard: Codable, Sendable, Hashable {
    /// The card number as printed, 9 capitals and digits.
    public var number: String
    public var issuedOn: CalendarDate
    /// The day it was reported lost (挂失), if it was; the registry fills it in when answering.
    public var lostOn: CalendarDate?

    public init(number: String, issuedOn: CalendarDate, lostOn: CalendarDate? = nil) {
        self.number = number
        self.issuedOn = issuedOn
        self.lostOn = lostOn
    }

    /// Whether `text` is a card number: 9 capitals and digits.
    public static func isNumber(_ text: String) -> Bool {
        text.utf8.count == 9 && text.utf8.allSatisfy { (48...57).contains($0) || (65...90).contains($0) }
    }

    /// `A1*****78`: the first two and last two characters.
    public var maskedNumber: String { String(number.prefix(2)) + String(repeating: "*", count: max(0, number.count - 4)) + String(number.suffix(2)) }
}

/// The personal pension account (个人账户): what it holds, as of a day.
public struct PensionAccount: Codable, Sendable, Hashable {
    /// 个人账户累计储存额.
    public var balance: Money
    public var asOf: CalendarDate

    public init(balance: Money, asOf: CalendarDate) {
        self.balance = balance
        self.asOf = asOf
    }
}

/// A year's entitlement confirmation (待遇领取资格认证, 生存认证) on record.
public struct PensionConfirmationMark: Codable, Sendable, Hashable {
    public var year: Int
    /// The day it was confirmed (China time).
    public var confirmedOn: CalendarDate

    public init(year: Int, confirmedOn: CalendarDate) {
        self.year = year
        self.confirmedOn = confirmedOn
    }
}

/// A person's social-insurance record (参保记录): the input of the 参保证明 document.
/// Personal data: held in memory for one session only, never cached or logged.
public struct SocialInsuranceRecord: Codable, Sendable, Hashable {
    /// 公民身份号码 (18 characters).
    public var idNumber: String
    /// 姓名.
    public var name: String
    /// 参保地, e.g. 广东省东莞市.
    public var region: String
    public var enrolments: [InsuranceEnrolment]
    /// Oldest first.
    public var payments: [MonthlyPayment]
    /// The pension the person receives, if retired.
    public var pension: PensionEntitlement?
    /// The personal pension account, where the registry keeps one.
    public var pensionAccount: PensionAccount?
    /// The social security card, if one was issued.
    public var securityCard: SecurityCard?
    /// The latest entitlement confirmation on record (the registry fills it in when answering).
    public var pensionConfirmed: PensionConfirmationMark?

    public init(idNumber: String, name: String, region: String, enrolments: [InsuranceEnrolment],
                payments: [MonthlyPayment], pension: PensionEntitlement? = nil, pensionAccount: PensionAccount? = nil,
                pensionConfirmed: PensionConfirmationMark? = nil, securityCard: SecurityCard? = nil) {
        self.idNumber = idNumber
        self.name = name
        self.region = region
        self.enrolments = enrolments
        self.payments = payments
        self.pension = pension
        self.pensionAccount = pensionAccount
        self.securityCard = securityCard
        self.pensionConfirmed = pensionConfirmed
    }
}
