import Foundation
import KioskAPI
import KioskCore
import KioskTerminal

/// The citizen's interface as a state machine: keys and kiosk events in, a drawn screen out.
/// It holds no terminal and no socket, so every screen can be driven and checked in tests.
public actor CitizenApp {
    /// The screens of the flow.
    public enum Screen: Equatable, Sendable {
        case idle
        case reading
        case menu
        /// The chosen service's guide, before it starts.
        case guide
        /// A queue ticket, printed or not.
        case ticket
        /// Typing a receipt's tracking number.
        case progressInput
        /// The card holder's applications.
        case progressList
        /// One application's progress.
        case progressDetail
        case queryInput
        case results
        case detail
        case preview
        /// The person–card check before a document that is only for the card's holder.
        case faceCheck
        /// The card holder's social-insurance record: enrolments, payments, the personal account.
        case insurance
        /// Confirming a lost social security card (社会保障卡挂失).
        case cardLoss
        /// The establishment applications naming the holder, to confirm (企业开办当事人确认).
        case openings
        case printing
        case printResult
        case applicationForm
        case applicationReceipt
        case rating
        case ratingReason
        case goodbye
        case maintenance
        case message
        case busy
    }

    let service: any CitizenOperations
    public private(set) var config: InterfaceConfiguration
    public internal(set) var screen: Screen = .idle
    public private(set) var language: String
    var holder: CardHolderView?
    var status = KioskStatusView(maintenance: false, readerPresent: true)
    var notice: String?          // a text key shown on the idle screen (e.g. card.removed)
    var warningSeconds: Int?     // idle warning banner
    var selection = 0
    var scroll = 0
    var input = ""
    var busyKey = "loading"
    var messageKey = ""
    /// Values of the message's placeholders (an appointment's `{start}`, `{end}`).
    var messageValues: [String: String] = [:]
    var messageReturn: Screen = .idle
    /// The menu item whose guide is shown.
    var guideIndex = 0
    var ticket: QueueTicketView?
    var progressItems: [ProgressView] = []
    var progressShown: ProgressView?
    /// Where the progress detail goes back to.
    var progressReturn: Screen = .menu
    var searchResult = EnterpriseSearchResult(results: [])
    var detail: EnterpriseDetail?
    var previewRequest: DocumentRequest?
    var previewDocument: DocumentPreview?
    var previewReturn: Screen = .menu
    /// What waits for the face check.
    enum FaceNext: Sendable, Equatable {
        case document(DocumentRequest)
        case pension
        case insurance
        case cardLoss
        case openings
    }
    var securityCard: SecurityCardView?
    var insurance: InsuranceRecordView?
    /// The record's part shown: 0 enrolments, 1 payments, 2 the personal account.
    var insuranceTab = 0
    /// The furthest the record's part scrolls, as last drawn (its lines less the rows that show).
    var insuranceScrollLimit = 0
    var faceNext: FaceNext?
    /// The last check's outcome text and the checks left, shown on the check screen.
    var faceResultKey: String?
    var faceAttemptsLeft: Int?
    var printOutcome: PrintOutcomeView?
    var printRequestId = ""
    var serviceCode: String?
    var formFields = Array(repeating: "", count: CitizenApp.formKeys.count)
    /// What the form is for: an application, posting a certificate, or one party of the application.
    enum FormMode: Sendable { case application, certificateDelivery, party }
    /// A natural person the application names, as the form holds them.
    struct PartyDraft: Sendable, Equatable {
        /// nil: the card holder.
        var idNumber: String?
        var name: String
        var roles: [String]
        var shareBasisPoints: Int?
    }
    /// The application's parties, the holder first.
    var parties: [PartyDraft] = []
    /// The party the party form edits; nil: a new one.
    var editingParty: Int?
    /// The applications naming the holder, for their confirmation.
    var openings: OpeningListView?
    var formMode = FormMode.application
    /// The application's result is posted (免费邮递) instead of collected at the hall; F3 switches.
    var postResult = false
    var receipt: ApplicationReceipt?
    var ratingLevel = 5
    /// The pinyin input of text fields, if the kiosk has one.
    let inputMethod: (any InputMethod)?
    /// Whether letters in text fields go to the input method (F2 switches); on in Chinese.
    var chineseInput = true

    /// - Parameter inputMethod: composes Chinese in text fields; nil: letters go in as typed.
    public init(service: any CitizenOperations, config: InterfaceConfiguration, inputMethod: (any InputMethod)? = nil) {
        self.service = service
        self.config = config
        self.inputMethod = inputMethod
        language = config.languages.first ?? "zh"
        chineseInput = language == "zh"
    }

    // MARK: Inputs

    /// Loads the kiosk's current status (call once at start).
    public func start() async {
        if let current = try? await service.status() {
            status = current
            holder = current.session
            if current.maintenance { screen = .maintenance } else if holder != nil { screen = .menu }
        }
    }

    /// Handles something that happened at the kiosk.
    public func handle(event: KioskEvent) async {
        switch event {
        case .cardReading:
            if screen == .idle || screen == .goodbye { screen = .reading }
        case let .sessionStarted(view):
            holder = view
            notice = nil
            warningSeconds = nil
            if screen != .maintenance { go(.menu) }
        case let .cardUnreadable(reason):
            if holder == nil, screen != .maintenance {
                notice = reason
                screen = .idle
            }
        case .cardRemoved:
            endSessionLocally(notice: "card.removed")
        case let .sessionEnded(reason):
            endSessionLocally(notice: [.timeout: "session.goodbye", .cardRemoved: "card.removed"][reason])
        case let .sessionWarning(secondsLeft):
            warningSeconds = secondsLeft
        case let .readerPresent(present):
            status.readerPresent = present
        case .printProgress:
            break
        case let .maintenance(on, reason):
            status.maintenance = on
            status.maintenanceReason = reason
            if on { endSessionLocally(notice: nil); screen = .maintenance } else if screen == .maintenance { screen = .idle }
        case .configurationChanged:
            if let fresh = try? await service.interfaceConfiguration() {
                config = fresh
                if !fresh.languages.contains(language) { language = fresh.languages.first ?? "zh" }
            }
        }
    }

    /// Handles a key the citizen pressed.
    public func handle(key: Key) async {
        if warningSeconds != nil {
            warningSeconds = nil
            await service.touch()
        } else if holder != nil {
            await service.touch()
        }
        if case .character(let c) = key, "eE".contains(c), !acceptsText {
            language = (language == "zh" && config.languages.contains("en")) ? "en" : (config.languages.first ?? "zh")
            chineseInput = language == "zh"
            return
        }
        if usesInputMethod, let inputMethod {
            if key == .function(2) {
                chineseInput.toggle()
                inputMethod.reset()
                return
            }
            if chineseInput {
                let result = inputMethod.feed(key)
                if let text = result.commit { insert(text) }
                if result.consumed { return }
            }
        }
        switch screen {
        case .idle, .reading: await idleKey(key)
        case .menu: await menuKey(key)
        case .guide: await guideKey(key)
        case .ticket:
            if key == .enter || key == .escape { finishTicket() }
        case .progressInput: await progressInputKey(key)
        case .progressList: await progressListKey(key)
        case .progressDetail: await progressDetailKey(key)
        case .queryInput: await queryKey(key)
        case .results: await resultsKey(key)
        case .detail: await detailKey(key)
        case .preview: await previewKey(key)
        case .faceCheck: await faceCheckKey(key)
        case .insurance: await insuranceKey(key)
        case .cardLoss: await cardLossKey(key)
        case .openings: await openingsKey(key)
        case .printResult:
            if key == .enter || key == .escape { startRating() }
        case .applicationForm: await formKey(key)
        case .applicationReceipt:
            if key == .enter || key == .escape { startRating() }
        case .rating: await ratingKey(key)
        case .ratingReason: await reasonKey(key)
        case .goodbye:
            if key == .enter || key == .escape { await finishVisit() }
        case .message:
            if key == .enter || key == .escape || key == .backspace { screen = messageReturn }
        case .maintenance, .printing, .busy:
            break
        }
    }

    var acceptsText: Bool { screen == .queryInput || screen == .applicationForm || screen == .progressInput }

    /// Whether letters may compose Chinese here (a tracking number is typed as it is).
    var usesInputMethod: Bool {
        acceptsText && screen != .progressInput && !(screen == .applicationForm && editedField.map(Self.plainFields.contains) == true)
    }

    /// What the citizen is composing in a text field, if anything.
    var composition: Composition? { usesInputMethod && chineseInput ? inputMethod?.composition : nil }

    /// Adds committed text to the field being edited.
    private func insert(_ text: String) {
        switch screen {
        case .queryInput, .progressInput:
            for c in text where input.count < 60 { input.append(c) }
        case .applicationForm:
            if let field = editedField { for c in text where formFields[field].count < 200 { formFields[field].append(c) } }
        default: break
        }
    }

    // MARK: Screens' keys

    private func idleKey(_ key: Key) async {
        if key == .enter { notice = nil; go(.menu) }
    }

    private func menuKey(_ key: Key) async {
        let count = config.services.count + 1
        switch key {
        case .up: selection = (selection + count - 1) % count
        case .down, .tab: selection = (selection + 1) % count
        case .character(let c) where c.isNumber:
            if let n = c.wholeNumberValue, (1...count).contains(n) { selection = n - 1; await chooseMenuItem() }
        case .enter: await chooseMenuItem()
        case .escape, .backspace:
            if holder == nil { screen = .idle } else { go(.goodbye) }
        default: break
        }
    }

    private func chooseMenuItem() async {
        guard selection < config.services.count else {
            if holder == nil { screen = .idle } else { startRatingOrGoodbye() }
            return
        }
        let item = config.services[selection]
        if item.guide != nil {
            guideIndex = selection
            go(.guide)
            return
        }
        await start(item)
    }

    private func guideKey(_ key: Key) async {
        switch key {
        case .down, .pageDown, .right: scroll += 1
        case .up, .pageUp, .left: scroll = max(0, scroll - 1)
        case .escape, .backspace:
            let index = guideIndex
            go(.menu)
            selection = index
        case .enter:
            guard config.services.indices.contains(guideIndex) else { go(.menu); return }
            await start(config.services[guideIndex])
        case .character(let c) where "pP".contains(c):
            guard config.services.indices.contains(guideIndex) else { return }
            let code = config.services[guideIndex].code, requestId = UUID().uuidString, page = scroll
            await perform("print.progress", returnTo: .guide) {
                let outcome = try await self.service.printGuide(serviceCode: code, requestId: requestId)
                self.show(message: outcome.messageKey, returnTo: .guide)
            }
            scroll = page
        default: break
        }
    }

    /// Starts the service `item` (after its guide).
    private func start(_ item: ServiceItemView) async {
        if item.requiresCard, holder == nil {
            show(message: "card.needed", returnTo: .menu)
            return
        }
        serviceCode = item.code
        switch item.action {
        case "archive-query", "business-licence":
            input = ""
            go(.queryInput)
        case "social-insurance-certificate":
            previewReturn = .menu
            await openPreview(DocumentRequest(kind: "social-insurance-certificate"))
        case "establishment-application":
            formFields = Array(repeating: "", count: Self.formKeys.count)
            formMode = .application
            postResult = false
            parties = [Self.holderAlone]
            go(.applicationForm)
        case "opening-confirmation":
            previewReturn = .menu
            await openOpenings()
        case "counter-ticket":
            let requestId = UUID().uuidString
            await perform("ticket.printing", returnTo: .menu) {
                self.ticket = try await self.service.takeTicket(serviceCode: item.code, requestId: requestId)
                self.go(.ticket)
            }
        case "application-progress":
            if holder != nil {
                await perform("loading", returnTo: .menu) {
                    let items = try await self.service.myApplications()
                    if items.isEmpty {
                        self.show(message: "progress.noneMine", returnTo: .menu)
                    } else {
                        self.progressItems = items
                        self.go(.progressList)
                    }
                }
            } else {
                input = ""
                go(.progressInput)
            }
        case "social-insurance-query":
            previewReturn = .menu
            await openInsurance()
        case "security-card-loss":
            previewReturn = .menu
            await openCardLoss()
        case "pension-confirmation":
            previewReturn = .menu
            await confirmPension()
        case "appointment-check-in":
            let requestId = UUID().uuidString
            await perform("ticket.printing", returnTo: .menu) {
                self.ticket = try await self.service.checkIn(requestId: requestId)
                self.go(.ticket)
            }
        default:
            show(message: "error.generic", returnTo: .menu)
        }
    }

    private func queryKey(_ key: Key) async {
        switch key {
        case .character(let c): if input.count < 60 { input.append(c) }
        case .backspace: if !input.isEmpty { input.removeLast() } else { go(.menu) }
        case .escape: go(.menu)
        case .enter:
            let query = input.trimmingCharacters(in: .whitespaces)
            guard query.count >= 2 else { show(message: "error.invalidQuery", returnTo: .queryInput); return }
            await perform("query.searching", returnTo: .queryInput) {
                let result = try await self.service.searchEnterprises(query)
                if result.results.isEmpty {
                    self.show(message: "error.notfound", returnTo: .queryInput)
                } else {
                    self.searchResult = result
                    self.go(.results)
                }
            }
        default: break
        }
    }

    private func resultsKey(_ key: Key) async {
        let count = searchResult.results.count
        switch key {
        case .up: selection = max(0, selection - 1)
        case .down: selection = min(count - 1, selection + 1)
        case .character(let c) where c.isNumber:
            if let n = c.wholeNumberValue, (1...min(9, count)).contains(n) { selection = n - 1; await openDetail() }
        case .enter: await openDetail()
        case .escape, .backspace: go(.queryInput)
        default: break
        }
    }

    private func openDetail() async {
        guard searchResult.results.indices.contains(selection) else { return }
        let uscc = searchResult.results[selection].uscc
        await perform("loading", returnTo: .results) {
            self.detail = try await self.service.enterprise(uscc: uscc)
            self.go(.detail)
        }
    }

    private func detailKey(_ key: Key) async {
        guard let detail else { go(.results); return }
        switch key {
        case .up: scroll = max(0, scroll - 1)
        case .down: scroll += 1
        case .pageDown: scroll += 10
        case .pageUp: scroll = max(0, scroll - 10)
        case .character("1"):
            previewReturn = .detail
            await openPreview(DocumentRequest(kind: "business-licence", uscc: detail.enterprise.uscc))
        case .character("2"):
            previewReturn = .detail
            await openPreview(DocumentRequest(kind: "archive-extract", uscc: detail.enterprise.uscc))
        case .escape, .backspace:
            selection = searchResult.results.firstIndex { $0.uscc == detail.enterprise.uscc } ?? 0
            screen = .results
        default: break
        }
    }

    private func openPreview(_ request: DocumentRequest) async {
        guard holder != nil else { show(message: "card.needed", returnTo: previewReturn); return }
        let back = previewReturn
        await performNeedingFace("loading", returnTo: back, then: .document(request)) {
            self.previewDocument = try await self.service.preview(request)
            self.previewRequest = request
            self.printRequestId = UUID().uuidString
            self.go(.preview)
        }
    }

    private func faceCheckKey(_ key: Key) async {
        switch key {
        case .escape, .backspace:
            faceNext = nil
            go(previewReturn)
        case .enter:
            guard let next = faceNext else { go(previewReturn); return }
            let back = previewReturn
            await perform("face.checking", returnTo: back) {
                let result = try await self.service.checkFace()
                if result.passed {
                    self.faceNext = nil
                    self.faceResultKey = nil
                    switch next {
                    case .document(let request): await self.openPreview(request)
                    case .pension: await self.confirmPension()
                    case .insurance: await self.openInsurance()
                    case .cardLoss: await self.openCardLoss()
                    case .openings: await self.openOpenings()
                    }
                } else if result.outcome == "unavailable" {
                    self.show(message: "face.unavailable", returnTo: back)
                } else if result.attemptsLeft == 0 {
                    self.faceNext = nil
                    self.show(message: "face.locked", returnTo: .menu)
                } else {
                    self.faceResultKey = result.messageKey
                    self.faceAttemptsLeft = result.attemptsLeft
                    self.go(.faceCheck)
                }
            }
        default: break
        }
    }

    /// `perform`, except that when kioskd wants the face check first (the service is only for the
    /// card's holder) the check is shown, `next` following when it passes.
    func performNeedingFace(_ busy: String, returnTo: Screen, then next: FaceNext, _ body: () async throws -> Void) async {
        await perform(busy, returnTo: returnTo) {
            do { try await body() } catch let error as CitizenAPIError where error.messageKey == "face.needed" {
                self.askFace(then: next)
            }
        }
    }

    /// Shows the face check; `next` follows when it passes.
    func askFace(then next: FaceNext) {
        faceNext = next
        faceResultKey = nil
        faceAttemptsLeft = nil
        go(.faceCheck)
    }

    /// The pension entitlement confirmation: after the face check, kioskd records it and prints a slip.
    private func confirmPension() async {
        let requestId = UUID().uuidString
        await performNeedingFace("pension.confirming", returnTo: .menu, then: .pension) {
            let result = try await self.service.confirmPension(requestId: requestId)
            self.show(message: result.messageKey, returnTo: .menu)
            self.messageValues = ["year": String(result.year), "date": result.confirmedOn ?? ""]
        }
    }

    /// The card holder's record, after the face check.
    private func openInsurance() async {
        await performNeedingFace("loading", returnTo: .menu, then: .insurance) {
            self.insurance = try await self.service.myInsurance()
            self.insuranceTab = 0
            self.go(.insurance)
        }
    }

    /// The holder's card, masked, to confirm before it is reported lost.
    private func openCardLoss() async {
        await performNeedingFace("loading", returnTo: .menu, then: .cardLoss) {
            do {
                let card = try await self.service.mySecurityCard()
                if card.lostOn != nil {
                    self.show(message: "sscard.already", returnTo: .menu)
                } else {
                    self.securityCard = card
                    self.go(.cardLoss)
                }
            } catch let error as CitizenAPIError where error.messageKey == "registry.unreachable" {
                // Offline the card cannot be shown; the report still goes, for the holder's current card.
                self.securityCard = nil
                self.go(.cardLoss)
            }
        }
    }

    private func cardLossKey(_ key: Key) async {
        switch key {
        case .enter:
            let requestId = UUID().uuidString
            await perform("sscard.reporting", returnTo: .menu) {
                let result = try await self.service.reportCardLoss(requestId: requestId)
                self.securityCard = nil
                self.show(message: result.messageKey, returnTo: .menu)
            }
        case .escape, .backspace:
            securityCard = nil
            go(.menu)
        default: break
        }
    }

    private func insuranceKey(_ key: Key) async {
        switch key {
        case .character(let c) where ("1"..."3").contains(c):
            insuranceTab = (c.wholeNumberValue ?? 1) - 1
            scroll = 0
        case .left: insuranceTab = (insuranceTab + 2) % 3; scroll = 0
        case .right, .tab: insuranceTab = (insuranceTab + 1) % 3; scroll = 0
        case .down: scroll = min(insuranceScrollLimit, scroll + 1)
        case .up: scroll = max(0, scroll - 1)
        case .pageDown: scroll = min(insuranceScrollLimit, scroll + 10)
        case .pageUp: scroll = max(0, scroll - 10)
        case .escape, .backspace, .enter:
            insurance = nil
            go(.menu)
        default: break
        }
    }

    private func previewKey(_ key: Key) async {
        let pages = previewDocument?.pages.count ?? 0
        switch key {
        case .right, .pageDown, .down: scroll = min(max(0, pages - 1), scroll + 1)
        case .left, .pageUp, .up: scroll = max(0, scroll - 1)
        case .escape, .backspace: screen = previewReturn; scroll = 0
        case .character(let c) where "mM".contains(c) && previewRequest?.kind == "social-insurance-certificate":
            formFields = Array(repeating: "", count: Self.formKeys.count)
            formMode = .certificateDelivery
            go(.applicationForm)
        case .enter:
            guard let request = previewRequest else { return }
            let requestId = printRequestId
            screen = .printing
            do {
                printOutcome = try await service.print(request, requestId: requestId)
            } catch let error as CitizenAPIError {
                printOutcome = PrintOutcomeView(state: "failed", messageKey: error.messageKey)
            } catch {
                printOutcome = PrintOutcomeView(state: "failed", messageKey: "print.failed")
            }
            if holder == nil { return }   // the card was removed while printing
            go(.printResult)
        default: break
        }
    }

    static let formKeys = ["apply.name", "apply.type", "apply.capital", "apply.address", "apply.scope",
                           "delivery.label.recipient", "delivery.label.mobile", "delivery.label.address",
                           "party.idNumber", "party.name", "party.roles", "party.share"]
    /// The party form's fields' indices in `formFields`.
    static let partyFields = [8, 9, 10, 11]
    /// Fields typed as they are, never through the input method.
    static let plainFields: Set<Int> = [8, 10, 11]
    /// The delivery fields' indices in `formFields`.
    static let deliveryFields = [5, 6, 7]

    /// The fields the form shows, in order (the submit row follows them).
    var formIndices: [Int] {
        switch formMode {
        case .certificateDelivery: return Self.deliveryFields
        case .application: return postResult ? Array(0...7) : Array(0...4)
        case .party: return editingParty.map { parties.indices.contains($0) && parties[$0].idNumber == nil } == true ? [10, 11] : Self.partyFields
        }
    }

    /// The field being edited, if the selection is on a field.
    var editedField: Int? { formIndices.indices.contains(selection) ? formIndices[selection] : nil }

    private func formKey(_ key: Key) async {
        let submitIndex = formSubmitIndex
        switch key {
        case .up: selection = max(0, selection - 1)
        case .down, .tab: selection = min(submitIndex, selection + 1)
        case .function(3) where formMode == .application:
            // Posting opens the address fields (selected); collecting closes them (to submit).
            postResult.toggle()
            if selection >= 5 { selection = postResult ? 5 : formSubmitIndex }
        case .function(4) where formMode == .application:
            openParty(nil)
        case .delete where formMode == .application:
            removeSelectedParty()
        case .character(let c):
            if let field = editedField, formFields[field].count < 200, Self.accepts(c, field: field, in: formFields[field]) {
                formFields[field].append(field == 8 ? Character(c.uppercased()) : c)
            }
        case .backspace:
            if let field = editedField, !formFields[field].isEmpty { formFields[field].removeLast() }
        case .escape:
            switch formMode {
            case .certificateDelivery: go(.preview)
            case .application: go(.menu)
            case .party: closePartyForm()
            }
        case .enter:
            if formMode == .party, selection == submitIndex {
                saveParty()
                return
            }
            if formMode == .application, let row = partyRow {
                openParty(row < parties.count ? row : nil)
                return
            }
            if selection < submitIndex {
                // The proposed name is declared as it is entered: the registry's verdict at once.
                if formMode == .application, editedField == 0, !formFields[0].trimmingCharacters(in: .whitespaces).isEmpty {
                    await declareName()
                    return
                }
                // From the last field to the submit row; the party rows are reached with ↑↓.
                selection = selection + 1 == formIndices.count ? submitIndex : selection + 1
                return
            }
            if let missing = formIndices.firstIndex(where: { formFields[$0].trimmingCharacters(in: .whitespaces).isEmpty }) {
                input = config.text(Self.formKeys[formIndices[missing]], language)
                selection = missing
                show(message: "apply.missing", returnTo: .applicationForm)
                return
            }
            var delivery: DeliveryAddress?
            if formIndices.contains(5) {
                let address = DeliveryAddress(recipient: formFields[5].trimmingCharacters(in: .whitespaces),
                                              mobile: formFields[6].filter { !$0.isWhitespace }, address: formFields[7])
                if let (field, _) = address.problem() {
                    selection = formIndices.firstIndex(of: ["recipient": 5, "mobile": 6, "address": 7][field] ?? 5) ?? 0
                    show(message: "delivery." + field, returnTo: .applicationForm)
                    return
                }
                delivery = address
            }
            if formMode == .certificateDelivery, let delivery {
                let request = previewRequest ?? DocumentRequest(kind: "social-insurance-certificate")
                let requestId = printRequestId
                await perform("loading", returnTo: .applicationForm) {
                    self.receipt = try await self.service.requestDelivery(request, address: delivery, requestId: requestId)
                    self.go(.applicationReceipt)
                }
                return
            }
            if let (problem, values) = partiesProblem() {
                selection = formIndices.count
                show(message: problem, returnTo: .applicationForm)
                messageValues = values
                return
            }
            let form = ApplicationForm(proposedName: formFields[0], type: formFields[1], registeredCapital: formFields[2],
                                       address: formFields[3], businessScope: formFields[4], delivery: delivery, parties: partyEntries)
            await perform("loading", returnTo: .applicationForm) {
                self.receipt = try await self.service.submitApplication(form)
                self.go(.applicationReceipt)
            }
            if screen == .message, messageKey.hasPrefix("name.") { selection = 0 }   // back to the name
        default: break
        }
    }

    /// Asks the registry about the proposed name; goes on to the next field only when it may be used.
    private func declareName() async {
        let name = formFields[0].trimmingCharacters(in: .whitespaces)
        let field = selection
        await perform("name.checking", returnTo: .applicationForm) {
            let verdict = try await self.service.checkName(name)
            if verdict.acceptable {
                self.screen = .applicationForm
                self.selection = field + 1
            } else {
                self.show(message: verdict.messageKey, returnTo: .applicationForm)
                self.messageValues = verdict.values
                self.selection = field
            }
        }
    }

    private func progressInputKey(_ key: Key) async {
        switch key {
        case .character(let c) where c.isASCII && (c.isLetter || c.isNumber || "-._".contains(c)):
            if input.count < 80 { input.append(c) }
        case .backspace: if !input.isEmpty { input.removeLast() } else { go(.menu) }
        case .escape: go(.menu)
        case .enter:
            let number = input.trimmingCharacters(in: .whitespaces)
            guard number.count >= 6 else { show(message: "progress.invalid", returnTo: .progressInput); return }
            await perform("query.searching", returnTo: .progressInput) {
                self.progressShown = try await self.service.progress(trackingNumber: number)
                self.progressReturn = .progressInput
                self.go(.progressDetail)
            }
        default: break
        }
    }

    private func progressListKey(_ key: Key) async {
        switch key {
        case .up: selection = max(0, selection - 1)
        case .down: selection = min(progressItems.count - 1, selection + 1)
        case .character(let c) where c.isNumber:
            if let n = c.wholeNumberValue, (1...min(9, progressItems.count)).contains(n) { selection = n - 1; openProgress() }
        case .enter: openProgress()
        case .escape, .backspace: go(.menu)
        default: break
        }
    }

    private func openProgress() {
        guard progressItems.indices.contains(selection) else { return }
        let index = selection
        progressShown = progressItems[index]
        progressReturn = .progressList
        go(.progressDetail)
        selection = index
    }

    private func progressDetailKey(_ key: Key) async {
        switch key {
        case .down, .pageDown: scroll += 1
        case .up, .pageUp: scroll = max(0, scroll - 1)
        case .character(let c) where "pP".contains(c):
            guard let number = progressShown?.trackingNumber else { return }
            let requestId = UUID().uuidString
            await perform("print.progress", returnTo: .progressDetail) {
                let outcome = try await self.service.printProgress(trackingNumber: number, requestId: requestId)
                self.show(message: outcome.messageKey, returnTo: .progressDetail)
            }
        case .enter, .escape, .backspace:
            let index = selection
            screen = progressReturn
            if progressReturn == .progressInput { input = "" }
            scroll = 0
            selection = progressReturn == .progressList ? index : 0
        default: break
        }
    }

    /// After a ticket: a card holder rates the visit; without a card, back to the start.
    private func finishTicket() {
        ticket = nil
        if holder != nil { startRating() } else { serviceCode = nil; screen = .idle; selection = 0; scroll = 0 }
    }

    private func startRating() {
        ratingLevel = 5
        selection = 0
        go(.rating)
    }

    private func startRatingOrGoodbye() {
        if serviceCode != nil { startRating() } else { go(.goodbye) }
    }

    private func ratingKey(_ key: Key) async {
        let levels = config.ratingLevels
        switch key {
        case .up: selection = max(0, selection - 1)
        case .down: selection = min(levels.count - 1, selection + 1)
        case .character(let c) where c.isNumber:
            if let n = c.wholeNumberValue, let index = levels.firstIndex(where: { $0.value == n }) { selection = index }
        case .escape: go(.goodbye)
        case .enter:
            guard levels.indices.contains(selection) else { return }
            ratingLevel = levels[selection].value
            if ratingLevel <= config.reasonRequiredAtOrBelow {
                go(.ratingReason)
            } else {
                await submitRating(reason: nil)
            }
        default: break
        }
    }

    private func reasonKey(_ key: Key) async {
        let reasons = config.ratingReasons
        switch key {
        case .up: selection = max(0, selection - 1)
        case .down: selection = min(reasons.count - 1, selection + 1)
        case .character(let c) where c.isNumber:
            if let n = c.wholeNumberValue, (1...reasons.count).contains(n) { selection = n - 1 }
        case .escape, .backspace: selection = 0; screen = .rating
        case .enter:
            guard reasons.indices.contains(selection) else { return }
            await submitRating(reason: reasons[selection].zh)
        default: break
        }
    }

    private func submitRating(reason: String?) async {
        let rating = RatingSubmission(level: ratingLevel, reason: reason, serviceCode: serviceCode ?? "SC-GENERAL",
                                      formVersion: config.evaluationVersion)
        await perform("loading", returnTo: .rating) {
            try await self.service.rate(rating)
            self.notice = "rating.thanks"
            self.go(.goodbye)
        }
    }

    private func finishVisit() async {
        await service.endSession()
        endSessionLocally(notice: holder == nil ? nil : "card.take")
    }

    // MARK: Helpers

    func go(_ next: Screen) {
        inputMethod?.reset()
        screen = next
        selection = 0
        scroll = 0
    }

    func show(message key: String, returnTo: Screen) {
        messageKey = key
        messageValues = [:]
        messageReturn = returnTo
        screen = .message
    }

    /// Runs a service call behind a busy screen; a failure shows its message and returns.
    func perform(_ busy: String, returnTo: Screen, _ body: () async throws -> Void) async {
        busyKey = busy
        screen = .busy
        do {
            try await body()
        } catch let error as CitizenAPIError {
            if screen == .busy {
                show(message: error.messageKey, returnTo: returnTo)
                messageValues = error.values ?? [:]
            }
        } catch {
            if screen == .busy { show(message: "error.generic", returnTo: returnTo) }
        }
    }

    /// Clears everything personal from the interface at once.
    private func endSessionLocally(notice: String?) {
        holder = nil
        detail = nil
        previewDocument = nil
        previewRequest = nil
        faceNext = nil
        insurance = nil
        securityCard = nil
        faceResultKey = nil
        faceAttemptsLeft = nil
        printOutcome = nil
        receipt = nil
        ticket = nil
        progressItems = []
        progressShown = nil
        messageValues = [:]
        formFields = Array(repeating: "", count: Self.formKeys.count)
        parties = []
        openings = nil
        input = ""
        searchResult = EnterpriseSearchResult(results: [])
        serviceCode = nil
        warningSeconds = nil
        self.notice = notice
        language = config.languages.first ?? "zh"
        chineseInput = language == "zh"
        inputMethod?.reset()
        screen = status.maintenance ? .maintenance : .idle
        selection = 0
        scroll = 0
    }
}
