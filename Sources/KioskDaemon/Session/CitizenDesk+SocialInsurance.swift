import Foundation
import KioskAPI
import KioskCore
import Printing
import Registry

extension CitizenDesk {
    /// The card holder's own record on screen, after a face match; never cached, never logged.
    public func myInsurance() async throws -> InsuranceRecordView {
        let identity = try await holder(for: .socialInsuranceQuery)
        let record = try await socialInsurance(of: identity, missing: "insurance.none")
        return InsuranceRecordView(name: record.name, maskedIdNumber: identity.maskedIDNumber, region: record.region, enrolments: record.enrolments,
                                   payments: Array(record.payments.sorted { $0.month > $1.month }.prefix(120)),
                                   pension: record.pension, account: record.pensionAccount)
    }

    /// The retiree's yearly entitlement confirmation (养老保险待遇领取资格认证): the face match with a
    /// blink stands for the holder's presence. Online, the registry's record says whether the
    /// holder receives a pension and whether this year is confirmed already; offline, the
    /// confirmation is queued and the slip says it takes effect when the network is back.
    public func confirmPension(requestId: String) async throws -> PensionConfirmationView {
        let identity = try await holder(for: .pensionConfirmation)
        if let done = pensionOutcomes[requestId] { return done }
        let year = CalendarDate.today().year
        var online = true
        do {
            let record = try await gateway.socialInsurance(idNumber: identity.idNumber)
            guard record.pension != nil else {
                throw CitizenAPIError(messageKey: "pension.none", detail: "the registry has no pension paid to this card holder")
            }
            if let mark = record.pensionConfirmed, mark.year == year {
                return PensionConfirmationView(outcome: "alreadyConfirmed", messageKey: "pension.already", year: year,
                                               confirmedOn: mark.confirmedOn.description)
            }
        } catch let error as GatewayError {
            switch error {
            case .unreachable, .badAnswer: online = false
            case .notFound: throw CitizenAPIError(messageKey: "pension.none", detail: "the registry has no social-insurance record of this card holder")
            default: throw Self.citizenError(error)
            }
        }
        let confirmationId = "RZ-" + requestId.prefix(40)
        let confirmation = PensionConfirmation(confirmationId: String(confirmationId), applicant: Applicant(idNumber: identity.idNumber, name: identity.displayName),
                                               year: year, confirmedAt: Date(), liveness: "blink")
        if let problem = confirmation.problem() { throw CitizenAPIError(messageKey: "error.generic", detail: problem) }
        do { try await gateway.confirmPension(confirmation) } catch { throw Self.citizenError(error) }
        audit?.record(actor: "citizen", action: "submission.pension", subjectIdNumber: identity.idNumber, detail: "\(year) \(confirmation.confirmationId)")
        logger.info("pension confirmation queued", metadata: ["online": "\(online)"])
        let slipPrinted = await printReceipt(ReceiptSlip(service: "养老保险待遇领取资格认证（\(year) 年度）", time: Date(), kiosk: config.settings.kiosk.id,
                                                         trackingNumber: confirmation.confirmationId,
                                                         note: online ? "人证核验通过，本年度资格认证已完成" : "人证核验通过；网络恢复后自动上报社保经办机构，上报后生效"),
                                             requestID: "pension-" + requestId)
        let view = PensionConfirmationView(outcome: online ? "confirmed" : "queued", messageKey: online ? "pension.confirmed" : "pension.queued",
                                           year: year, confirmationId: confirmation.confirmationId, slipPrinted: slipPrinted)
        pensionOutcomes.remember(view, for: requestId)
        return view
    }
}

extension CitizenDesk {
    /// The holder's record at the registry, read now (never cached); `missing` is the text key
    /// when the registry has none.
    func socialInsurance(of identity: CardIdentity, missing: String) async throws -> SocialInsuranceRecord {
        do { return try await gateway.socialInsurance(idNumber: identity.idNumber) } catch {
            if case .notFound = error { throw CitizenAPIError(messageKey: missing, detail: "the registry has no social-insurance record of this card holder") }
            throw Self.citizenError(error)
        }
    }

    /// The holder's social security card from the registry's record, after a face match.
    func securityCard() async throws -> (CardIdentity, SecurityCard) {
        let identity = try await holder(for: .securityCardLoss)
        let record = try await socialInsurance(of: identity, missing: "sscard.none")
        guard let card = record.securityCard else {
            throw CitizenAPIError(messageKey: "sscard.none", detail: "no social security card was issued to this card holder")
        }
        return (identity, card)
    }

    public func mySecurityCard() async throws -> SecurityCardView {
        let (_, card) = try await securityCard()
        return SecurityCardView(maskedNumber: card.maskedNumber, issuedOn: card.issuedOn.description, lostOn: card.lostOn?.description)
    }

    /// Reports the holder's social security card lost (社会保障卡挂失). The registry records the
    /// report at once; while it is unreachable the outbox keeps it (for the holder's current card)
    /// and the receipt says the card stops when the report arrives.
    public func reportCardLoss(requestId: String) async throws -> CardLossView {
        if let done = cardLossOutcomes[requestId] { return done }
        let identity = try await holder()
        var card: SecurityCard?
        do {
            card = try await securityCard().1
        } catch let error as CitizenAPIError where error.messageKey == "registry.unreachable" {
            card = nil   // offline: the report names no card and stops the holder's current one
        }
        if let card, card.lostOn != nil {
            return CardLossView(outcome: "alreadyLost", messageKey: "sscard.already")
        }
        let report = CardLossReport(reportId: "GS-" + requestId.prefix(40), applicant: Applicant(idNumber: identity.idNumber, name: identity.displayName),
                                    cardNumber: card?.number, reportedAt: Date())
        if let problem = report.problem() { throw CitizenAPIError(messageKey: "error.generic", detail: problem) }
        let number: String?
        do { number = try await gateway.reportCardLoss(report) } catch { throw Self.citizenError(error) }
        audit?.record(actor: "citizen", action: "submission.card-loss", subjectIdNumber: identity.idNumber,
                      detail: "\(report.reportId) \(number ?? "queued")")
        logger.info("card loss reported", metadata: ["recorded": "\(number != nil)"])
        let named = card.map { "社会保障卡 \($0.maskedNumber)" } ?? "您名下的社会保障卡"
        let note = number.map { "\(named) 已挂失，即时生效（中心编号 \($0)）；补卡请到社保窗口办理" }
            ?? "\(named) 挂失已受理：网络恢复后自动上报，上报后生效；急需停用请拨打 12333"
        let receiptPrinted = await printReceipt(ReceiptSlip(service: "社会保障卡挂失", time: Date(), kiosk: config.settings.kiosk.id,
                                                            trackingNumber: report.reportId, note: note),
                                                requestID: "card-loss-" + requestId)
        let view = CardLossView(outcome: number == nil ? "queued" : "recorded", messageKey: number == nil ? "sscard.queued" : "sscard.recorded",
                                registryNumber: number, reportId: report.reportId, receiptPrinted: receiptPrinted)
        cardLossOutcomes.remember(view, for: requestId)
        return view
    }
}
