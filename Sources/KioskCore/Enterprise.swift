/// An enterprise's public record, exactly the fields printed on its business licence (营业执照).
/// This is also the registry's wire form of an enterprise and the input of the business-licence
/// document. `termUntil == nil` means 长期 (no end date) and is encoded as JSON `null`.
public struct Enterprise: Codable, Sendable, Hashable {
    /// 统一社会信用代码, 18 characters (GB 32100).
    public var uscc: String
    /// 名称.
    public var name: String
    /// 类型, e.g. 有限责任公司(自然人独资).
    public var type: String
    /// 法定代表人.
    public var legalRepresentative: String
    /// 注册资本, text as printed, e.g. 人民币壹佰万元.
    public var registeredCapital: String
    /// 成立日期.
    public var establishedOn: CalendarDate
    /// 营业期限 from.
    public var termFrom: CalendarDate
    /// 营业期限 until; nil = 长期.
    public var termUntil: CalendarDate?
    /// 住所.
    public var address: String
    /// 经营范围 (long text).
    public var businessScope: String
    /// 登记机关.
    public var authority: String
    /// 发照日期.
    public var issuedOn: CalendarDate

    public init(uscc: String, name: String, type: String, legalRepresentative: String,
                registeredCapital: String, establishedOn: CalendarDate, termFrom: CalendarDate,
                termUntil: CalendarDate?, address: String, businessScope: String,
                authority: String, issuedOn: CalendarDate) {
        self.uscc = uscc
        self.name = name
        self.type = type
        self.legalRepresentative = legalRepresentative
        self.registeredCapital = registeredCapital
        self.establishedOn = establishedOn
        self.termFrom = termFrom
        self.termUntil = termUntil
        self.address = address
        self.businessScope = businessScope
        self.authority = authority
        self.issuedOn = issuedOn
    }

    enum CodingKeys: String, CodingKey {
        case uscc, name, type, legalRepresentative, registeredCapital, establishedOn, termFrom,
             termUntil, address, businessScope, authority, issuedOn
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(uscc, forKey: .uscc)
        try c.encode(name, forKey: .name)
        try c.encode(type, forKey: .type)
        try c.encode(legalRepresentative, forKey: .legalRepresentative)
        try c.encode(registeredCapital, forKey: .registeredCapital)
        try c.encode(establishedOn, forKey: .establishedOn)
        try c.encode(termFrom, forKey: .termFrom)
        try c.encode(termUntil, forKey: .termUntil)  // explicit null for 长期
        try c.encode(address, forKey: .address)
        try c.encode(businessScope, forKey: .businessScope)
        try c.encode(authority, forKey: .authority)
        try c.encode(issuedOn, forKey: .issuedOn)
    }
}

/// One change of a registered item, with the value before and after (变更事项).
public struct FieldChange: Codable, Sendable, Hashable {
    /// The registered item, e.g. 住所, 法定代表人, 注册资本.
    public var item: String
    public var before: String
    public var after: String

    public init(item: String, before: String, after: String) {
        self.item = item
        self.before = before
        self.after = after
    }
}

/// One event in an enterprise's registration archive (企业登记档案).
public struct ArchiveEvent: Codable, Sendable, Hashable {
    /// What kind of registration event this is.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// 设立登记.
        case establishment
        /// 变更登记, with before/after values.
        case change
        /// 年度报告.
        case annualReport
        /// 注销登记.
        case deregistration
    }

    public var kind: Kind
    public var date: CalendarDate
    /// 登记机关 that recorded the event, when different from the enterprise's.
    public var authority: String?
    /// Free text, e.g. "2023年度报告已公示".
    public var summary: String?
    /// For `.change` events: every item changed.
    public var changes: [FieldChange]

    public init(kind: Kind, date: CalendarDate, authority: String? = nil, summary: String? = nil,
                changes: [FieldChange] = []) {
        self.kind = kind
        self.date = date
        self.authority = authority
        self.summary = summary
        self.changes = changes
    }

    enum CodingKeys: String, CodingKey { case kind, date, authority, summary, changes }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(Kind.self, forKey: .kind)
        date = try c.decode(CalendarDate.self, forKey: .date)
        authority = try c.decodeIfPresent(String.self, forKey: .authority)
        summary = try c.decodeIfPresent(String.self, forKey: .summary)
        changes = try c.decodeIfPresent([FieldChange].self, forKey: .changes) ?? []
    }
}

/// An enterprise as the registry keeps it: the public record plus what only the registry sees.
/// In JSON the public record's fields stand at the top level beside these.
public struct EnterpriseRecord: Codable, Sendable, Hashable {
    /// The public record (the business-licence fields).
    public var enterprise: Enterprise
    /// The legal representative's ID number; never printed, used to authorise prints.
    public var legalRepresentativeIdNumber: String
    /// 登记状态, e.g. 存续, 在业, 注销, 吊销.
    public var status: String
    /// The registration archive, oldest first.
    public var archive: [ArchiveEvent]

    public init(enterprise: Enterprise, legalRepresentativeIdNumber: String, status: String,
                archive: [ArchiveEvent]) {
        self.enterprise = enterprise
        self.legalRepresentativeIdNumber = legalRepresentativeIdNumber
        self.status = status
        self.archive = archive
    }

    enum CodingKeys: String, CodingKey { case legalRepresentativeIdNumber, status, archive }

    public init(from decoder: any Decoder) throws {
        enterprise = try Enterprise(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        legalRepresentativeIdNumber = try c.decode(String.self, forKey: .legalRepresentativeIdNumber)
        status = try c.decode(String.self, forKey: .status)
        archive = try c.decodeIfPresent([ArchiveEvent].self, forKey: .archive) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        try enterprise.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(legalRepresentativeIdNumber, forKey: .legalRepresentativeIdNumber)
        try c.encode(status, forKey: .status)
        try c.encode(archive, forKey: .archive)
    }
}
