import Foundation
import KioskCore
import Registry
import Testing

/// The parties of an establishment application and where their confirmations stand.
@Suite struct OpeningRulesTests {
    static let zhang = Applicant(idNumber: "441900199003181234", name: "张三")
    static let li = Applicant(idNumber: "11010519491231002X", name: "李四")
    static let wang = Applicant(idNumber: "441900198511073024", name: "王五")

    static func party(_ who: Applicant, _ roles: [PartyRole], _ share: Int? = nil) -> ApplicationParty {
        ApplicationParty(idNumber: who.idNumber, name: who.name, roles: roles, shareBasisPoints: share)
    }

    static let good = [party(zhang, [.investor, .legalRepresentative, .contact], 6000), party(li, [.investor, .supervisor], 4000)]

    @Test func sharesAreWrittenAsPeopleWriteThem() {
        #expect(Shares.basisPoints("40") == 4000 && Shares.basisPoints("33.33") == 3333 && Shares.basisPoints("12.5%") == 1250)
        #expect(Shares.basisPoints("100") == 10_000 && Shares.basisPoints("0") == 0)
        for bad in ["", "100.01", "101", "-5", "1.234", "a", "4 0", "40..", ".5", "１０", "99999999999999999999"] {
            #expect(Shares.basisPoints(bad) == nil, "\(bad)")
        }
        #expect(Shares.percent(3333) == "33.33%" && Shares.percent(4000) == "40%" && Shares.percent(1250) == "12.50%")
    }

    @Test func partiesStandOnlyAsCompanyRegistrationAllows() {
        #expect(OpeningRules.problem(Self.good, applicant: Self.zhang) == nil)
        #expect(OpeningRules.problem([Self.party(Self.zhang, [.investor, .legalRepresentative, .contact], 10_000)], applicant: Self.zhang) == nil)
        let cases: [([ApplicationParty], String)] = [
            ([], "1 to 50"),
            ([Self.party(Self.zhang, [.investor, .legalRepresentative, .contact], 6000), Self.party(Self.li, [.investor], 3000)], "add up to 90%, not 100%"),
            ([Self.party(Self.zhang, [.investor, .legalRepresentative, .contact], 6000), Self.party(Self.li, [.investor, .legalRepresentative], 4000)],
             "exactly one party is the legal-representative"),
            ([Self.party(Self.zhang, [.investor, .legalRepresentative], 6000), Self.party(Self.li, [.investor], 4000)], "exactly one party is the contact"),
            ([Self.party(Self.zhang, [.investor, .legalRepresentative, .contact, .supervisor], 10_000)], "cannot also be the supervisor"),
            ([Self.party(Self.zhang, [.investor, .legalRepresentative, .contact], 6000), Self.party(Self.zhang, [.investor], 4000)], "a second time"),
            ([Self.party(Self.zhang, [.investor, .legalRepresentative, .contact], 10_000), Self.party(Self.li, [.supervisor], 100)], "holds no share"),
            ([Self.party(Self.zhang, [.investor, .legalRepresentative, .contact], nil)], "shareBasisPoints is 1 to 10000"),
            ([Self.party(Self.zhang, [.investor, .legalRepresentative, .contact], 20_000)], "shareBasisPoints is 1 to 10000"),
            ([Self.party(Self.zhang, [.legalRepresentative, .contact])], "at least one party is an investor"),
            ([Self.party(Self.zhang, [.investor, .investor, .legalRepresentative, .contact], 10_000)], "each role once"),
            ([Self.party(Self.zhang, [], nil)], "each role once"),
            ([ApplicationParty(idNumber: "441900199003181235", name: "张三", roles: [.investor, .legalRepresentative, .contact], shareBasisPoints: 10_000)],
             "not a valid ID number"),
            ([ApplicationParty(idNumber: Self.zhang.idNumber, name: " ", roles: [.investor, .legalRepresentative, .contact], shareBasisPoints: 10_000)],
             "name must hold"),
            ([Self.party(Self.li, [.investor, .legalRepresentative, .contact], 10_000)], "the applicant is one of the parties"),
            (Array(repeating: Self.party(Self.li, [.investor], 1), count: 51), "1 to 50"),
        ]
        for (parties, expected) in cases {
            let problem = OpeningRules.problem(parties, applicant: Self.zhang)
            #expect(problem?.contains(expected) == true, "\(expected): \(problem ?? "nil")")
        }
        // The application carries the rule: a bad list makes the whole submission invalid.
        var application = Self.application()
        application.parties = [Self.party(Self.zhang, [.investor, .legalRepresentative, .contact], 5000)]
        #expect(application.problem()?.contains("not 100%") == true)
    }

    static func application(parties: [ApplicationParty]? = good) -> ApplicationSubmission {
        ApplicationSubmission(trackingNumber: "YT-DG-0001-20261204-000001", applicant: zhang, proposedName: "东莞市开办测试科技有限公司",
                              type: "有限责任公司", registeredCapital: "人民币壹佰万元", address: "东莞市", businessScope: "软件",
                              submittedAt: Date(timeIntervalSince1970: 1_800_000_000), parties: parties)
    }

    @Test func theApplicantConfirmsBySubmittingTheOthersInTheirWindow() {
        let application = Self.application()
        let confirmBy = Date(timeIntervalSince1970: 1_800_000_000 + 3600)
        var state = OpeningState.of(application, confirmBy: confirmBy, confirmations: [:], now: confirmBy.addingTimeInterval(-1))
        #expect(state.stage == .awaiting && state.confirmedCount == 1 && state.parties.map(\.maskedName) == ["张*", "李*"])
        // A confirmation by someone not named changes nothing; the named party's completes it.
        state = OpeningState.of(application, confirmBy: confirmBy, confirmations: [Self.wang.idNumber: confirmBy.addingTimeInterval(-60)],
                                now: confirmBy.addingTimeInterval(-1))
        #expect(state.stage == .awaiting && state.confirmedCount == 1)
        state = OpeningState.of(application, confirmBy: confirmBy, confirmations: [Self.li.idNumber: confirmBy.addingTimeInterval(-60)], now: confirmBy)
        #expect(state.stage == .complete && state.confirmedCount == 2)
        // Made after the window it does not count, however it arrived; past the window, unconfirmed is lapsed.
        state = OpeningState.of(application, confirmBy: confirmBy, confirmations: [Self.li.idNumber: confirmBy.addingTimeInterval(1)],
                                now: confirmBy.addingTimeInterval(2))
        #expect(state.stage == .lapsed && state.confirmedCount == 1)
        // Made in time and delivered late (an offline kiosk's outbox), it counts.
        state = OpeningState.of(application, confirmBy: confirmBy, confirmations: [Self.li.idNumber: confirmBy.addingTimeInterval(-5)],
                                now: confirmBy.addingTimeInterval(86_400))
        #expect(state.stage == .complete)
        // An application of one person is complete as it arrives.
        state = OpeningState.of(Self.application(parties: nil), confirmBy: confirmBy, confirmations: [:], now: confirmBy.addingTimeInterval(10))
        #expect(state.stage == .complete && state.parties.count == 1)
    }

    @Test func anInvitationIsForANamedPartyOnly() {
        let application = Self.application()
        let state = OpeningState.of(application, confirmBy: Date(timeIntervalSince1970: 1_900_000_000), confirmations: [:], now: Date())
        let invitation = OpeningInvitation.of(application, idNumber: Self.li.idNumber.lowercased(), state: state)
        #expect(invitation?.roles == [.investor, .supervisor] && invitation?.shareBasisPoints == 4000 && invitation?.confirmedAt == nil)
        #expect(invitation?.applicantMaskedName == "张*")
        #expect(OpeningInvitation.of(application, idNumber: Self.wang.idNumber, state: state) == nil)
        #expect(OpeningInvitation.of(application, idNumber: Self.zhang.idNumber, state: state)?.confirmedAt != nil)
    }

    @Test func aConfirmationIsChecked() {
        var confirmation = PartyConfirmation(confirmationId: "QR-12345678", trackingNumber: "YT-DG-0001-20261204-000001", applicant: Self.li,
                                             confirmedAt: Date(), faceMatched: true)
        #expect(confirmation.problem() == nil)
        confirmation.trackingNumber = "YT/../x"
        #expect(confirmation.problem() != nil)
        confirmation.trackingNumber = "YT-DG-0001-20261204-000001"
        confirmation.confirmationId = String(repeating: "x", count: 65)
        #expect(confirmation.problem() != nil)
        confirmation.confirmationId = "QR-12345678"
        confirmation.applicant = Applicant(idNumber: "123", name: "李四")
        #expect(confirmation.problem() != nil)
    }

    /// One rule for a person a submission names, whatever the submission: 1 to 64 characters of
    /// name (a long name of a minority nationality fits) and a valid ID number.
    @Test func everySubmissionNamingAPersonTakesTheSameName() {
        let long = Applicant(idNumber: Self.li.idNumber, name: String(repeating: "阿", count: 64))
        let tooLong = Applicant(idNumber: Self.li.idNumber, name: String(repeating: "阿", count: 65))
        let now = Date()
        func problems(_ who: Applicant) -> [String?] {
            let address = DeliveryAddress(recipient: "李四", mobile: "13812345678", address: "东莞市南城区鸿福路 100 号")
            return [
                PensionConfirmation(confirmationId: "RZ-confirm-0001", applicant: who, year: 2026, confirmedAt: now, liveness: "blink").problem(),
                CardLossReport(reportId: "GS-loss-00000001", applicant: who, cardNumber: nil, reportedAt: now).problem(),
                PartyConfirmation(confirmationId: "QR-12345678", trackingNumber: "YT-DG-0001-20261204-000001", applicant: who,
                                  confirmedAt: now, faceMatched: true).problem(),
                DeliveryRequest(deliveryId: "delivery-0000001", site: "hall-1", documentKind: "social-insurance-certificate", applicant: who,
                                address: address, requestedAt: now).problem(),
                ApplicationSubmission(trackingNumber: "YT-DG-0001-20261204-000001", applicant: who, proposedName: "东莞市测试有限公司",
                                      type: "有限责任公司", registeredCapital: "人民币壹佰万元", address: "东莞市", businessScope: "软件",
                                      submittedAt: now).problem(),
            ]
        }
        #expect(problems(long).allSatisfy { $0 == nil }, "\(problems(long))")
        #expect(problems(tooLong).allSatisfy { $0?.contains("applicant.name") == true }, "\(problems(tooLong))")
    }
}
