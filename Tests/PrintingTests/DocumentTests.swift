import Crypto
import Foundation
import KioskCore
@testable import Printing
import TestSupport
import Testing

@Suite struct DocumentTests {
    static let key = DocumentSigningKey(key: Curve25519.Signing.PrivateKey())
    static let templates = BuiltProducts.repositoryPath("kiosk-config/templates")

    func renderer() throws -> DocumentRenderer {
        try DocumentRenderer(signingKey: DocumentTests.key, provider: "演示市政务服务和数据管理局", templatesDirectory: DocumentTests.templates)
    }

    func fixture(_ kind: DocumentKind) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: BuiltProducts.repositoryPath("Tests/Fixtures/documents/\(kind.rawValue).json")))
    }

    func text(of pdf: Data) throws -> String {
        let dir = try TemporaryDirectory(prefix: "pdf")
        defer { dir.remove() }
        let path = dir.path + "/d.pdf"
        try pdf.write(to: URL(fileURLWithPath: path))
        return pdfText(path)
    }

    @Test("every kind renders with its fields, copy line and code", arguments: DocumentKind.allCases)
    func renders(kind: DocumentKind) throws {
        let doc = try renderer().render(kind: kind, json: try fixture(kind))
        #expect(doc.pdf.starts(with: Array("%PDF".utf8)))
        let text = try text(of: doc.pdf).replacingOccurrences(of: " ", with: "")
        #expect(text.contains("此件由演示市政务服务和数据管理局提供"))
        switch kind {
        case .businessLicence:
            #expect(text.contains("91350100M000100Y43") && text.contains("演示市云端科技有限公司") && text.contains("长期"))
        case .archiveExtract:
            #expect(text.contains("变更登记") && text.contains("人民币伍拾万元") && text.contains("第1页共1页"))
        case .socialInsuranceCertificate:
            #expect(text.contains("441900********1234") && !text.contains("441900199003181234"))
            #expect(text.contains("基本养老保险"))
        case .receipt:
            #expect(text.contains("L-20261123-0001"))
        case .serviceGuide:
            #expect(text.contains("办事指南") && text.contains("不动产权属证书") && text.contains("二楼A区"))
        case .queueTicket:
            #expect(text.contains("A023") && text.contains("不动产登记") && text.contains("前面等候"))
        }
        #expect(try DocumentVerifier(publicKeys: [DocumentTests.key.key.publicKey.rawRepresentation]).verify(pdf: doc.pdf).1 == doc.fields)
    }

    @Test func longDocumentsFlowOverPagesWithNumbers() throws {
        var record = try JSONDecoder().decode(SocialInsuranceRecord.self, from: try fixture(.socialInsuranceCertificate))
        let template = record.payments[0]
        record.payments = (0..<240).map { i in
            var p = template
            p.month = "20\(10 + i / 12)-\(String(format: "%02d", i % 12 + 1))"
            return p
        }
        let doc = try renderer().render(kind: .socialInsuranceCertificate, json: try JSONEncoder().encode(record))
        #expect(doc.pageCount > 3)
        let text = try text(of: doc.pdf).replacingOccurrences(of: " ", with: "")
        #expect(text.contains("第1页共\(doc.pageCount)页") && text.contains("第\(doc.pageCount)页共\(doc.pageCount)页"))
        #expect(text.contains("2029-12"))
    }

    @Test func aRareCharacterOutsideTheCommonSetStillRenders() throws {
        var e = try JSONDecoder().decode(Enterprise.self, from: try fixture(.businessLicence))
        e.legalRepresentative = "张𠮷"
        let doc = try renderer().render(kind: .businessLicence, json: try JSONEncoder().encode(e))
        #expect(try text(of: doc.pdf).contains("张𠮷"))
    }

    @Test func aCharacterTheFontsLackIsAnErrorNamingIt() throws {
        var e = try JSONDecoder().decode(Enterprise.self, from: try fixture(.businessLicence))
        e.name = "演示\u{13000}公司"
        #expect(throws: RenderError.missingGlyph(character: "\u{13000}", codePoint: "U+13000", field: "name")) {
            try renderer().render(kind: .businessLicence, json: try JSONEncoder().encode(e))
        }
    }

    @Test func invalidInputNamesTheField() throws {
        #expect(throws: RenderError.invalidInput(field: "name", reason: "is missing")) {
            try renderer().render(kind: .businessLicence, json: Data(#"{"uscc":"91350100M000100Y43"}"#.utf8))
        }
        var e = try JSONDecoder().decode(Enterprise.self, from: try fixture(.businessLicence))
        e.uscc = "91350100M000100Y44"
        #expect(throws: RenderError.self) { try renderer().render(kind: .businessLicence, json: try JSONEncoder().encode(e)) }
        #expect(throws: RenderError.invalidInput(field: "(document)", reason: "not valid JSON")) {
            try renderer().render(kind: .receipt, json: Data("nope".utf8))
        }
    }

    @Test func codesRoundTripAndCatchMistakes() throws {
        let fields = CanonicalFields(kind: "receipt", fields: [("trackingNumber", "L-1")])
        let code = DocumentTests.key.sign(fields, at: Date())
        let verifier = DocumentVerifier(publicKeys: [DocumentTests.key.key.publicKey.rawRepresentation])
        let typed = code.description.lowercased().replacingOccurrences(of: "0", with: "o")
        #expect(try verifier.verify(code: VerificationCode(text: typed), fields: fields) == code)
        #expect(try VerificationCode(text: code.qrPayload) == code)
        var text = Array(code.description)
        let i = text.lastIndex { $0 != "-" } ?? 0
        text[i] = text[i] == "A" ? "B" : "A"
        #expect(throws: VerificationError.self) { try verifier.verify(code: VerificationCode(text: String(text)), fields: fields) }
        #expect(throws: VerificationError.self) { try VerificationCode(text: "ABCDE") }
        #expect(throws: VerificationError.unknownKey(code.keyID.map { String(format: "%02x", $0) }.joined())) {
            try DocumentVerifier(publicKeys: []).verify(code: code, fields: fields)
        }
        // The signature covers the whole SHA-256 of the fields: other fields do not verify, and
        // the code names the document only together with its fields.
        let other = CanonicalFields(kind: "receipt", fields: [("trackingNumber", "L-2")])
        #expect(throws: VerificationError.fieldsAltered) { try verifier.verify(code: code, fields: other) }
        #expect(other.differences(from: fields) == ["trackingNumber"])
        #expect(fields.sha256.count == 32 && Array(fields.sha256.prefix(8)) == code.digest)
    }

    @Test func printerStatusVocabulary() {
        #expect(PrinterStatus(queue: "a4", state: 3, reasons: [], accepting: true, message: "").isReady)
        let empty = PrinterStatus(queue: "a4", state: 4, reasons: ["media-empty-warning"], accepting: true, message: "")
        #expect(empty.paper == .out && empty.citizenMessage == "打印机缺纸，请联系工作人员")
        let stopped = PrinterStatus(queue: "a4", state: 5, reasons: ["paused"], accepting: true, message: "Paused")
        #expect(stopped.device == .stopped && !stopped.isReady)
        #expect(PrinterStatus(queue: "a4", state: 3, reasons: ["media-jam-error"], accepting: true, message: "").paper == .jammed)
        #expect(PrinterStatus(queue: "a4", state: 3, reasons: ["toner-low-report"], accepting: true, message: "").toner == .low)
        #expect(PrinterStatus(queue: "a4", state: 3, reasons: ["door-open-error"], accepting: true, message: "").doorOpen)
        #expect(PrinterStatus(queue: "a4", state: 4, reasons: [], accepting: true, message: "The printer may not exist or is unavailable at this time.").device == .offline)
    }
}
