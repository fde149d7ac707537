import Foundation
import KioskCore
import Registry
@testable import RegistryServer
import Testing

/// What every store keeps of an opening: the parties an application names, each party's
/// confirmation (the first stands, one arriving before its application too), the window fixed on
/// arrival; approval waits for every party.
extension RegistryStoreTests {
    static func exerciseOpening(_ store: any RegistryStore & ProgressStore & OpeningStore) async throws {
        let zhang = Applicant(idNumber: "441900199003181234", name: "张三"), li = Applicant(idNumber: "11010519491231002X", name: "李四")
        let wang = Applicant(idNumber: "441900198511073024", name: "王五")
        let openings = Openings(progress: store, store: store)
        let now = Date()
        func application(_ n: Int, parties: [ApplicationParty]) -> ApplicationSubmission {
            ApplicationSubmission(trackingNumber: "YT-DG-0030-20261204-00000\(n)", applicant: zhang, proposedName: "东莞市开办\(n)号科技有限公司",
                                  type: "有限责任公司", registeredCapital: "人民币壹佰万元", address: "东莞市", businessScope: "软件",
                                  submittedAt: now.addingTimeInterval(-60), parties: parties)
        }
        func confirmation(_ who: Applicant, of tracking: String, id: String, at: Date = now) -> PartyConfirmation {
            PartyConfirmation(confirmationId: id, trackingNumber: tracking, applicant: who, confirmedAt: at, faceMatched: true)
        }
        func item(_ kind: SubmissionKind, key: String, _ value: some Encodable, window: TimeInterval = Openings.defaultWindow) throws -> StoredSubmission {
            try RegistryRoutes.prepare(kind: kind, key: key, body: RegistryJSON.encoder().encode(value), window: window)
        }
        // 张三 legal representative and contact with 60 %, 李四 investor and supervisor with 40 %.
        let two = application(1, parties: [ApplicationParty(idNumber: zhang.idNumber, name: zhang.name, roles: [.investor, .legalRepresentative, .contact],
                                                            shareBasisPoints: 6000),
                                           ApplicationParty(idNumber: li.idNumber, name: li.name, roles: [.investor, .supervisor], shareBasisPoints: 4000)])
        // 李四's confirmation arrives first (another kiosk's outbox was quicker): kept, then counted.
        let early = try await store.submit(kioskId: "DG-0031", [try item(.partyConfirmations, key: "c1", confirmation(li, of: two.trackingNumber, id: "QR-early-0001"))],
                                           now: now)
        #expect(try early.first??.get().registryNumber.hasPrefix("QR-") == true)
        _ = try await store.submit(kioskId: "DG-0030", [try item(.applications, key: "a1", two)], now: now)
        var (progress, _, state) = try #require(try await openings.state(number: two.trackingNumber, now: now))
        #expect(state.stage == .complete && state.confirmedCount == 2, "\(state)")
        #expect(progress.opening == state)
        #expect(abs(state.confirmBy.timeIntervalSince(now) - Openings.defaultWindow) < 2)

        // A second application: 李四 must confirm; a stranger's confirmation changes nothing; the
        // first of 李四's stands, a resend answers its receipt.
        let second = application(2, parties: two.parties ?? [])
        _ = try await store.submit(kioskId: "DG-0030", [try item(.applications, key: "a2", second, window: 3600)], now: now)
        (_, _, state) = try #require(try await openings.state(number: second.trackingNumber, now: now))
        #expect(state.stage == .awaiting && state.confirmedCount == 1)
        #expect(abs(state.confirmBy.timeIntervalSince(now) - 3600) < 2, "the window is fixed on arrival")
        let invitations = try await openings.invitations(idNumber: li.idNumber.lowercased(), now: now)
        #expect(invitations.map(\.trackingNumber) == [second.trackingNumber, two.trackingNumber], "\(invitations.map(\.trackingNumber))")
        #expect(invitations.first?.confirmedAt == nil && invitations.last?.confirmedAt != nil)
        #expect(try await openings.invitations(idNumber: wang.idNumber, now: now).isEmpty)
        #expect(try await openings.approvalProblem(number: second.trackingNumber, now: now)?.code == "application.unconfirmed")
        guard case .failure(let refusal) = try await LicenceIssuance.approve(number: second.trackingNumber, region: "441900", authority: "东莞市市场监督管理局",
                                                                             by: "o", store: store, progress: store, now: now) else {
            Issue.record("approved before every party confirmed"); return
        }
        #expect(refusal.description.contains("1 of 2"))
        _ = try await store.submit(kioskId: "DG-0031", [try item(.partyConfirmations, key: "c2", confirmation(wang, of: second.trackingNumber, id: "QR-stranger-01"))],
                                   now: now)
        #expect(try await openings.state(number: second.trackingNumber, now: now)?.2.confirmedCount == 1)
        let first = confirmation(li, of: second.trackingNumber, id: "QR-li-000001", at: now.addingTimeInterval(-10))
        let receipt = try #require(try await store.submit(kioskId: "DG-0031", [try item(.partyConfirmations, key: "c3", first)], now: now).first??.get())
        #expect(try await store.submit(kioskId: "DG-0031", [try item(.partyConfirmations, key: "c3", first)], now: now).first??.get() == receipt)
        _ = try await store.submit(kioskId: "DG-0032", [try item(.partyConfirmations, key: "c4", confirmation(li, of: second.trackingNumber, id: "QR-li-000002"))],
                                   now: now)
        let kept = try #require(try await store.confirmations(trackingNumber: second.trackingNumber)[li.idNumber])
        #expect(abs(kept.timeIntervalSince(now.addingTimeInterval(-10))) < 1.5, "the first confirmation stands")
        (progress, _, state) = try #require(try await openings.state(number: second.trackingNumber, now: now))
        #expect(state.stage == .complete)
        // Approved: the licence names the legal representative the application named.
        let licence = try await LicenceIssuance.approve(number: second.trackingNumber, region: "441900", authority: "东莞市市场监督管理局", by: "o",
                                                        store: store, progress: store, now: now).get()
        #expect(licence.enterprise.legalRepresentative == "张三" && licence.legalRepresentativeIdNumber == zhang.idNumber)

        // A third, where 李四 is the legal representative and never confirms: lapsed after the window.
        let third = application(3, parties: [ApplicationParty(idNumber: zhang.idNumber, name: zhang.name, roles: [.investor, .contact], shareBasisPoints: 10_000),
                                             ApplicationParty(idNumber: li.idNumber, name: li.name, roles: [.legalRepresentative])])
        _ = try await store.submit(kioskId: "DG-0030", [try item(.applications, key: "a3", third, window: 60)], now: now)
        let later = now.addingTimeInterval(120)
        #expect(try await openings.state(number: third.trackingNumber, now: later)?.2.stage == .lapsed)
        #expect(try await openings.approvalProblem(number: third.trackingNumber, now: later)?.code == "application.lapsed")
        // A confirmation made after the window does not bring it back.
        _ = try await store.submit(kioskId: "DG-0031", [try item(.partyConfirmations, key: "c5", confirmation(li, of: third.trackingNumber, id: "QR-li-late-01",
                                                                                                         at: later))], now: later)
        #expect(try await openings.state(number: third.trackingNumber, now: later)?.2.stage == .lapsed)
        // A malformed confirmation is refused as a whole.
        var bad = confirmation(li, of: third.trackingNumber, id: "QR-bad-000001")
        bad.applicant.idNumber = "110105194912310021"
        #expect(code(try #require(try await store.submit(kioskId: "DG-0031", [try item(.partyConfirmations, key: "c6", bad)], now: now).first ?? nil))
                == "submission.invalid")
    }
}
