import Foundation
import KioskCore
import Registry
@testable import RegistryServer
import Testing

@Suite struct LicenceIssuanceTests {
    @Test func everyAllocatedCodeIsAValidCreditCodeOfItsRegion() throws {
        var seen = Set<String>()
        for serial in [1, 42, 999, 123_456, 999_999] {
            let code = try LicenceIssuance.code(registryNumber: "SQ-20261204-\(String(format: "%08d", serial))", region: "441900")
            #expect(try CreditCode(code.value) == code)
            #expect(code.value.hasPrefix("91441900MA"))
            #expect(seen.insert(code.value).inserted, "one code per application")
        }
    }

    @Test(arguments: [("SQ-20261204-00000042", "4419"), ("SQ-20261204-00000042", "44190A"), ("SQ-20261204-01000000", "441900"),
                      ("SQ-20261204-00000000", "441900"), ("nonsense", "441900")])
    func badInputIsRefusedWithAReason(_ number: String, _ region: String) {
        #expect(throws: LicenceIssuance.Refusal.self) { try LicenceIssuance.code(registryNumber: number, region: region) }
    }
}
