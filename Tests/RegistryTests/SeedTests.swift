import Foundation
import KioskCore
import Registry
import TestSupport
import Testing

@Suite struct SeedTests {
    let demo = BuiltProducts.repositoryPath("scripts/testbeds/demo-seed.json")

    @Test func theDemoDatasetLoads() throws {
        let seed = try RegistrySeed.load(try Data(contentsOf: URL(fileURLWithPath: demo)))
        #expect(seed.enterprises.count >= 30 && seed.persons.count >= 20)
        // The sample card holders are legal representatives and insured persons.
        #expect(seed.enterprises.contains { $0.legalRepresentativeIdNumber == "441900199003181234" })
        #expect(seed.persons.contains { $0.idNumber == "441900199003181234" })
    }

    func mutated(_ change: (inout [String: Any]) -> Void) throws -> Data {
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: demo))) as? [String: Any])
        change(&object)
        return try JSONSerialization.data(withJSONObject: object)
    }

    @Test func aBadRecordIsNamedByIndexAndField() throws {
        let badCode = try mutated { o in
            var list = o["enterprises"] as? [[String: Any]] ?? []
            list[3]["uscc"] = "91350100M000100Y44"
            o["enterprises"] = list
        }
        #expect(throws: SeedError(location: "enterprises[3].uscc", reason: "check character is 4 but should be 3: a character was probably mistyped")) {
            try RegistrySeed.load(badCode)
        }
        let missing = try mutated { o in
            var list = o["persons"] as? [[String: Any]] ?? []
            list[5].removeValue(forKey: "name")
            o["persons"] = list
        }
        #expect(throws: SeedError(location: "persons[5].name", reason: "is missing")) { try RegistrySeed.load(missing) }
        let badDate = try mutated { o in
            var list = o["enterprises"] as? [[String: Any]] ?? []
            list[7]["establishedOn"] = "2023-02-30"
            o["enterprises"] = list
        }
        #expect(throws: SeedError.self) { try RegistrySeed.load(badDate) }
        do { _ = try RegistrySeed.load(badDate) } catch { #expect(error.location == "enterprises[7].establishedOn") }
        #expect(throws: SeedError(location: "(file)", reason: "not valid JSON")) { try RegistrySeed.load(Data("{".utf8)) }
    }
}
