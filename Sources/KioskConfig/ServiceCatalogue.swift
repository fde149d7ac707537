/// `services.yaml`: the government service items this kiosk offers (政务服务事项).
public struct ServiceCatalogue: Codable, Sendable, Equatable {
    /// What the kiosk does when a citizen picks an item.
    public enum Action: String, Codable, Sendable, CaseIterable {
        /// Look up an enterprise's registration archive (by USCC or name).
        case archiveQuery = "archive-query"
        /// Print a business licence (legal representative only).
        case businessLicence = "business-licence"
        /// Print the card holder's social-insurance participation certificate.
        case socialInsuranceCertificate = "social-insurance-certificate"
        /// Submit an enterprise establishment pre-application.
        case establishmentApplication = "establishment-application"
    }

    /// Text in each interface language.
    public struct LocalizedText: Codable, Sendable, Equatable {
        public var zh: String
        public var en: String
    }

    /// One service item with the standard fields of a government service listing.
    public struct Item: Codable, Sendable, Equatable {
        /// Item code, unique in the catalogue, e.g. `SC-0001`.
        public var code: String
        public var name: LocalizedText
        /// 事项类型, e.g. 公共服务, 行政许可.
        public var type: String
        /// 实施部门.
        public var department: String
        /// 设定依据.
        public var legalBasis: String
        /// 申请材料.
        public var requiredMaterials: [String]
        /// 承诺办结时限, e.g. 即办件 or 3个工作日.
        public var timeLimit: String
        /// 收费标准, e.g. 不收费.
        public var fee: String
        public var action: Action
        /// Whether the citizen must place an ID card first.
        public var requiresCard: Bool
    }

    /// Catalogue version, shown in diagnostics.
    public var version: Int
    public var items: [Item]

    func validate(in file: YAMLFile) throws(ConfigurationError) {
        guard version > 0 else { throw file.error(at: ["version"], "must be a positive whole number") }
        guard !items.isEmpty else { throw file.error(at: ["items"], "must list at least one service") }
        var seen = Set<String>()
        for (index, item) in items.enumerated() {
            let base = ["items", String(index)]
            guard (try? /^[A-Z0-9][A-Z0-9-]{1,31}$/.wholeMatch(in: item.code)) != nil else {
                throw file.error(at: base + ["code"], "'\(item.code)' is not a service code: use capitals, digits and '-'")
            }
            guard seen.insert(item.code).inserted else {
                throw file.error(at: base + ["code"], "'\(item.code)' is used twice")
            }
            for (key, value) in [("name", item.name.zh), ("name", item.name.en), ("type", item.type),
                                 ("department", item.department), ("legalBasis", item.legalBasis),
                                 ("timeLimit", item.timeLimit), ("fee", item.fee)]
                where value.trimmingCharacters(in: .whitespaces).isEmpty {
                throw file.error(at: base + [key], "must not be empty")
            }
        }
    }
}
