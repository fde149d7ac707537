import Foundation
import TestSupport
import Testing

/// 企业名称自主申报 on the whole kiosk: the registry's verdict on a proposed name, through the
/// citizen socket, kioskd and registryd; an application under a refused name is not submitted.
@Suite(.serialized) struct NameDeclarationTests {
    static func check(_ bed: KioskStack, _ name: String) -> (Int, String) {
        bed.citizen("POST", "/v1/name-checks", #"{"proposedName":"\#(name)"}"#)
    }

    @Test func aProposedNameIsCheckedAgainstRegisteredNamesAndForbiddenWords() throws {
        let bed = try KioskStack()
        defer { bed.stop() }
        var (code, body) = Self.check(bed, "演示市云端科技股份有限公司")
        #expect(code == 200 && body.contains(#""verdict":"conflict""#) && body.contains("演示市云端科技有限公司"), "\(code) \(body)")
        (code, body) = Self.check(bed, "演示市云端科技有限公司")
        #expect(body.contains(#""verdict":"conflict""#), "identical: \(body)")
        (code, body) = Self.check(bed, "演示市国家云端科技有限公司")
        #expect(body.contains(#""verdict":"forbidden""#) && body.contains("国家"), "\(body)")
        (code, body) = Self.check(bed, "云端科技")
        #expect(body.contains(#""verdict":"malformed""#) && body.contains("name.malformed"), "\(body)")
        (code, body) = Self.check(bed, "演示市云途科技有限公司")
        #expect(code == 200 && body.contains(#""verdict":"available""#), "\(body)")
        // Bad requests are refused at the kiosk's door.
        (code, _) = Self.check(bed, String(repeating: "长", count: 61))
        #expect(code == 400)
        (code, _) = bed.citizen("POST", "/v1/name-checks", #"{"name":1}"#)
        #expect(code == 400)

        // An application under a refused name is not submitted; under a good one it is.
        try bed.place()
        let application = #"{"proposedName":"NAME","type":"有限责任公司","registeredCapital":"人民币壹拾万元","address":"演示市某路1号","businessScope":"软件开发"}"#
        (code, body) = bed.citizen("POST", "/v1/applications", application.replacingOccurrences(of: "NAME", with: "演示市云端科技股份有限公司"))
        #expect(code == 422 && body.contains("name.conflict") && body.contains("演示市云端科技有限公司"), "\(code) \(body)")
        (code, body) = bed.citizen("POST", "/v1/applications", application.replacingOccurrences(of: "NAME", with: "演示市云途科技有限公司"))
        #expect(code == 200 && body.contains("YT-"), "\(code) \(body)")
        #expect(eventually(15) { ((try? bed.submissions("applications").count) ?? 0) == 1 })
    }

    @Test func withTheRegistryDownTheNameIsCheckedOnArrival() throws {
        let bed = try KioskStack(registryRunning: false)
        defer { bed.stop() }
        var (code, body) = Self.check(bed, "演示市云途科技有限公司")
        #expect(code == 200 && body.contains(#""verdict":"unchecked""#), "\(code) \(body)")
        try bed.place()
        (code, body) = bed.citizen("POST", "/v1/applications",
                                   #"{"proposedName":"演示市云途科技有限公司","type":"有限责任公司","registeredCapital":"10万","address":"演示市","businessScope":"软件"}"#)
        #expect(code == 200 && body.contains("YT-"), "queued: \(code) \(body)")
    }
}
