import Foundation
import KioskCore
import Registry

/// The back office's approval of an establishment application: the unified social credit code it
/// allocates (GB 32100) and the licence record the legal representative prints at any kiosk.
public enum LicenceIssuance {
    /// Why an application cannot be approved.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// The code for the application with registry number `SQ-YYYYMMDD-NNNNNNNN`: 9 (market
    /// regulation), 1 (enterprise), the region's six digits, an organisation code MA + six
    /// digits of the number with its GB 11714 check, and the GB 32100 check character.
    public static func code(registryNumber: String, region: String) throws(Refusal) -> CreditCode {
        guard region.count == 6, region.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw Refusal(description: "the region code is six digits, e.g. 441900, not '\(region.prefix(20))'")
        }
        guard let serial = registryNumber.split(separator: "-").last.flatMap({ Int($0) }), (1...999_999).contains(serial) else {
            throw Refusal(description: "\(registryNumber.prefix(40)) is not an application's registry number with a serial under 1,000,000")
        }
        let body = Array("MA" + String(format: "%06d", serial))
        let organisation = String(body) + String(CreditCode.organisationCheck(body))
        let prefix = "91" + region + organisation
        guard let check = CreditCode.checkCharacter(forPrefix: prefix), let code = try? CreditCode(prefix + String(check)) else {
            throw Refusal(description: "no valid code could be made from \(prefix)")
        }
        return code
    }

    /// Approves application `number`: allocates its code, stores its licence record and closes it
    /// as approved (the note names the code). Refused when there is no such application, it is
    /// closed already, or a named party has not confirmed it.
    public static func approve(number: String, region: String, authority: String, by: String, store: any RegistryStore,
                               progress: any ProgressStore, now: Date = Date()) async throws -> Result<EnterpriseRecord, Refusal> {
        guard let current = try await progress.progress(number: number), let application = try await progress.application(number: number) else {
            return .failure(Refusal(description: "no application \(number.prefix(80))"))
        }
        guard current.status != .approved, current.status != .refused else {
            return .failure(Refusal(description: "application \(current.registryNumber) is \(current.status.rawValue) already"))
        }
        if let openings = Openings(store), let problem = try await openings.approvalProblem(number: number, now: now) {
            return .failure(Refusal(description: problem.detail))
        }
        let code: CreditCode
        do { code = try Self.code(registryNumber: current.registryNumber, region: region) } catch { return .failure(error) }
        let record = Self.record(application, code: code, authority: authority, on: CalendarDate.today(now: now))
        try await store.load(RegistrySeed(enterprises: [record], persons: []))
        let change = StatusChange(status: .approved, note: "准予设立登记，统一社会信用代码 \(code.value)")
        if case .failure(let problem) = try await progress.setStatus(number: number, change, by: by, key: nil, now: now) {
            return .failure(Refusal(description: problem.detail))
        }
        return .success(record)
    }

    /// The licence record of `application`, established `on` that day.
    public static func record(_ application: ApplicationSubmission, code: CreditCode, authority: String, on day: CalendarDate) -> EnterpriseRecord {
        let parties = OpeningRules.parties(of: application)
        let representative = parties.first { $0.roles.contains(.legalRepresentative) }
            ?? ApplicationParty(idNumber: application.applicant.idNumber, name: application.applicant.name, roles: [.legalRepresentative])
        let enterprise = Enterprise(uscc: code.value, name: application.proposedName, type: application.type,
                                    legalRepresentative: representative.name, registeredCapital: application.registeredCapital,
                                    establishedOn: day, termFrom: day, termUntil: nil, address: application.address,
                                    businessScope: application.businessScope, authority: authority, issuedOn: day)
        return EnterpriseRecord(enterprise: enterprise, legalRepresentativeIdNumber: representative.idNumber.uppercased(), status: "存续",
                                archive: [ArchiveEvent(kind: .establishment, date: day, authority: authority, summary: "设立登记（\(application.trackingNumber)）")])
    }
}
