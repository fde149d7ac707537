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
        /// A service done at a counter: the kiosk gives a number in the item's hall queue (取号).
        case counterTicket = "counter-ticket"
        /// Check in for today's appointment with the ID card: a priority number (预约签到).
        case appointmentCheckIn = "appointment-check-in"
        /// An application's progress, by the receipt's tracking number or the card (办件进度查询).
        case applicationProgress = "application-progress"
        /// A retiree's yearly pension entitlement confirmation (养老保险待遇领取资格认证): the card
        /// holder's face match with a blink.
        case pensionConfirmation = "pension-confirmation"
        /// The card holder's own social-insurance record on screen: enrolments, payments, the
        /// personal pension account (参保、缴费、个人账户查询).
        case socialInsuranceQuery = "social-insurance-query"
        /// Reporting the card holder's social security card lost (社会保障卡挂失).
        case securityCardLoss = "security-card-loss"
        /// A party named in an establishment application confirms it with their own card (企业开办当事人确认).
        case openingConfirmation = "opening-confirmation"

        /// Printing a licence or a certificate hands a document to whoever holds the card; a
        /// pension confirmation is the holder's presence itself; the record query shows the
        /// holder's own data; a party's confirmation binds them to an enterprise.
        public var needsFaceMatchByDefault: Bool {
            [.businessLicence, .socialInsuranceCertificate, .pensionConfirmation, .socialInsuranceQuery, .securityCardLoss, .openingConfirmation].contains(self)
        }
    }

    /// Whether any service of `action` needs a face match (the action's default when none is listed).
    public func needsFaceMatch(_ action: Action) -> Bool {
        let listed = items.filter { $0.action == action }
        return listed.isEmpty ? action.needsFaceMatchByDefault : listed.contains { $0.needsFaceMatch }
    }

    /// Text in each interface language; a plain string stands for both.
    public struct LocalizedText: Codable, Sendable, Equatable {
        public var zh: String
        public var en: String

        public init(zh: String, en: String) { self.zh = zh; self.en = en }

        enum CodingKeys: String, CodingKey { case zh, en }

        public init(from decoder: any Decoder) throws {
            if let single = try? decoder.singleValueContainer(), let text = try? single.decode(String.self) {
                zh = text
                en = text
                return
            }
            let c = try decoder.container(keyedBy: CodingKeys.self)
            zh = try c.decode(String.self, forKey: .zh)
            en = try c.decode(String.self, forKey: .en)
        }
    }

    /// A hall queue: the counters that serve some counter services, and the letter of its numbers.
    public struct Queue: Codable, Sendable, Equatable {
        /// The letter its numbers start with (A023); one capital letter.
        public var id: String
        public var name: LocalizedText
        /// How many counters serve it, for the waiting time shown.
        public var counters: Int
        /// Minutes one citizen takes at a counter, on average.
        public var minutesPerPerson: Int
    }

    /// One service item with the standard fields of a government service listing.
    public struct Item: Codable, Sendable, Equatable {
        /// Item code, unique in the catalogue, e.g. `SC-0001`.
        public var code: String
        public var name: LocalizedText
        /// 事项类型, e.g. 公共服务, 行政许可.
        public var type: String
        /// 实施部门.
        public var department: LocalizedText
        /// 设定依据.
        public var legalBasis: LocalizedText
        /// 申请材料.
        public var requiredMaterials: [LocalizedText]
        /// 承诺办结时限, e.g. 即办件 or 3个工作日.
        public var timeLimit: LocalizedText
        /// 收费标准, e.g. 不收费.
        public var fee: LocalizedText
        public var action: Action
        /// Whether the citizen must place an ID card first.
        public var requiresCard: Bool
        /// 办理地点: the window and floor.
        public var location: LocalizedText?
        /// 办理时间: the hall's hours for it.
        public var hours: LocalizedText?
        /// For counter services: the hall queue (its letter) the number is taken in.
        public var queue: String?
        /// Whether the person at the kiosk must match the card's photo (人证核验) first; unset:
        /// licence and certificate printing do, other services do not.
        public var requiresFaceMatch: Bool?

        /// Whether this service needs a face match, the default applied.
        public var needsFaceMatch: Bool { requiresFaceMatch ?? action.needsFaceMatchByDefault }
    }

    /// Catalogue version, shown in diagnostics.
    public var version: Int
    public var items: [Item]
    /// The hall's queues, for counter services.
    public var queues: [Queue]?

    func validate(in file: YAMLFile) throws(ConfigurationError) {
        guard version > 0 else { throw file.error(at: ["version"], "must be a positive whole number") }
        guard !items.isEmpty else { throw file.error(at: ["items"], "must list at least one service") }
        var queueIds = Set<String>()
        for (index, queue) in (queues ?? []).enumerated() {
            let base = ["queues", String(index)]
            guard queue.id.count == 1, queue.id.allSatisfy({ $0.isASCII && $0.isUppercase }) else {
                throw file.error(at: base + ["id"], "'\(queue.id)' is not a queue letter: use one capital letter, e.g. A")
            }
            guard queueIds.insert(queue.id).inserted else { throw file.error(at: base + ["id"], "queue \(queue.id) is listed twice") }
            guard (1...99).contains(queue.counters) else { throw file.error(at: base + ["counters"], "must be 1 to 99") }
            guard (1...240).contains(queue.minutesPerPerson) else { throw file.error(at: base + ["minutesPerPerson"], "must be 1 to 240") }
            if queue.name.zh.trimmingCharacters(in: .whitespaces).isEmpty || queue.name.en.trimmingCharacters(in: .whitespaces).isEmpty {
                throw file.error(at: base + ["name"], "must not be empty")
            }
        }
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
                                 ("department", item.department.zh), ("department", item.department.en),
                                 ("legalBasis", item.legalBasis.zh), ("legalBasis", item.legalBasis.en),
                                 ("timeLimit", item.timeLimit.zh), ("timeLimit", item.timeLimit.en), ("fee", item.fee.zh), ("fee", item.fee.en),
                                 ("location", item.location?.zh ?? "-"), ("location", item.location?.en ?? "-"),
                                 ("hours", item.hours?.zh ?? "-"), ("hours", item.hours?.en ?? "-")]
                where value.trimmingCharacters(in: .whitespaces).isEmpty {
                throw file.error(at: base + [key], "must not be empty")
            }
            for (n, material) in item.requiredMaterials.enumerated()
                where material.zh.trimmingCharacters(in: .whitespaces).isEmpty || material.en.trimmingCharacters(in: .whitespaces).isEmpty {
                throw file.error(at: base + ["requiredMaterials", String(n)], "must not be empty")
            }
            if item.needsFaceMatch, !item.requiresCard {
                throw file.error(at: base + ["requiresFaceMatch"], "a face match compares the person with the card's photo: set requiresCard: true too")
            }
            if item.action == .counterTicket {
                guard let queue = item.queue else {
                    throw file.error(at: base + ["queue"], "a counter-ticket service names its hall queue (a letter listed under queues)")
                }
                guard queueIds.contains(queue) else {
                    throw file.error(at: base + ["queue"], "queue '\(queue)' is not listed under queues (\(queueIds.sorted().joined(separator: ", ")))")
                }
            } else if item.queue != nil {
                throw file.error(at: base + ["queue"], "only a counter-ticket service takes a queue")
            }
        }
    }
}
