import Foundation
import KioskCore
import Testing

@Suite struct IdentityValidationTests {
    let today = CalendarDate(year: 2026, month: 11, day: 23)!

    @Test("valid numbers", arguments: [
        ("441900199003181234", IDNumberKind.resident),
        ("11010519491231002x", .resident),
        ("810000198506120024", .hongKongPermit),
        ("830000199201010041", .taiwanPermit),
        ("911316198808080015", .foreigner2023),
    ])
    func valid(text: String, kind: IDNumberKind) throws {
        let number = try IDNumber(text, today: today)
        #expect(number.kind == kind)
        #expect(number.value == text.uppercased())
    }

    @Test func legacyFifteenDigitsConvert() throws {
        let number = try IDNumber("440304850721055", today: today)
        #expect(number.value == "440304198507210550")
        #expect(number.wasConverted)
        #expect(number.sex == .male)
    }

    @Test("invalid numbers say why", arguments: [
        ("", IDNumberError.empty),
        ("4419001990031812", .wrongLength(16)),
        ("44190019900318123A", .invalidCharacter("A", position: 18)),
        ("441900199003181235", .checkCharacterMismatch(expected: "4", found: "5")),
        ("441900199002301234", .impossibleBirthDate("19900230")),
        ("001900199003181234", .unknownRegion("00")),
    ])
    func invalid(text: String, error: IDNumberError) {
        #expect(throws: error) { try IDNumber(text, today: today) }
    }

    @Test func futureAndAncientBirthDatesAreRefused() {
        let future = "4419002030010112" + "3"
        let check = IDNumber.checkCharacter(for: Array(future))
        #expect(throws: IDNumberError.birthDateInFuture(CalendarDate(year: 2030, month: 1, day: 1)!)) {
            try IDNumber(future + String(check), today: today)
        }
        let old = "44190018990101123"
        #expect(throws: IDNumberError.birthDateTooEarly(CalendarDate(year: 1899, month: 1, day: 1)!)) {
            try IDNumber(old + String(IDNumber.checkCharacter(for: Array(old))), today: today)
        }
    }

    @Test("valid credit codes", arguments: ["91350100M000100Y43", "91110000600037341L", " 91110000600037341l "])
    func creditCodes(text: String) throws {
        #expect(try CreditCode(text).value == text.trimmingCharacters(in: .whitespaces).uppercased())
    }

    @Test func creditCodeErrorsSayWhy() {
        #expect(throws: CreditCodeError.wrongLength(17)) { try CreditCode("91350100M000100Y4") }
        #expect(throws: CreditCodeError.invalidCharacter("I", position: 9)) { try CreditCode("91350100I000100Y43") }
        #expect(throws: CreditCodeError.organisationCodeCheckMismatch(expected: "4", found: "5")) {
            try CreditCode("91350100M000100Y53")
        }
        #expect(throws: CreditCodeError.checkCharacterMismatch(expected: "3", found: "4")) {
            try CreditCode("91350100M000100Y44")
        }
    }

    @Test func masking() {
        #expect(IDNumber.mask("441900199003181234") == "441900********1234")
        #expect(CardIdentity.maskName("张三") == "张*")
        #expect(CardIdentity.maskName("欧阳娜娜") == "欧***")
    }

    @Test func sensitiveBytesAreZeroedOnWipe() {
        let bytes = SensitiveBytes([1, 2, 3])
        bytes.wipe()
        #expect(bytes.bytes.isEmpty)
    }
}
