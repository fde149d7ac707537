import Foundation
import Testing
import KioskCore

@Suite struct EnterpriseCodingTests {
    static let json = """
    {"uscc":"91350100M000100Y43","name":"测试科技有限公司","type":"有限责任公司(自然人独资)",
     "legalRepresentative":"测试","registeredCapital":"人民币壹佰万元","establishedOn":"2015-06-01",
     "termFrom":"2015-06-01","termUntil":null,"address":"广东省东莞市测试路1号",
     "businessScope":"软件开发","authority":"东莞市市场监督管理局","issuedOn":"2020-01-02",
     "legalRepresentativeIdNumber":"11010519491231002X","status":"存续",
     "archive":[{"kind":"establishment","date":"2015-06-01"},
                {"kind":"change","date":"2018-03-04","changes":[{"item":"住所","before":"甲","after":"乙"}]}]}
    """

    @Test func recordRoundTripsWithFlatFieldsAndExplicitNull() throws {
        let record = try JSONDecoder().decode(EnterpriseRecord.self, from: Data(Self.json.utf8))
        #expect(record.enterprise.termUntil == nil)
        #expect(record.enterprise.establishedOn == CalendarDate(year: 2015, month: 6, day: 1))
        #expect(record.archive.count == 2)
        #expect(record.archive[1].changes.first?.after == "乙")
        let encoded = String(decoding: try JSONEncoder().encode(record.enterprise), as: UTF8.self)
        #expect(encoded.contains("\"termUntil\":null"))
        let again = try JSONDecoder().decode(EnterpriseRecord.self, from: try JSONEncoder().encode(record))
        #expect(again == record)
    }

    @Test func badDateNamesTheValue() {
        let bad = Self.json.replacingOccurrences(of: "\"establishedOn\":\"2015-06-01\"", with: "\"establishedOn\":\"2015-02-30\"")
        #expect(throws: DecodingError.self) {
            _ = try JSONDecoder().decode(EnterpriseRecord.self, from: Data(bad.utf8))
        }
    }

    @Test(arguments: [("1234.50", 123450), ("7", 700), ("0.5", 50)])
    func moneyParses(text: String, fen: Int) {
        #expect(Money(text)?.fen == fen)
    }

    @Test(arguments: ["", "1.234", "-1", "1,00", "abc", "."])
    func moneyRejects(text: String) {
        #expect(Money(text) == nil)
    }
}
