import Foundation
import KioskAPI
import KioskCore
import Printing
import Registry

/// The whole enterprise opening at the kiosk: the parties an application names, and each party's
/// own confirmation with their card (and face, when the catalogue asks).
extension CitizenDesk {
    /// The form's parties as the registry takes them: the holder's entry (no ID number) gets the card's.
    static func parties(_ entries: [PartyEntry]?, holder identity: CardIdentity) throws -> [ApplicationParty]? {
        guard let entries else { return nil }
        var parties: [ApplicationParty] = []
        for (index, entry) in entries.enumerated() {
            var roles: [PartyRole] = []
            for text in entry.roles {
                guard let role = PartyRole(rawValue: text) else {
                    throw CitizenAPIError(messageKey: "apply.parties",
                                          detail: "parties[\(index)]: '\(text.prefix(30))' is not a role (investor, legal-representative, supervisor, contact)")
                }
                roles.append(role)
            }
            let isHolder = entry.idNumber == nil
            parties.append(ApplicationParty(idNumber: isHolder ? identity.idNumber : entry.idNumber ?? "",
                                            name: isHolder ? identity.displayName : (entry.name ?? "").trimmingCharacters(in: .whitespaces),
                                            roles: roles, shareBasisPoints: entry.shareBasisPoints))
        }
        if let problem = OpeningRules.problem(parties, applicant: Applicant(idNumber: identity.idNumber, name: identity.displayName)) {
            throw CitizenAPIError(messageKey: "apply.parties", detail: problem)
        }
        return parties
    }

    static func view(_ party: PartyStanding) -> PartyStandingView {
        PartyStandingView(maskedName: party.maskedName, roles: party.roles.map(\.rawValue), shareBasisPoints: party.shareBasisPoints,
                          confirmed: party.confirmedAt != nil)
    }

    static func view(_ invitation: OpeningInvitation, queuedByMe: Bool) -> OpeningView {
        OpeningView(trackingNumber: invitation.trackingNumber, proposedName: invitation.proposedName, type: invitation.type,
                           registeredCapital: invitation.registeredCapital, applicantMaskedName: invitation.applicantMaskedName,
                           roles: invitation.roles.map(\.rawValue), shareBasisPoints: invitation.shareBasisPoints, stage: invitation.state.stage.rawValue,
                           confirmBy: clock(invitation.state.confirmBy), parties: invitation.state.parties.map(view),
                           confirmedByMe: queuedByMe || invitation.confirmedAt != nil)
    }

    /// An application still in this kiosk's outbox, as the party `idNumber` sees it: the same
    /// rules as the registry's (the applicant confirmed by submitting, the holder by a
    /// confirmation queued here), with no window until the registry has it.
    static func view(undelivered application: ApplicationSubmission, idNumber: String, queued: Set<String>) -> OpeningView? {
        let mine = queued.contains(application.trackingNumber) ? [idNumber.uppercased(): application.submittedAt] : [:]
        let state = OpeningState.of(application, confirmBy: .distantFuture, confirmations: mine, now: Date())
        guard let invitation = OpeningInvitation.of(application, idNumber: idNumber, state: state) else { return nil }
        var view = Self.view(invitation, queuedByMe: false)
        view.stage = "undelivered"
        view.confirmBy = nil
        return view
    }

    /// The applications naming the holder: the registry's, and those still in this kiosk's
    /// outbox; with the registry unreachable, only the latter (`offline`).
    public func myOpenings() async throws -> OpeningListView {
        let identity = try await holder(for: .openingConfirmation)
        let queued = await gateway.queuedConfirmations(idNumber: identity.idNumber)
        let local = await gateway.undelivered(trackingNumber: nil, idNumber: identity.idNumber).reversed()
            .compactMap { Self.view(undelivered: $0, idNumber: identity.idNumber, queued: queued) }
        do {
            let known = try await gateway.openings(idNumber: identity.idNumber).map { Self.view($0, queuedByMe: queued.contains($0.trackingNumber)) }
            return OpeningListView(openings: local + known.filter { k in !local.contains { $0.trackingNumber == k.trackingNumber } }, offline: false)
        } catch {
            switch error {
            case .unreachable, .badAnswer: return OpeningListView(openings: local, offline: true)
            default: throw Self.citizenError(error)
            }
        }
    }

    /// The holder confirms application `trackingNumber` as a named party (企业开办当事人确认).
    /// Online, the registry's list says whether the holder is named and the window is open; the
    /// confirmation goes at once, else into the outbox, and the registry judges it on arrival.
    public func confirmOpening(trackingNumber: String, requestId: String) async throws -> OpeningConfirmationView {
        let identity = try await holder(for: .openingConfirmation)
        if let done = openingOutcomes[requestId] { return done }
        let list = try await myOpenings()
        var opening = list.openings.first { $0.trackingNumber == trackingNumber }
        if opening == nil, !list.offline {
            throw CitizenAPIError(messageKey: "opening.none", detail: "no application \(trackingNumber.prefix(80)) names this card holder as a party")
        }
        if let opening, opening.confirmedByMe || opening.stage == OpeningStage.complete.rawValue {
            return OpeningConfirmationView(outcome: "already", messageKey: "opening.already", trackingNumber: trackingNumber,
                                           confirmedCount: opening.parties.filter(\.confirmed).count, partyCount: opening.parties.count, stage: opening.stage)
        }
        if opening?.stage == OpeningStage.lapsed.rawValue {
            throw CitizenAPIError(messageKey: "opening.lapsed", detail: "the window to confirm \(trackingNumber.prefix(80)) ended at \(opening?.confirmBy ?? "?")")
        }
        let confirmation = PartyConfirmation(confirmationId: "QR-" + requestId.prefix(40), trackingNumber: trackingNumber,
                                             applicant: Applicant(idNumber: identity.idNumber, name: identity.displayName), confirmedAt: Date(),
                                             faceMatched: await sessions.facePassed)
        if let problem = confirmation.problem() { throw CitizenAPIError(messageKey: "error.generic", detail: problem) }
        let number: String?
        do { number = try await gateway.confirmParty(confirmation) } catch { throw Self.citizenError(error) }
        audit?.record(actor: "citizen", action: "submission.party-confirmation", subjectIdNumber: identity.idNumber,
                      detail: "\(trackingNumber) \(number ?? "queued")")
        logger.info("party confirmation", metadata: ["recorded": "\(number != nil)"])
        // Online, where the application stands now.
        if number != nil, let now = try? await gateway.openings(idNumber: identity.idNumber).first(where: { $0.trackingNumber == trackingNumber }) {
            opening = Self.view(now, queuedByMe: false)
        }
        let confirmed = opening.map { $0.parties.filter(\.confirmed).count }
        let roles = (opening?.roles ?? []).compactMap { PartyRole(rawValue: $0)?.chinese }.joined(separator: "、")
        var note = number == nil ? "本人确认已受理：网络恢复后自动上报，在确认期限内上报即有效" : "本人已确认（\(roles)）"
        if number != nil, let opening, let confirmed {
            note += opening.stage == OpeningStage.complete.rawValue ? "；全部 \(opening.parties.count) 位当事人均已确认，等待登记机关审核"
                : "；已确认 \(confirmed)/\(opening.parties.count) 人，其余当事人须在 \(opening.confirmBy ?? "期限") 前本人确认"
        }
        let slipPrinted = await printReceipt(ReceiptSlip(service: "企业开办当事人确认 · " + (opening?.proposedName ?? trackingNumber), time: Date(),
                                                         kiosk: config.settings.kiosk.id, trackingNumber: trackingNumber, note: note),
                                             requestID: "opening-" + requestId)
        let view = OpeningConfirmationView(outcome: number == nil ? "queued" : "confirmed", messageKey: number == nil ? "opening.queued" : "opening.confirmed",
                                           trackingNumber: trackingNumber, confirmedCount: number == nil ? nil : confirmed,
                                           partyCount: number == nil ? nil : opening?.parties.count, stage: number == nil ? nil : opening?.stage,
                                           slipPrinted: slipPrinted)
        openingOutcomes.remember(view, for: requestId)
        return view
    }
}
