import Foundation

/// An enterprise name's four parts (企业名称: 行政区划 + 字号 + 行业 + 组织形式), e.g.
/// 演示市 · 云端 · 科技 · 有限公司.
public struct EnterpriseNameParts: Codable, Sendable, Hashable {
    public var region: String
    /// 字号: what tells the enterprise apart.
    public var core: String
    /// 行业: nil when the name states none.
    public var industry: String?
    /// 组织形式, e.g. 有限公司.
    public var form: String

    public init(region: String, core: String, industry: String?, form: String) {
        self.region = region
        self.core = core
        self.industry = industry
        self.form = form
    }
}

/// A registered name a proposed one collides with.
public struct NameConflict: Codable, Sendable, Hashable {
    /// How close the registered name is.
    public enum Kind: String, Codable, Sendable, Hashable {
        /// The same name.
        case identical
        /// The same 字号 in the same region and industry.
        case similar
    }

    public var kind: Kind
    public var name: String
    public var uscc: String

    public init(kind: Kind, name: String, uscc: String) {
        self.kind = kind
        self.name = name
        self.uscc = uscc
    }
}

/// The registry's answer on a proposed name (企业名称自主申报).
public struct NameCheckResult: Codable, Sendable, Hashable {
    /// What the registry says of the name.
    public enum Verdict: String, Codable, Sendable, Hashable {
        /// Free to declare.
        case available
        /// A registered name is identical or too close (`conflicts`).
        case conflict
        /// It uses words that cannot be declared (`forbiddenWords`).
        case forbidden
        /// It lacks a part (`detail` says which).
        case malformed
    }

    public var verdict: Verdict
    public var name: String
    public var parts: EnterpriseNameParts?
    public var conflicts: [NameConflict]
    /// Words the name may not use, with why.
    public var forbiddenWords: [String]
    /// What is wrong, in words, when not available.
    public var detail: String?

    public init(verdict: Verdict, name: String, parts: EnterpriseNameParts?, conflicts: [NameConflict] = [], forbiddenWords: [String] = [],
                detail: String? = nil) {
        self.verdict = verdict
        self.name = name
        self.parts = parts
        self.conflicts = conflicts
        self.forbiddenWords = forbiddenWords
        self.detail = detail
    }

    public var available: Bool { verdict == .available }
}

/// The name rules: how a name splits into its parts, which words it may not use, and when two
/// names are too close.
public enum EnterpriseNames {
    /// Organisational forms, longest first.
    static let forms = ["股份有限公司", "有限责任公司", "个人独资企业", "有限公司", "合伙企业"]
    /// Industry words, longest first.
    static let industries = ["信息技术", "网络科技", "电子商务", "文化传媒", "餐饮管理", "建筑工程", "农业发展", "医疗器械", "软件开发",
                             "科技", "商贸", "贸易", "餐饮", "物流", "咨询", "传媒", "实业", "投资", "食品", "服装", "教育"]
    /// Words an enterprise name may not use without approval this kiosk cannot give (禁限用字词).
    public static let forbidden: [(word: String, why: String)] = [
        ("中国", "须经国务院批准"), ("中华", "须经国务院批准"), ("全国", "须经国务院批准"), ("国家", "须经国务院批准"),
        ("国际", "须经国务院批准"), ("中央", "不得使用"), ("政府", "不得使用"), ("公安", "不得使用"), ("军", "不得使用"),
        ("银行", "金融机构名称须经金融监管部门批准"), ("证券", "金融机构名称须经金融监管部门批准"),
    ]
    static let regionEnds: Set<Character> = ["省", "市", "区", "县", "州", "旗"]

    /// The name's parts, or what is wrong with it.
    public static func parse(_ name: String) -> Result<EnterpriseNameParts, NameProblem> {
        let text = name.trimmingCharacters(in: .whitespaces)
        guard (6...50).contains(text.count) else { return .failure(NameProblem("a name has 6 to 50 characters")) }
        guard !text.contains(where: { $0.isWhitespace || $0.isPunctuation || $0.isSymbol }) else {
            return .failure(NameProblem("a name has no spaces, punctuation or symbols"))
        }
        guard let form = forms.first(where: { text.hasSuffix($0) }) else {
            return .failure(NameProblem("a name ends with its organisational form, e.g. 有限公司"))
        }
        var rest = Substring(text.dropLast(form.count))
        // The region: one or more parts of 2–5 characters, each ending in 省, 市, 区, 县, 州 or 旗.
        var region = ""
        while let end = rest.prefix(6).dropFirst().firstIndex(where: { regionEnds.contains($0) }) {
            let part = rest[...end]
            guard part.count >= 2 else { break }
            region += part
            rest = rest[rest.index(after: end)...]
        }
        guard !region.isEmpty else { return .failure(NameProblem("a name starts with its region, e.g. 演示市")) }
        let industry = industries.first { rest.hasSuffix($0) && rest.count > $0.count }
        let core = String(rest.dropLast(industry?.count ?? 0))
        guard !industries.contains(core) else {
            return .failure(NameProblem("the name has no 字号 of its own: \(core) is an industry"))
        }
        guard (2...20).contains(core.count) else {
            return .failure(NameProblem("the 字号 (what tells the enterprise apart) has 2 to 20 characters"))
        }
        return .success(EnterpriseNameParts(region: region, core: core, industry: industry, form: form))
    }

    /// The forbidden words `name` uses, each with why.
    public static func forbiddenWords(in name: String) -> [String] {
        forbidden.filter { name.contains($0.word) }.map { "\($0.word)（\($0.why)）" }
    }

    /// The verdict on `name` against registered `candidates` (name, USCC).
    public static func check(_ name: String, against candidates: [(name: String, uscc: String)]) -> NameCheckResult {
        let text = name.trimmingCharacters(in: .whitespaces)
        let parts: EnterpriseNameParts
        switch parse(text) {
        case .failure(let problem): return NameCheckResult(verdict: .malformed, name: text, parts: nil, detail: problem.description)
        case .success(let value): parts = value
        }
        let words = forbiddenWords(in: text)
        if !words.isEmpty {
            return NameCheckResult(verdict: .forbidden, name: text, parts: parts, forbiddenWords: words,
                                   detail: "the name uses \(words.joined(separator: "、"))")
        }
        var conflicts: [NameConflict] = []
        for candidate in candidates {
            if candidate.name == text {
                conflicts.append(NameConflict(kind: .identical, name: candidate.name, uscc: candidate.uscc))
            } else if case .success(let other) = parse(candidate.name), other.core == parts.core, other.region == parts.region,
                      other.industry == parts.industry {
                conflicts.append(NameConflict(kind: .similar, name: candidate.name, uscc: candidate.uscc))
            }
        }
        if !conflicts.isEmpty {
            return NameCheckResult(verdict: .conflict, name: text, parts: parts, conflicts: conflicts,
                                   detail: "the name is the same as or close to \(conflicts.map(\.name).joined(separator: "、"))")
        }
        return NameCheckResult(verdict: .available, name: text, parts: parts)
    }
}

/// Why a name does not parse.
public struct NameProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
