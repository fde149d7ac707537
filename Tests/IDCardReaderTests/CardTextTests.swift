import Foundation
import IDCardReader
import KioskCore
import Testing

@Suite struct CardTextTests {
    @Test("every card kind round-trips through the text block", arguments: Array(SampleCards.byName.keys.sorted()))
    func roundTrip(name: String) throws {
        let card = try #require(SampleCards.byName[name])
        #expect(try CardText.decode(CardText.encode(card)) == card)
    }

    @Test func longTermCardsHaveNoEndDateAndSayNullInJSON() throws {
        let card = try CardText.decode(CardText.encode(SampleCards.residentLongTerm))
        #expect(card.validUntil == nil)
        let json = String(decoding: try JSONEncoder().encode(card), as: UTF8.self)
        #expect(json.contains("\"validUntil\":null"))
    }

    @Test func cardTypeComesFromOffset248() {
        var block = CardText.encode(SampleCards.resident)
        block[248] = 0; block[249] = 0
        #expect((try? CardText.decode(block))?.cardType == .resident)
    }

    @Test func ethnicityTable() {
        #expect(Ethnicity.name(code: "01") == "汉")
        #expect(Ethnicity.name(code: "56") == "基诺")
        #expect(Ethnicity.name(code: "57") == "其他")
        #expect(Ethnicity.name(code: "97") == "其他")
        #expect(Ethnicity.name(code: "98") == "外国血统中国籍人士")
        #expect(Ethnicity.name(code: "77") == nil)
    }

    @Test func badFieldsAreNamed() {
        var block = CardText.encode(SampleCards.resident)
        block[36] = UInt8(ascii: "X")  // birth date
        #expect(throws: CardDataError.field("birthDate", "'X9900318' is not a YYYYMMDD date")) {
            try CardText.decode(block)
        }
        var sex = CardText.encode(SampleCards.resident)
        sex[30] = UInt8(ascii: "5")
        #expect(throws: CardDataError.self) { try CardText.decode(sex) }
    }

    @Test func readResponseLayoutParsesItsOwnLengthFields() throws {
        let text = CardText.encode(SampleCards.foreigner2017)
        let data = ReadResponseLayout.encode(text: text, photo: [1, 2, 3], fingerprint: [4, 5], withFingerprintField: true)
        let layout = try ReadResponseLayout(data: data)
        #expect(layout.photo == [1, 2, 3])
        #expect(layout.fingerprint == [4, 5])
        #expect(throws: CardDataError.self) { try ReadResponseLayout(data: Array(data.dropLast())) }
    }

    @Test func cardDescriptionIsMasked() {
        let text = "\(SampleCards.resident)"
        #expect(!text.contains("张三"))
        #expect(!text.contains("441900199003181234"))
        #expect(text.contains("441900********1234"))
    }
}

@Suite struct PhotoPluginTests {
    @Test func withoutThePluginThePhotoStaysRawAndTheErrorSaysWhatToInstall() {
        #expect(throws: PhotoDecodeError.noPlugin("/nonexistent/libwlt2bmp.so")) {
            try WLTPhotoDecoder(path: "/nonexistent/libwlt2bmp.so")
        }
        #expect(PhotoDecodeError.noPlugin("/x").description.contains("YITIJI_WLT_PLUGIN"))
    }

    @Test func aLibraryWithoutTheFunctionIsRefused() throws {
        let libc = "/lib/x86_64-linux-gnu/libc.so.6"
        guard FileManager.default.fileExists(atPath: libc) else { return }
        #expect(throws: PhotoDecodeError.missingSymbol(libc, "unpack")) { try WLTPhotoDecoder(path: libc) }
    }
}
