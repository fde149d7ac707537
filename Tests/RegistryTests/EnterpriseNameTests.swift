import Registry
import Testing

@Suite struct EnterpriseNameTests {
    static let registered: [(name: String, uscc: String)] = [("演示市云端科技有限公司", "91441900100000008X"), ("演示市鸿福商贸有限公司", "91441900100000016X")]

    @Test(arguments: [
        ("演示市云端科技有限公司", "演示市", "云端", "科技", "有限公司"),
        ("广东省东莞市鸿图文化传媒股份有限公司", "广东省东莞市", "鸿图", "文化传媒", "股份有限公司"),
        ("演示市离线1号有限公司", "演示市", "离线1号", nil, "有限公司"),
        ("东莞市软件开发1有限公司", "东莞市", "软件开发1", nil, "有限公司"),
    ] as [(String, String, String, String?, String)])
    func aNameSplitsIntoItsFourParts(_ name: String, _ region: String, _ core: String, _ industry: String?, _ form: String) throws {
        let parts = try EnterpriseNames.parse(name).get()
        #expect(parts == EnterpriseNameParts(region: region, core: core, industry: industry, form: form))
    }

    @Test(arguments: ["云端科技有限公司", "演示市云端科技", "演示市云 端科技有限公司", "演示市云端科技有限公司！", "演示市有限公司", "演示市科技有限公司",
                      String(repeating: "长", count: 60) + "有限公司", ""])
    func aMalformedNameIsSaidWhy(_ name: String) {
        let result = EnterpriseNames.check(name, against: Self.registered)
        #expect(result.verdict == .malformed && result.detail?.isEmpty == false, "\(name): \(result)")
    }

    @Test func identicalAndSimilarNamesConflictOtherIndustriesAndRegionsDoNot() {
        var result = EnterpriseNames.check("演示市云端科技有限公司", against: Self.registered)
        #expect(result.verdict == .conflict && result.conflicts == [NameConflict(kind: .identical, name: "演示市云端科技有限公司", uscc: "91441900100000008X")])
        result = EnterpriseNames.check("演示市云端科技股份有限公司", against: Self.registered)
        #expect(result.verdict == .conflict && result.conflicts.first?.kind == .similar)
        #expect(EnterpriseNames.check("演示市云端商贸有限公司", against: Self.registered).available, "another industry")
        #expect(EnterpriseNames.check("东莞市云端科技有限公司", against: Self.registered).available, "another region")
        #expect(EnterpriseNames.check("演示市云途科技有限公司", against: Self.registered).available)
    }

    @Test func forbiddenWordsAreNamedWithWhy() {
        let result = EnterpriseNames.check("演示市中国云端科技有限公司", against: [])
        #expect(result.verdict == .forbidden && result.forbiddenWords == ["中国（须经国务院批准）"], "\(result)")
        #expect(EnterpriseNames.check("演示市云端银行科技有限公司", against: []).forbiddenWords.first?.hasPrefix("银行") == true)
    }
}
