import Foundation
import KioskCore

/// What is wrong with a seed file: the record by index, the field, and why.
public struct SeedError: Error, Sendable, Equatable, CustomStringConvertible {
    /// e.g. `enterprises[3].uscc`.
    public let location: String
    public let reason: String

    public init(location: String, reason: String) {
        self.location = location
        self.reason = reason
    }

    public var description: String { "\(location): \(reason)" }
}

/// The registry's seed file: `{"enterprises": [...], "persons": [...]}`. An enterprise is the
/// business-licence object plus `legalRepresentativeIdNumber`, `status` and `archive`; a person
/// is a social-insurance record. Loaded whole or not at all.
public struct RegistrySeed: Codable, Sendable {
    public var enterprises: [EnterpriseRecord]
    public var persons: [SocialInsuranceRecord]

    public init(enterprises: [EnterpriseRecord], persons: [SocialInsuranceRecord]) {
        self.enterprises = enterprises
        self.persons = persons
    }

    /// Parses and checks `data`; the first bad record is reported by index and field.
    public static func load(_ data: Data) throws(SeedError) -> RegistrySeed {
        let seed: RegistrySeed
        do { seed = try JSONDecoder().decode(RegistrySeed.self, from: data) } catch {
            let problem = DecodingProblem(error, root: "(file)")
            throw SeedError(location: problem.location, reason: problem.reason)
        }
        try seed.validate()
        return seed
    }

    /// Checks codes, ID numbers, date order and uniqueness.
    public func validate(today: CalendarDate = .today()) throws(SeedError) {
        var codes: Set<String> = []
        for (i, record) in enterprises.enumerated() {
            let e = record.enterprise
            let at = "enterprises[\(i)]"
            do { _ = try CreditCode(e.uscc) } catch { throw SeedError(location: "\(at).uscc", reason: error.description) }
            guard codes.insert(e.uscc).inserted else { throw SeedError(location: "\(at).uscc", reason: "\(e.uscc) appears twice") }
            do { _ = try IDNumber(record.legalRepresentativeIdNumber, today: today) } catch {
                throw SeedError(location: "\(at).legalRepresentativeIdNumber", reason: error.description)
            }
            for (field, value) in [("name", e.name), ("legalRepresentative", e.legalRepresentative), ("authority", e.authority),
                                   ("address", e.address), ("status", record.status)] where value.trimmingCharacters(in: .whitespaces).isEmpty {
                throw SeedError(location: "\(at).\(field)", reason: "is empty")
            }
            if let until = e.termUntil, until < e.termFrom {
                throw SeedError(location: "\(at).termUntil", reason: "\(until) is before termFrom \(e.termFrom)")
            }
            for (j, event) in record.archive.enumerated() where event.date < e.establishedOn {
                throw SeedError(location: "\(at).archive[\(j)].date", reason: "\(event.date) is before establishedOn \(e.establishedOn)")
            }
        }
        var people: Set<String> = []
        for (i, p) in persons.enumerated() {
            let at = "persons[\(i)]"
            let number: IDNumber
            do { number = try IDNumber(p.idNumber, today: today) } catch {
                throw SeedError(location: "\(at).idNumber", reason: error.description)
            }
            guard people.insert(number.value).inserted else { throw SeedError(location: "\(at).idNumber", reason: "appears twice") }
            for (j, payment) in p.payments.enumerated() {
                let parts = payment.month.split(separator: "-")
                guard parts.count == 2, parts[0].count == 4, let m = Int(parts[1]), (1...12).contains(m) else {
                    throw SeedError(location: "\(at).payments[\(j)].month", reason: "'\(payment.month)' is not YYYY-MM")
                }
            }
        }
    }
}
