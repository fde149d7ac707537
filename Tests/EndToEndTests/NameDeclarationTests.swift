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

    /// The back office approves the application: a valid credit code, the licence record, and the
    /// legal representative prints the licence at the kiosk; nobody else may, and the name is now taken.
    @Test func anApprovedApplicationsLicenceIsPrintedByItsLegalRepresentative() throws {
        let bed = try KioskStack()
        defer { bed.stop() }
        try bed.place()
        var (code, body) = bed.citizen("POST", "/v1/applications",
                                       #"{"proposedName":"演示市云帆科技有限公司","type":"有限责任公司（自然人独资）","registeredCapital":"人民币壹佰万元","address":"演示市高新区云帆路8号","businessScope":"软件开发；信息技术咨询服务"}"#)
        #expect(code == 200 && body.contains("registryNumber"), "\(code) \(body)")
        let tracking = try #require(body.range(of: #"YT-[A-Za-z0-9.-]+-\d{8}-\d{6}"#, options: .regularExpression).map { String(body[$0]) })
        let registryd = BuiltProducts.path("registryd")
        let approved = try ProcessRunner.run(registryd, ["applications", "approve", tracking, "--json", "--db", bed.registry.database])
        #expect(approved.status == 0, "\(approved.stdout) \(approved.stderr)")
        let uscc = try #require(approved.stdout.range(of: #"9144190[0-9A-Z]{11}"#, options: .regularExpression).map { String(approved.stdout[$0]) },
                                "\(approved.stdout)")
        #expect(approved.stdout.contains("演示市云帆科技有限公司") && approved.stdout.contains("存续"))
        // Approved once: again, or refused afterwards, is said plainly.
        let again = try ProcessRunner.run(registryd, ["applications", "approve", tracking, "--db", bed.registry.database])
        #expect(again.status == 1 && again.stderr.contains("approved already"), "\(again.stderr)")
        let refused = try ProcessRunner.run(registryd, ["applications", "refuse", tracking, "--note", "迟到的拒绝", "--db", bed.registry.database])
        #expect(refused.status == 1, "\(refused.stdout) \(refused.stderr)")
        let bad = try ProcessRunner.run(registryd, ["applications", "approve", tracking, "--region", "44", "--db", bed.registry.database])
        #expect(bad.status == 64 || bad.status == 2, "a bad region is refused before anything changes: \(bad.status) \(bad.stderr)")

        // The citizen sees it approved with the code; the legal representative prints the licence.
        (code, body) = bed.citizen("POST", "/v1/progress", #"{"trackingNumber":"\#(tracking)"}"#)
        #expect(body.contains("progress.approved") && body.contains(uscc), "\(body)")
        _ = bed.citizen("POST", "/v1/face-checks")
        (code, body) = bed.citizen("POST", "/v1/prints", #"{"request":{"kind":"business-licence","uscc":"\#(uscc)"},"requestId":"approved-licence-01"}"#)
        #expect(code == 200 && body.contains(#""state":"completed""#), "\(code) \(body)")
        #expect(eventually(20) { bed.cups.printed("a4").count == 1 })
        (code, body) = Self.check(bed, "演示市云帆科技股份有限公司")
        #expect(body.contains(#""verdict":"conflict""#) && body.contains("演示市云帆科技有限公司"), "the name is taken now: \(body)")

        // Someone else may not print it.
        try bed.reader.control("remove")
        _ = eventually(10) { !bed.citizen("GET", "/v1/status").1.contains("maskedName") }
        try bed.place("hkMacaoTaiwan", holder: "maskedName")
        _ = bed.citizen("POST", "/v1/face-checks")
        (code, body) = bed.citizen("POST", "/v1/prints", #"{"request":{"kind":"business-licence","uscc":"\#(uscc)"},"requestId":"approved-licence-02"}"#)
        #expect(code == 422 && body.contains("licence.refused"), "\(code) \(body)")
    }
}
