import Foundation
import KioskAPI
import KioskConfig
import KioskCore
import KioskTerminal
import Testing
import TestSupport
@testable import KioskUI

/// An in-process stand-in for kioskd's citizen socket, for testing the interface layer alone.
actor FakeCitizenService: CitizenOperations {
    var failures: [String: CitizenAPIError] = [:]
    var ratings: [RatingSubmission] = []
    var prints: [(DocumentRequest, String)] = []
    var touches = 0
    var ended = 0

    func fail(_ operation: String, _ key: String) { failures[operation] = CitizenAPIError(messageKey: key) }
    func succeed(_ operation: String) { failures[operation] = nil }

    nonisolated func interfaceConfiguration() async throws -> InterfaceConfiguration { try CitizenFlowTests.interface() }
    func status() async throws -> KioskStatusView { KioskStatusView(maintenance: false, readerPresent: true) }
    nonisolated func events() -> AsyncStream<KioskEvent> { AsyncStream { $0.finish() } }
    func touch() async { touches += 1 }
    func searchEnterprises(_ query: String) async throws -> EnterpriseSearchResult {
        if let error = failures["search"] { throw error }
        return EnterpriseSearchResult(results: [
            EnterpriseSummary(uscc: "91350100M000100Y43", name: "测试科技有限公司", status: "存续", legalRepresentative: "张*"),
            EnterpriseSummary(uscc: "91440300MA5DC1234X", name: "测试贸易有限公司", status: "注销", legalRepresentative: "李*"),
        ])
    }
    func enterprise(uscc: String) async throws -> EnterpriseDetail {
        let date = CalendarDate(year: 2015, month: 6, day: 1)!
        let enterprise = Enterprise(uscc: uscc, name: "测试科技有限公司", type: "有限责任公司(自然人独资)", legalRepresentative: "张三",
                                    registeredCapital: "人民币壹佰万元", establishedOn: date, termFrom: date, termUntil: nil,
                                    address: "演示市测试路1号", businessScope: String(repeating: "软件开发；信息技术咨询服务；", count: 8),
                                    authority: "演示市市场监督管理局", issuedOn: date)
        return EnterpriseDetail(enterprise: enterprise, status: "存续", archive: [
            ArchiveEvent(kind: .establishment, date: date),
            ArchiveEvent(kind: .change, date: CalendarDate(year: 2018, month: 3, day: 4)!, changes: [FieldChange(item: "住所", before: "甲路", after: "乙路")]),
        ])
    }
    /// Whether documents wait for a face check, and the outcomes the checks give in turn.
    var faceNeeded = false
    var facePassed = false
    var faceOutcomes: [FaceCheckView] = []
    var faceChecks = 0
    func needFace(_ outcomes: [FaceCheckView]) {
        faceNeeded = true
        faceOutcomes = outcomes
    }
    func checkFace() async throws -> FaceCheckView {
        faceChecks += 1
        guard !faceOutcomes.isEmpty else { throw CitizenAPIError(messageKey: "face.locked") }
        let outcome = faceOutcomes.removeFirst()
        facePassed = outcome.passed
        return outcome
    }
    func myInsurance() async throws -> InsuranceRecordView {
        if faceNeeded, !facePassed { throw CitizenAPIError(messageKey: "face.needed") }
        let payments = (1...30).map { n in
            MonthlyPayment(month: String(format: "2026-%02d", (n - 1) % 12 + 1), type: n % 2 == 0 ? .pension : .medical, base: Money(fen: 800_000),
                           employerAmount: Money(fen: 128_000), personalAmount: Money(fen: 64_000), employer: "演示市云端科技有限公司")
        }
        return InsuranceRecordView(
            name: "张三", maskedIdNumber: "441900********1234", region: "演示市",
            enrolments: [InsuranceEnrolment(type: .pension, startedOn: CalendarDate(year: 2008, month: 6, day: 1)!, monthsPaid: 210, status: "参保缴费")],
            payments: payments, pension: nil, account: PensionAccount(balance: Money(fen: 13_440_000), asOf: CalendarDate(year: 2026, month: 11, day: 30)!))
    }
    var namesChecked: [String] = []
    func checkName(_ proposedName: String) async throws -> NameCheckView {
        namesChecked.append(proposedName)
        if proposedName.contains("云端科技") {
            return NameCheckView(verdict: "conflict", messageKey: "name.conflict", conflicts: ["演示市云端科技有限公司"])
        }
        if proposedName.contains("中国") { return NameCheckView(verdict: "forbidden", messageKey: "name.forbidden", forbiddenWords: ["中国（须经国务院批准）"]) }
        return NameCheckView(verdict: "available", messageKey: "name.available")
    }
    var cardLossReports: [String] = []
    func mySecurityCard() async throws -> SecurityCardView {
        if faceNeeded, !facePassed { throw CitizenAPIError(messageKey: "face.needed") }
        return SecurityCardView(maskedNumber: "A0*****20", issuedOn: "2019-05-20", lostOn: cardLossReports.isEmpty ? nil : "2026-12-04")
    }
    func reportCardLoss(requestId: String) async throws -> CardLossView {
        if faceNeeded, !facePassed { throw CitizenAPIError(messageKey: "face.needed") }
        cardLossReports.append(requestId)
        return CardLossView(outcome: "recorded", messageKey: "sscard.recorded", registryNumber: "GS-20261204-00000001", reportId: "GS-" + requestId,
                            receiptPrinted: true)
    }
    var openingConfirmations: [String] = []
    func myOpenings() async throws -> OpeningListView {
        if faceNeeded, !facePassed { throw CitizenAPIError(messageKey: "face.needed") }
        return OpeningListView(openings: [OpeningView(trackingNumber: "YT-T-20261204-000001", proposedName: "东莞市测试科技有限公司", type: "有限责任公司",
                                               registeredCapital: "100万元", applicantMaskedName: "张*", roles: ["investor", "supervisor"],
                                               shareBasisPoints: 4000, stage: "awaiting-confirmations", confirmBy: "2026-12-11 10:00",
                                               parties: [PartyStandingView(maskedName: "张*", roles: ["investor", "legal-representative", "contact"],
                                                                           shareBasisPoints: 6000, confirmed: true),
                                                         PartyStandingView(maskedName: "李*", roles: ["investor", "supervisor"], shareBasisPoints: 4000,
                                                                           confirmed: !openingConfirmations.isEmpty)],
                                               confirmedByMe: !openingConfirmations.isEmpty)], offline: false)
    }
    func confirmOpening(trackingNumber: String, requestId: String) async throws -> OpeningConfirmationView {
        if faceNeeded, !facePassed { throw CitizenAPIError(messageKey: "face.needed") }
        openingConfirmations.append(requestId)
        return OpeningConfirmationView(outcome: "confirmed", messageKey: "opening.confirmed", trackingNumber: trackingNumber, confirmedCount: 2,
                                       partyCount: 2, stage: "complete", slipPrinted: true)
    }
    var pensionRequests: [String] = []
    func confirmPension(requestId: String) async throws -> PensionConfirmationView {
        if faceNeeded, !facePassed { throw CitizenAPIError(messageKey: "face.needed") }
        pensionRequests.append(requestId)
        return PensionConfirmationView(outcome: "confirmed", messageKey: "pension.confirmed", year: 2026, confirmationId: "RZ-" + requestId,
                                       slipPrinted: true)
    }
    func preview(_ request: DocumentRequest) async throws -> DocumentPreview {
        if faceNeeded, !facePassed { throw CitizenAPIError(messageKey: "face.needed") }
        if let error = failures["preview"] { throw error }
        return DocumentPreview(title: "营业执照", pages: ["营业执照（副本）\n名称 测试科技有限公司", "第二页"])
    }
    func print(_ request: DocumentRequest, requestId: String) async throws -> PrintOutcomeView {
        prints.append((request, requestId))
        if let error = failures["print"] { throw error }
        return PrintOutcomeView(state: "completed", messageKey: "print.done", verificationCode: "ABCD-EFGH")
    }
    func submitApplication(_ form: ApplicationForm) async throws -> ApplicationReceipt {
        applications.append(form)
        return ApplicationReceipt(trackingNumber: "YT-20261123-000001", registryNumber: nil, receiptPrinted: true, postedTo: form.delivery?.masked)
    }
    func rate(_ rating: RatingSubmission) async throws { ratings.append(rating) }
    func endSession() async { ended += 1 }
    var tickets: [(String, String)] = []
    var nextTicket = QueueTicketView(number: "A023", service: LocalizedTextView(zh: "不动产登记", en: "Real-estate registration"), ahead: 5,
                                     approximate: false, waitMinutes: 20, priority: false, offline: false, printed: true, messageKey: "ticket.take")
    func setNextTicket(_ ticket: QueueTicketView) { nextTicket = ticket }
    func takeTicket(serviceCode: String, requestId: String) async throws -> QueueTicketView {
        tickets.append((serviceCode, requestId))
        if let error = failures["ticket"] { throw error }
        return nextTicket
    }
    func checkIn(requestId: String) async throws -> QueueTicketView {
        if let error = failures["checkIn"] { throw error }
        var ticket = nextTicket
        ticket.priority = true
        return ticket
    }
    func failCheckIn(_ error: CitizenAPIError) { failures["checkIn"] = error }
    var progressPrints: [String] = []
    static let progressSample = ProgressView(
        trackingNumber: "YT-demo-kiosk-01-20261203-000001", proposedName: "演示市进度有限公司", submittedAt: "2026-12-03 10:00",
        statusKey: "progress.more-materials", note: "住所使用证明", delivered: true,
        history: [ProgressStepView(statusKey: "progress.received", note: nil, at: "2026-12-03 10:00"),
                  ProgressStepView(statusKey: "progress.more-materials", note: "住所使用证明", at: "2026-12-03 15:00")])
    func progress(trackingNumber: String) async throws -> ProgressView {
        guard trackingNumber == Self.progressSample.trackingNumber else { throw CitizenAPIError(messageKey: "progress.none") }
        return Self.progressSample
    }
    func myApplications() async throws -> [ProgressView] {
        var queued = Self.progressSample
        queued.trackingNumber = "YT-demo-kiosk-01-20261203-000002"
        queued.proposedName = "演示市未送达有限公司"
        queued.statusKey = "progress.notDelivered"
        queued.delivered = false
        return [queued, Self.progressSample]
    }
    func printProgress(trackingNumber: String, requestId: String) async throws -> PrintOutcomeView {
        progressPrints.append(trackingNumber)
        return PrintOutcomeView(state: "completed", messageKey: "print.done")
    }
    var deliveries: [(DocumentRequest, DeliveryAddress)] = []
    var applications: [ApplicationForm] = []
    func requestDelivery(_ request: DocumentRequest, address: DeliveryAddress, requestId: String) async throws -> ApplicationReceipt {
        deliveries.append((request, address))
        return ApplicationReceipt(trackingNumber: requestId, registryNumber: nil, receiptPrinted: true, postedTo: address.masked)
    }
    var guides: [String] = []
    func printGuide(serviceCode: String, requestId: String) async throws -> PrintOutcomeView {
        guides.append(serviceCode)
        return PrintOutcomeView(state: "completed", messageKey: "guide.printed")
    }
}

@Suite struct CitizenFlowTests {
    static func interface() throws -> InterfaceConfiguration {
        let config = try KioskConfiguration.load(from: URL(fileURLWithPath: BuiltProducts.repositoryPath("kiosk-config")))
        return InterfaceConfiguration(
            kioskName: config.settings.kiosk.name, languages: config.settings.languages, texts: config.texts.languages,
            services: config.services.items.map {
                ServiceItemView(code: $0.code, nameZh: $0.name.zh, nameEn: $0.name.en, action: $0.action.rawValue, requiresCard: $0.requiresCard)
            },
            ratingLevels: config.evaluation.levels.map { RatingLevelView(value: $0.value, label: LocalizedTextView(zh: $0.label.zh, en: $0.label.en)) },
            ratingReasons: config.evaluation.reasons.map { LocalizedTextView(zh: $0.zh, en: $0.en) },
            reasonRequiredAtOrBelow: config.evaluation.reasonRequiredAtOrBelow, evaluationVersion: config.evaluation.version,
            idleTimeoutSeconds: config.settings.session.idleTimeoutSeconds)
    }

    /// The interface with every item's guide, as kioskd serves it.
    static func interfaceWithGuides() throws -> InterfaceConfiguration {
        var interface = try interface()
        let guide = ServiceGuideView(
            type: "行政确认", department: LocalizedTextView(zh: "不动产登记中心", en: "Real Estate Registration Centre"),
            legalBasis: LocalizedTextView(zh: "《不动产登记暂行条例》", en: "Interim Regulations on Real Estate Registration"),
            materials: (1...12).map { LocalizedTextView(zh: "材料\($0)", en: "Material \($0)") },
            timeLimit: LocalizedTextView(zh: "5个工作日", en: "5 working days"), fee: LocalizedTextView(zh: "不收费", en: "Free"),
            location: LocalizedTextView(zh: "二楼 A 区", en: "2nd floor, area A"), hours: nil,
            queueName: LocalizedTextView(zh: "不动产登记窗口", en: "Real-estate counters"))
        for index in interface.services.indices { interface.services[index].guide = guide }
        return interface
    }

    static let holder = CardHolderView(cardType: "resident", maskedName: "张*", maskedIdNumber: "441900********1234")

    func makeApp() throws -> (CitizenApp, FakeCitizenService) {
        let service = FakeCitizenService()
        return (CitizenApp(service: service, config: try Self.interface()), service)
    }

    func screenText(_ app: CitizenApp, width: Int = 80, height: Int = 24) async -> String {
        let lines = await app.snapshot(width: width, height: height)
        for line in lines { #expect(DisplayWidth.of(line) <= width, "line wider than the terminal: \(line)") }
        return lines.joined(separator: "\n")
    }

    func type(_ app: CitizenApp, _ text: String) async {
        for c in text { await app.handle(key: .character(c)) }
    }

    @Test func aCounterServiceShowsItsGuidePagedThenGivesANumberInBothLanguages() async throws {
        let service = FakeCitizenService()
        let app = CitizenApp(service: service, config: try Self.interfaceWithGuides())
        await app.handle(key: .enter)   // services without a card
        let estate = try #require(try Self.interface().services.firstIndex { $0.action == "counter-ticket" })
        await app.handle(key: .character(Character("\(estate + 1)")))
        #expect(await app.screen == .guide)
        var text = await screenText(app)
        #expect(text.contains("办事指南 · 不动产登记") && text.contains("实施部门") && text.contains("1. 材料1"), "\(text)")
        #expect(text.contains("第 1/2 页") && text.contains("按 Enter 取号"), "\(text)")
        await app.handle(key: .down)
        text = await screenText(app)
        #expect(text.contains("第 2/2 页") && text.contains("办理窗口") && !text.contains("1. 材料1"), "\(text)")
        // P prints the guide; the citizen comes back to the same page.
        await app.handle(key: .character("p"))
        #expect(await screenText(app).contains("办事指南已打印"))
        #expect(await service.guides == ["SC-ESTATE"])
        await app.handle(key: .enter)
        #expect(await screenText(app).contains("第 2/2 页"))
        await app.handle(key: .enter)
        #expect(await app.screen == .ticket)
        text = await screenText(app)
        #expect(text.contains("您的号码  A023") && text.contains("前面还有 5 人") && text.contains("预计等待约 20 分钟"), "\(text)")
        #expect(await service.tickets.first?.0 == "SC-ESTATE")
        await app.handle(key: .enter)
        #expect(await app.screen == .idle)   // no card: back to the start

        // In English, offline: an estimate, said as one.
        await service.setNextTicket(QueueTicketView(number: "AK001", service: LocalizedTextView(zh: "不动产登记", en: "Real-estate registration"),
                                                    ahead: 7, approximate: true, waitMinutes: 28, priority: false, offline: true, printed: true,
                                                    messageKey: "ticket.take"))
        await app.handle(key: .character("e"))
        await app.handle(key: .enter)
        await app.handle(key: .character(Character("\(estate + 1)")))
        text = await screenText(app)
        #expect(text.contains("Service guide · Real-estate registration") && text.contains("Department"), "\(text)")
        await app.handle(key: .enter)
        text = await screenText(app)
        #expect(text.contains("Number  AK001") && text.contains("About 7 waiting ahead of you") && text.contains("Network down"), "\(text)")

        // A ticket that did not print is no number.
        await service.setNextTicket(QueueTicketView(number: "A024", service: LocalizedTextView(zh: "不动产登记", en: "Real-estate registration"),
                                                    ahead: 5, approximate: false, waitMinutes: 20, priority: false, offline: false, printed: false,
                                                    messageKey: "print.nopaper"))
        await app.handle(key: .enter)
        await app.handle(key: .character("E"))
        await app.handle(key: .enter)
        await app.handle(key: .character(Character("\(estate + 1)")))
        await app.handle(key: .enter)
        text = await screenText(app)
        #expect(text.contains("号票未能打印") && !text.contains("A024"), "\(text)")
    }

    @Test func progressByTrackingNumberWithoutACardAndByTheCard() async throws {
        let service = FakeCitizenService()
        let app = CitizenApp(service: service, config: try Self.interface())
        let index = try #require(try Self.interface().services.firstIndex { $0.action == "application-progress" })
        await app.handle(key: .enter)
        await app.handle(key: .character(Character("\(index + 1)")))
        #expect(await app.screen == .progressInput)
        await type(app, "YT-demo-kiosk-01-20261203-000001")   // letters stay letters: no pinyin, no language switch
        var text = await screenText(app)
        #expect(text.contains("> YT-demo-kiosk-01-20261203-000001_"), "\(text)")
        await app.handle(key: .enter)
        text = await screenText(app)
        #expect(text.contains("需补正材料：住所使用证明") && text.contains("演示市进度有限公司") && text.contains("2026-12-03 15:00"), "\(text)")
        await app.handle(key: .character("p"))
        #expect(await service.progressPrints == ["YT-demo-kiosk-01-20261203-000001"])
        await app.handle(key: .enter)   // the message
        await app.handle(key: .enter)   // back to the input
        #expect(await app.screen == .progressInput)
        await app.handle(key: .escape)

        // With the card: the holder's own, the one not yet delivered first.
        await app.handle(event: .sessionStarted(Self.holder))
        await app.handle(key: .character(Character("\(index + 1)")))
        text = await screenText(app)
        #expect(text.contains("1. 演示市未送达有限公司  尚未送达服务中心") && text.contains("2. 演示市进度有限公司  需补正材料"), "\(text)")
        await app.handle(key: .character("2"))
        text = await screenText(app)
        #expect(text.contains("受理编号") && text.contains("YT-demo-kiosk-01-20261203-000001"), "\(text)")
        await app.handle(key: .escape)
        #expect(await app.screen == .progressList)
        await app.handle(key: .character("e"))
        text = await screenText(app)
        #expect(text.contains("Not yet delivered") && text.contains("More materials needed"), "\(text)")
    }

    @Test func resultsByPostAreAskedForMaskedAndChecked() async throws {
        let service = FakeCitizenService()
        let app = CitizenApp(service: service, config: try Self.interface())
        await app.handle(event: .sessionStarted(Self.holder))
        await app.handle(key: .character("4"))
        for field in ["演示市邮寄有限公司", "有限责任公司", "10万", "演示市", "软件"] {
            await type(app, field)
            await app.handle(key: .enter)
        }
        var text = await screenText(app)
        #expect(text.contains("领取方式：到大厅领取"), "\(text)")
        await app.handle(key: .function(3))
        text = await screenText(app)
        #expect(text.contains("领取方式：免费邮寄") && text.contains("收件人") && text.contains("邮寄地址"), "\(text)")
        await type(app, "张三丰")
        await app.handle(key: .enter)
        await type(app, "12345678901")   // no such prefix
        await app.handle(key: .enter)
        await type(app, "演示市创业路 277 号")
        await app.handle(key: .enter)
        text = await screenText(app)
        #expect(text.contains("张**") && !text.contains("张三丰") && text.contains("123****8901") && !text.contains("12345678901"), "\(text)")
        await app.handle(key: .enter)   // submit: the number is refused before anything is sent
        text = await screenText(app)
        #expect(text.contains("手机号码应为 11 位有效号码"), "\(text)")
        #expect(await service.applications.isEmpty)
        await app.handle(key: .enter)
        for _ in 0..<11 { await app.handle(key: .backspace) }
        await type(app, "13812345678")
        text = await screenText(app)
        #expect(text.contains("13812345678_"), "\(text)")   // as typed while being edited
        await app.handle(key: .enter)
        await app.handle(key: .enter)
        await app.handle(key: .enter)
        text = await screenText(app)
        #expect(text.contains("结果将免费邮寄至：张** 138****5678 演示市创业路****"), "\(text)")
        #expect(await service.applications.first?.delivery?.mobile == "13812345678")
        await app.handle(key: .escape)
        await app.handle(key: .escape)

        // The certificate, posted instead of printed.
        await app.handle(event: .sessionStarted(Self.holder))
        await app.handle(key: .character("3"))
        text = await screenText(app)
        #expect(text.contains("M 免费邮寄"), "\(text)")
        await app.handle(key: .character("m"))
        text = await screenText(app)
        #expect(text.contains("免费邮寄：社会保险参保证明") && !text.contains("拟设企业名称"), "\(text)")
        await type(app, "李四")
        await app.handle(key: .enter)
        await type(app, "19912345678")
        await app.handle(key: .enter)
        await type(app, "演示市高新区创业路277号")
        await app.handle(key: .enter)
        await app.handle(key: .enter)
        text = await screenText(app)
        #expect(text.contains("结果将免费邮寄至：李* 199****5678"), "\(text)")
        #expect(await service.deliveries.first?.0.kind == "social-insurance-certificate")
    }

    @Test func aDocumentForTheHolderAsksForTheFaceCheckFirst() async throws {
        let service = FakeCitizenService()
        await service.needFace([FaceCheckView(outcome: "noMatch", messageKey: "face.noMatch", attemptsLeft: 2),
                                FaceCheckView(outcome: "passed", messageKey: "face.passed", attemptsLeft: 1)])
        let app = CitizenApp(service: service, config: try Self.interface())
        await app.handle(event: .sessionStarted(Self.holder))
        await app.handle(key: .character("3"))   // the social-insurance certificate
        #expect(await app.screen == .faceCheck)
        var text = await screenText(app)
        #expect(text.contains("人证核验") && text.contains("正对屏幕上方的摄像头") && text.contains("Enter 开始核验"), "\(text)")
        await app.handle(key: .enter)
        text = await screenText(app)
        #expect(await app.screen == .faceCheck)
        #expect(text.contains("人脸与身份证照片不符") && text.contains("还可尝试 2 次"), "\(text)")
        await app.handle(key: .enter)
        #expect(await app.screen == .preview, "passed: the document the citizen asked for")
        #expect(await service.faceChecks == 2)

        // Out of attempts: told to ask the staff, back to the menu.
        let locked = FakeCitizenService()
        await locked.needFace([FaceCheckView(outcome: "notLive", messageKey: "face.notLive", attemptsLeft: 0)])
        let other = CitizenApp(service: locked, config: try Self.interface())
        await other.handle(event: .sessionStarted(Self.holder))
        await other.handle(key: .character("3"))
        await other.handle(key: .enter)
        text = await screenText(other)
        #expect(text.contains("人证核验未通过次数过多"), "\(text)")
        await other.handle(key: .enter)
        #expect(await other.screen == .menu)

        // No verifier: said plainly; Esc on the check screen goes back.
        let missing = FakeCitizenService()
        await missing.needFace([FaceCheckView(outcome: "unavailable", messageKey: "face.unavailable", attemptsLeft: 3)])
        let third = CitizenApp(service: missing, config: try Self.interface())
        await third.handle(event: .sessionStarted(Self.holder))
        await third.handle(key: .character("3"))
        await third.handle(key: .enter)
        #expect(await screenText(third).contains("人证核验设备暂不可用"))
        await third.handle(key: .enter)
        await third.handle(key: .character("3"))
        await third.handle(key: .escape)
        #expect(await third.screen == .menu)
    }

    @Test func thePensionConfirmationIsTheFaceCheckThenASlip() async throws {
        let service = FakeCitizenService()
        await service.needFace([FaceCheckView(outcome: "passed", messageKey: "face.passed", attemptsLeft: 2)])
        let app = CitizenApp(service: service, config: try Self.interface())
        await app.handle(event: .sessionStarted(Self.holder))
        let items = try Self.interface().services
        let pension = try #require(items.firstIndex { $0.action == "pension-confirmation" })
        for _ in 0..<(items.count + 1 - pension) { await app.handle(key: .up) }   // from the top, up wraps to "finish", then back
        var text = await screenText(app)
        #expect(text.contains("> \(pension + 1). 养老保险待遇领取资格认证"), "\(text)")
        await app.handle(key: .enter)
        #expect(await app.screen == .faceCheck)
        await app.handle(key: .enter)
        text = await screenText(app)
        #expect(text.contains("2026 年度养老保险待遇领取资格认证已完成"), "\(text)")
        #expect(await service.pensionRequests.count == 1)
        await app.handle(key: .enter)
        #expect(await app.screen == .menu)
    }

    @Test func theHoldersOwnRecordIsShownInThreePartsAfterTheFaceCheck() async throws {
        let service = FakeCitizenService()
        await service.needFace([FaceCheckView(outcome: "passed", messageKey: "face.passed", attemptsLeft: 2)])
        let app = CitizenApp(service: service, config: try Self.interface())
        await app.handle(event: .sessionStarted(Self.holder))
        let items = try Self.interface().services
        let query = try #require(items.firstIndex { $0.action == "social-insurance-query" })
        for _ in 0..<(items.count + 1 - query) { await app.handle(key: .up) }
        await app.handle(key: .enter)
        #expect(await app.screen == .faceCheck)
        await app.handle(key: .enter)
        #expect(await app.screen == .insurance)
        var text = await screenText(app)
        #expect(text.contains("社保查询 · 张三 441900********1234") && text.contains("基本养老保险  参保日期 2008-06-01  累计缴费 210 个月"), "\(text)")
        await app.handle(key: .character("2"))
        text = await screenText(app)
        #expect(text.contains("缴费基数 8000.00") && text.contains("1–15 / 30"), "\(text)")
        await app.handle(key: .pageDown)
        #expect(await screenText(app).contains("11–25 / 30"))
        for _ in 0..<3 { await app.handle(key: .pageDown) }
        #expect(await screenText(app).contains("16–30 / 30"))
        await app.handle(key: .up)   // at once, however far the citizen paged past the end
        #expect(await screenText(app).contains("15–29 / 30"))
        await app.handle(key: .character("3"))
        text = await screenText(app)
        #expect(text.contains("个人账户累计储存额 134400.00 元（截至 2026-11-30）"), "\(text)")
        await app.handle(key: .character("e"))
        #expect(await screenText(app).contains("Personal pension account: 134400.00 yuan"))
        await app.handle(key: .escape)
        #expect(await app.screen == .menu)
    }

    @Test func aLostSecurityCardIsConfirmedMaskedThenReported() async throws {
        let service = FakeCitizenService()
        await service.needFace([FaceCheckView(outcome: "passed", messageKey: "face.passed", attemptsLeft: 2)])
        let app = CitizenApp(service: service, config: try Self.interface())
        await app.handle(event: .sessionStarted(Self.holder))
        let items = try Self.interface().services
        let loss = try #require(items.firstIndex { $0.action == "security-card-loss" })
        for _ in 0..<(items.count + 1 - loss) { await app.handle(key: .up) }
        await app.handle(key: .enter)
        #expect(await app.screen == .faceCheck)
        await app.handle(key: .enter)
        var text = await screenText(app)
        #expect(await app.screen == .cardLoss)
        #expect(text.contains("您的社会保障卡：A0*****20（2019-05-20 发卡）") && text.contains("挂失后原卡立即停止使用"), "\(text)")
        await app.handle(key: .enter)
        text = await screenText(app)
        #expect(text.contains("社会保障卡已挂失，即时生效"), "\(text)")
        #expect(await service.cardLossReports.count == 1)
        // Chosen again in the same visit: already reported.
        await app.handle(key: .enter)
        for _ in 0..<(items.count + 1 - loss) { await app.handle(key: .up) }
        await app.handle(key: .enter)
        #expect(await screenText(app).contains("您的社会保障卡已挂失，无需重复办理"))
    }

    @Test func aCheckInTooEarlySaysTheSlot() async throws {
        let service = FakeCitizenService()
        let app = CitizenApp(service: service, config: try Self.interfaceWithGuides())
        await app.handle(event: .sessionStarted(Self.holder))
        let checkIn = try #require(try Self.interface().services.firstIndex { $0.action == "appointment-check-in" })
        await service.failCheckIn(CitizenAPIError(messageKey: "checkin.early", detail: "too early", values: ["start": "10:00", "end": "10:30"]))
        await app.handle(key: .character(Character("\(checkIn + 1)")))
        await app.handle(key: .enter)
        var text = await screenText(app)
        #expect(text.contains("您的预约时段为 10:00–10:30") && !text.contains("{start}"), "\(text)")
        await app.handle(key: .enter)
        await service.succeed("checkIn")
        await app.handle(key: .character(Character("\(checkIn + 1)")))
        await app.handle(key: .enter)
        text = await screenText(app)
        #expect(text.contains("预约签到成功，将优先叫号") && text.contains("A023"), "\(text)")
        await app.handle(key: .enter)
        #expect(await app.screen == .rating)   // a card holder's visit is rated
    }

    @Test func idleScreenInvitesTheCardAndSwitchesLanguage() async throws {
        let (app, _) = try makeApp()
        #expect(await screenText(app).contains("请将身份证放在读卡区"))
        await app.handle(key: .character("e"))
        #expect(await screenText(app).contains("Please place your ID card on the reader"))
        await app.handle(key: .character("E"))
        #expect(await screenText(app).contains("请将身份证放在读卡区"))
    }

    @Test func wholeFlowQueryPrintAndRate() async throws {
        let (app, service) = try makeApp()
        await app.handle(event: .cardReading)
        #expect(await screenText(app).contains("正在读取身份证"))
        await app.handle(event: .sessionStarted(Self.holder))
        var text = await screenText(app)
        #expect(text.contains("您好，张*"))
        #expect(text.contains("1. 企业登记档案查询"))

        await app.handle(key: .character("1"))
        #expect(await app.screen == .queryInput)
        await type(app, "测试")
        #expect(await screenText(app).contains("> 测试"))
        await app.handle(key: .enter)
        #expect(await app.screen == .results)
        text = await screenText(app)
        #expect(text.contains("测试科技有限公司"))
        #expect(text.contains("91440300MA5DC1234X"))

        await app.handle(key: .enter)
        #expect(await app.screen == .detail)
        text = await screenText(app)
        #expect(text.contains("法定代表人"))
        #expect(text.contains("人民币壹佰万元"))
        #expect(text.contains("长期"))

        await app.handle(key: .character("1"))
        #expect(await app.screen == .preview)
        #expect(await screenText(app).contains("第 1 页 共 2 页"))
        await app.handle(key: .right)
        #expect(await screenText(app).contains("第 2 页 共 2 页"))

        await app.handle(key: .enter)
        #expect(await app.screen == .printResult)
        text = await screenText(app)
        #expect(text.contains("打印完成，请取走文件"))
        #expect(text.contains("ABCD-EFGH"))
        #expect(await service.prints.count == 1)

        await app.handle(key: .enter)
        #expect(await app.screen == .rating)
        #expect(await screenText(app).contains("非常满意"))
        await app.handle(key: .character("1"))
        await app.handle(key: .enter)
        #expect(await app.screen == .ratingReason)
        await app.handle(key: .down)
        await app.handle(key: .enter)
        let ratings = await service.ratings
        #expect(ratings.first?.level == 1)
        #expect(ratings.first?.reason == "操作步骤复杂")
        #expect(ratings.first?.serviceCode == "SC-ARCHIVE")
        #expect(await app.screen == .goodbye)
        #expect(await screenText(app).contains("请取走您的身份证"))

        await app.handle(key: .enter)
        #expect(await service.ended == 1)
        #expect(await app.screen == .idle)
        text = await screenText(app)
        #expect(!text.contains("张*"))
    }

    @Test func cardRemovedClearsPersonalDataAtOnce() async throws {
        let (app, _) = try makeApp()
        await app.handle(event: .sessionStarted(Self.holder))
        await app.handle(key: .character("1"))
        await type(app, "测试")
        await app.handle(key: .enter)
        await app.handle(key: .enter)
        #expect(await screenText(app).contains("张*"))
        await app.handle(event: .cardRemoved)
        let text = await screenText(app)
        #expect(await app.screen == .idle)
        #expect(text.contains("身份证已移开"))
        #expect(!text.contains("张*"))
        #expect(!text.contains("测试科技"))
    }

    @Test func failuresSayWhatHappenedInPlainWords() async throws {
        let (app, service) = try makeApp()
        await app.handle(event: .sessionStarted(Self.holder))
        await service.fail("search", "registry.unreachable")
        await app.handle(key: .character("1"))
        await type(app, "测试")
        await app.handle(key: .enter)
        #expect(await screenText(app).contains("暂时无法连接服务中心"))
        await app.handle(key: .enter)
        #expect(await app.screen == .queryInput)

        await service.succeed("search")
        await app.handle(key: .enter)
        await app.handle(key: .enter)
        await service.fail("preview", "licence.refused")
        await app.handle(key: .character("1"))
        #expect(await screenText(app).contains("仅企业法定代表人可打印营业执照"))
        await app.handle(key: .enter)
        #expect(await app.screen == .detail)
    }

    @Test func paperOutIsShownAfterPrinting() async throws {
        let (app, service) = try makeApp()
        await app.handle(event: .sessionStarted(Self.holder))
        await service.fail("print", "print.nopaper")
        await app.handle(key: .character("3"))
        #expect(await app.screen == .preview)
        await app.handle(key: .enter)
        #expect(await screenText(app).contains("打印机缺纸，请联系工作人员"))
    }

    @Test func servicesNeedingACardAskForIt() async throws {
        let (app, _) = try makeApp()
        await app.handle(key: .enter)
        #expect(await app.screen == .menu)
        #expect(await screenText(app).contains("（需先放置身份证）"))
        await app.handle(key: .character("2"))
        #expect(await screenText(app).contains("此项服务需要先放置身份证"))
    }

    @Test func applicationFormNeedsEveryFieldThenGivesAReceipt() async throws {
        let (app, _) = try makeApp()
        await app.handle(event: .sessionStarted(Self.holder))
        await app.handle(key: .character("4"))
        #expect(await app.screen == .applicationForm)
        await type(app, "演示新材料有限公司")
        await app.handle(key: .enter)
        await type(app, "有限责任公司")
        for _ in 0..<10 { await app.handle(key: .down) }   // past the fields and the parties, to submit
        await app.handle(key: .enter)
        #expect(await screenText(app).contains("请填写：注册资本"))
        await app.handle(key: .enter)
        await type(app, "人民币伍拾万元")
        await app.handle(key: .enter)
        await type(app, "演示市测试路2号")
        await app.handle(key: .enter)
        await type(app, "新材料技术研发")
        await app.handle(key: .enter)
        await app.handle(key: .enter)
        let text = await screenText(app)
        #expect(text.contains("YT-20261123-000001"))
        #expect(text.contains("网络恢复后将自动上报"))
    }

    @Test func aProposedNameIsDeclaredAsItIsEnteredAndAConflictSendsTheCitizenBack() async throws {
        let (app, service) = try makeApp()
        await app.handle(event: .sessionStarted(Self.holder))
        await app.handle(key: .character("4"))
        await type(app, "演示市云端科技股份有限公司")
        await app.handle(key: .enter)
        var text = await screenText(app)
        #expect(text.contains("名称与已登记的「演示市云端科技有限公司」相同或近似"), "\(text)")
        await app.handle(key: .enter)
        #expect(await app.screen == .applicationForm)
        for _ in 0..<"云端科技股份有限公司".count { await app.handle(key: .backspace) }
        await type(app, "中国云端有限公司")
        await app.handle(key: .enter)
        #expect(await screenText(app).contains("中国（须经国务院批准）"))
        await app.handle(key: .enter)
        for _ in 0..<"中国云端有限公司".count { await app.handle(key: .backspace) }
        await type(app, "云途科技有限公司")
        await app.handle(key: .enter)
        text = await screenText(app)
        #expect(await app.screen == .applicationForm && !text.contains("相同或近似"), "\(text)")
        #expect(await service.namesChecked == ["演示市云端科技股份有限公司", "演示市中国云端有限公司", "演示市云途科技有限公司"])
    }

    @Test func idleWarningAndMaintenance() async throws {
        let (app, service) = try makeApp()
        await app.handle(event: .sessionStarted(Self.holder))
        await app.handle(event: .sessionWarning(secondsLeft: 15))
        #expect(await screenText(app).contains("即将结束服务 (15s)"))
        await app.handle(key: .down)
        #expect(await service.touches >= 1)
        #expect(!(await screenText(app).contains("即将结束服务")))
        await app.handle(event: .maintenance(on: true, reason: "更换打印纸"))
        #expect(await app.screen == .maintenance)
        let text = await screenText(app)
        #expect(text.contains("设备维护中"))
        #expect(!text.contains("张*"))
        await app.handle(event: .maintenance(on: false, reason: nil))
        #expect(await app.screen == .idle)
    }

    @Test(arguments: [(80, 24), (120, 40), (100, 30)])
    func everyScreenFitsTheTerminal(width: Int, height: Int) async throws {
        let (app, _) = try makeApp()
        await app.handle(key: .character("e"))
        _ = await screenText(app, width: width, height: height)
        await app.handle(event: .sessionStarted(Self.holder))
        _ = await screenText(app, width: width, height: height)
        await app.handle(key: .character("1"))
        await type(app, "测试")
        await app.handle(key: .enter)
        _ = await screenText(app, width: width, height: height)
        await app.handle(key: .enter)
        let text = await screenText(app, width: width, height: height)
        #expect(text.contains("Legal representative"))
    }
}
