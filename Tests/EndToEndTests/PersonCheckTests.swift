import Foundation
import TestSupport
import Testing

/// Person–card verification on the real kioskd with the emulated reader, the virtual printers, the
/// registry and the verifier simulator as its program: a licence or certificate is handed only to
/// the person whose face matches the card, and a verifier that breaks never lets one through.
@Suite(.serialized) struct PersonCheckTests {
    static let uscc = "91441900100000008X"
    static let certificate = #"{"request":{"kind":"social-insurance-certificate"},"requestId":"person-check-si-01"}"#

    @Test func aDocumentForTheHolderWaitsForAFaceMatchAndAStrangerNeverGetsOne() throws {
        let bed = try KioskStack()
        defer { bed.stop() }
        try bed.camera("stranger")
        try bed.place()
        // Asked straight away, the kiosk refuses: the face check comes first.
        var (code, body) = bed.citizen("POST", "/v1/prints", Self.certificate)
        #expect(code == 422 && body.contains("face.needed"), "\(code) \(body)")
        (code, body) = bed.citizen("POST", "/v1/documents/preview", #"{"kind":"business-licence","uscc":"\#(Self.uscc)"}"#)
        #expect(code == 422 && body.contains("face.needed"), "\(code) \(body)")
        // Services that do not need it go on.
        (code, body) = bed.citizen("GET", "/v1/enterprises?q=\(Self.uscc)")
        #expect(code == 200, "\(body)")

        (code, body) = bed.citizen("POST", "/v1/face-checks")
        #expect(code == 200 && body.contains(#""outcome":"noMatch""#) && body.contains(#""attemptsLeft":2"#), "\(code) \(body)")
        (code, body) = bed.citizen("POST", "/v1/prints", Self.certificate)
        #expect(code == 422 && body.contains("face.needed"), "a failed check lets nothing through: \(body)")
        try bed.camera("not-live")
        (code, body) = bed.citizen("POST", "/v1/face-checks")
        #expect(body.contains(#""outcome":"notLive""#) && body.contains(#""attemptsLeft":1"#), "\(body)")
        try bed.camera("no-face")
        (code, body) = bed.citizen("POST", "/v1/face-checks")
        #expect(body.contains(#""outcome":"noFace""#) && body.contains(#""attemptsLeft":0"#), "\(body)")
        // The visit is out of attempts: even the holder now is refused without asking the verifier.
        try bed.camera("holder")
        (code, body) = bed.citizen("POST", "/v1/face-checks")
        #expect(code == 422 && body.contains("face.locked"), "\(code) \(body)")
        #expect(bed.cups.printed("a4").isEmpty)

        // A new visit (the card placed again) starts afresh; the holder matches and gets the document.
        try bed.reader.control("remove")
        _ = eventually(10) { !bed.citizen("GET", "/v1/status").1.contains("maskedName") }
        try bed.place()
        (code, body) = bed.citizen("POST", "/v1/face-checks")
        #expect(code == 200 && body.contains(#""outcome":"passed""#), "\(code) \(body)")
        (code, body) = bed.citizen("POST", "/v1/prints", Self.certificate)
        #expect(code == 200 && body.contains(#""state":"completed""#), "\(code) \(body)")
        (code, body) = bed.citizen("POST", "/v1/prints", #"{"request":{"kind":"business-licence","uscc":"\#(Self.uscc)"},"requestId":"person-check-lic-01"}"#)
        #expect(code == 200 && body.contains(#""state":"completed""#), "a passed check holds for the visit: \(code) \(body)")

        // Another card is another visit: the holder's match does not carry over to it.
        try bed.reader.control("remove")
        _ = eventually(10) { !bed.citizen("GET", "/v1/status").1.contains("maskedName") }
        try bed.place("hkMacaoTaiwan", holder: "maskedName")
        (code, body) = bed.citizen("POST", "/v1/prints", #"{"request":{"kind":"social-insurance-certificate"},"requestId":"person-check-si-02"}"#)
        #expect(code == 422 && body.contains("face.needed"), "\(code) \(body)")

        // The audit says only passed or failed; no photo, no score, in any file kioskd wrote.
        let audit = try ProcessRunner.run(BuiltProducts.path("kioskctl"), ["audit", "--socket", bed.kioskd.technicianSocket])
        #expect(audit.stdout.contains("person.check") && audit.stdout.contains("failed (noMatch)") && audit.stdout.contains("passed"), "\(audit.stdout)")
        #expect(!audit.stdout.contains("0.96") && !audit.stdout.contains("0.18"))
        try bed.reader.control("remove")
        bed.kioskd.stop()
        Self.expectNoPhotoWritten(bed)
    }

    /// The simulated card's photo, raw and as the protocol carries it, appears in no file kioskd wrote.
    static func expectNoPhotoWritten(_ bed: KioskStack) {
        let photo = Data(simulatedPhoto)
        let base64 = Data(photo.base64EncodedString().prefix(64).utf8)
        var written = Data(bed.kioskd.process.log.utf8)
        let fm = FileManager.default
        for root in [bed.kioskd.stateDirectory, bed.kioskd.stateDirectory + "-keys", bed.kioskd.runtimeDirectory] {
            for name in (try? fm.subpathsOfDirectory(atPath: root)) ?? [] {
                if let data = fm.contents(atPath: root + "/" + name) { written.append(data) }
            }
        }
        #expect(written.range(of: photo.prefix(48)) == nil, "the card photo was written")
        #expect(written.range(of: base64) == nil, "the card photo was written as base64")
    }

    /// `SimulatedCard.samplePhoto`, as the emulated reader serves it.
    static let simulatedPhoto: [UInt8] = {
        var bytes: [UInt8] = [0x57, 0x4C, 0x66, 0x00, 0x7E, 0x00, 0x32, 0x00]
        var x: UInt32 = 0x1234_5678
        while bytes.count < 1024 {
            x = x &* 1_103_515_245 &+ 12345
            bytes.append(UInt8(truncatingIfNeeded: x >> 16))
        }
        bytes.replaceSubrange(300..<307, with: [0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x04])
        return bytes
    }()

    @Test func aVerifierThatHangsOrBreaksIsKilledReportedAndNeverLetsADocumentThrough() throws {
        let bed = try KioskStack(kioskYAML: { yaml in
            yaml + "\nverifier:\n  command: [\(BuiltProducts.path("yitiji-verifier-sim")), --scene, VERIFIER_SCENE]\n  timeoutSeconds: 3\n"
        })
        defer { bed.stop() }
        try bed.place()
        for scene in ["hang", "crash", "garbage", "flood", "wrong-id", "bad-score", "camera-error"] {
            try bed.camera(scene)
            let started = Date()
            let (code, body) = bed.citizen("POST", "/v1/face-checks")
            #expect(code == 200 && body.contains(#""outcome":"unavailable""#) && body.contains(#""attemptsLeft":3"#),
                    "\(scene): \(code) \(body)")
            #expect(Date().timeIntervalSince(started) < 8, "\(scene) took \(Date().timeIntervalSince(started)) s")
        }
        // While a verifier hangs, kioskd answers everything else.
        try bed.camera("hang")
        let kioskd = bed.kioskd
        let hanging = Thread { _ = kioskd.curl(kioskd.citizenSocket, "POST", "/v1/face-checks") }
        hanging.start()
        // The check is under way once its verifier runs.
        #expect(eventually(10) { (try? ProcessRunner.run("/usr/bin/pgrep", ["-f", "yitiji-verifier-sim"], timeout: 5))?.status == 0 })
        let started = Date()
        let (code, body) = bed.citizen("GET", "/v1/status")
        #expect(code == 200 && Date().timeIntervalSince(started) < 1, "\(body)")
        let (busy, why) = bed.citizen("POST", "/v1/face-checks")
        #expect(busy == 422 && why.contains("face.checking"), "one camera, one check at a time: \(busy) \(why)")
        #expect(eventually(10) { !bed.kioskd.process.log.isEmpty && (try? ProcessRunner.run("/usr/bin/pgrep", ["-f", "yitiji-verifier-sim"], timeout: 5))?.status != 0 },
                "the hung verifier was killed")
        #expect(bed.cups.printed("a4").isEmpty)
        let (_, refused) = bed.citizen("POST", "/v1/prints", Self.certificate)
        #expect(refused.contains("face.needed"))
        #expect(bed.kioskd.process.log.contains("face verifier failed"), "reported in the log")

        // The technician sees it: diag's verifier row, through kioskd.
        try bed.camera("camera-error")
        let diag = try ProcessRunner.run(BuiltProducts.path("kioskctl"), ["diag", "verifier", "--json", "--socket", bed.kioskd.technicianSocket,
                                                                           "--config", bed.kioskd.configDirectory], timeout: 60)
        #expect(diag.status == 2 && diag.stdout.contains("the verifier is not ready: camera not found") && diag.stdout.contains("SC-SOCIAL"),
                "\(diag.stdout) \(diag.stderr)")
        try bed.camera("holder")
        let ready = try ProcessRunner.run(BuiltProducts.path("kioskctl"), ["diag", "verifier", "--socket", bed.kioskd.technicianSocket,
                                                                            "--config", bed.kioskd.configDirectory], timeout: 60)
        #expect(ready.status == 0 && ready.stdout.contains("Yitiji verifier simulator"), "\(ready.stdout) \(ready.stderr)")
    }

    @Test func withoutAVerifierTheServicesThatNeedItAreRefusedInPlainWords() throws {
        let bed = try KioskStack(kioskYAML: { $0 + "\nverifier:\n  command: [/usr/lib/yitiji/verifier/not-installed]\n" })
        defer { bed.stop() }
        try bed.place()
        var (code, body) = bed.citizen("POST", "/v1/face-checks")
        #expect(code == 200 && body.contains(#""outcome":"unavailable""#) && body.contains("face.unavailable"), "\(code) \(body)")
        (code, body) = bed.citizen("POST", "/v1/prints", Self.certificate)
        #expect(code == 422 && body.contains("face.needed"), "\(body)")
        let diag = try ProcessRunner.run(BuiltProducts.path("kioskctl"), ["diag", "verifier", "--json", "--socket", bed.kioskd.technicianSocket,
                                                                           "--config", bed.kioskd.configDirectory], timeout: 60)
        #expect(diag.status == 2 && diag.stdout.contains("not-installed") && diag.stdout.contains("No such file")
                && diag.stdout.contains("SC-LICENCE, SC-SOCIAL, SC-PENSION") && diag.stdout.contains("are refused"), "\(diag.stdout) \(diag.stderr)")
        // kioskd down: diag probes the configured program itself.
        bed.kioskd.stop()
        let direct = try ProcessRunner.run(BuiltProducts.path("kioskctl"), ["diag", "verifier", "--json", "--socket", bed.kioskd.technicianSocket,
                                                                             "--config", bed.kioskd.configDirectory], timeout: 60)
        #expect(direct.status == 2 && direct.stdout.contains("not-installed") && direct.stdout.contains("No such file"), "\(direct.stdout) \(direct.stderr)")
    }

    /// 生存认证: a retiree passes the face match with a blink and the year is confirmed once, with a
    /// slip; someone who receives no pension is told so; offline it is queued and arrives later.
    @Test func aRetireeConfirmsTheYearOnceAndSomeoneWithoutAPensionIsToldSo() throws {
        let bed = try KioskStack()
        defer { bed.stop() }
        try bed.place("resident-longterm", holder: "李*")
        let ask = #"{"requestId":"pension-request-0001"}"#
        var (code, body) = bed.citizen("POST", "/v1/pension-confirmations", ask)
        #expect(code == 422 && body.contains("face.needed"), "the holder's presence is the face match: \(code) \(body)")
        (code, body) = bed.citizen("GET", "/v1/insurance/mine")
        #expect(code == 422 && body.contains("face.needed"), "the holder's own record, after the face match: \(code) \(body)")
        (code, body) = bed.citizen("POST", "/v1/face-checks")
        #expect(body.contains(#""outcome":"passed""#), "\(body)")
        // The holder's record on screen: enrolments, payments, the account and the pension; the ID masked.
        (code, body) = bed.citizen("GET", "/v1/insurance/mine")
        #expect(code == 200 && body.contains(#""balance":"66600.00""#) && body.contains(#""monthlyAmount":"3268.40""#)
                && body.contains("enrolments") && body.contains("payments"), "\(code) \(body)")
        #expect(!body.contains("11010519491231002X") && body.contains("110105********002X"), "\(body)")
        (code, body) = bed.citizen("POST", "/v1/pension-confirmations", ask)
        #expect(code == 200 && body.contains(#""outcome":"confirmed""#) && body.contains(#""slipPrinted":true"#), "\(code) \(body)")
        let again = bed.citizen("POST", "/v1/pension-confirmations", ask)
        #expect(again.0 == 200 && again.1.contains(#""outcome":"confirmed""#) && again.1.contains("RZ-pension-request-0001"), "a retry answers the same: \(again.1)")
        #expect(eventually(10) { bed.cups.printed("receipt").count == 1 })
        #expect(eventually(15) { ((try? bed.submissions("pension-confirmations").count) ?? 0) == 1 })
        // The registry has it: asked again in another request, the year is confirmed already.
        (code, body) = bed.citizen("POST", "/v1/pension-confirmations", #"{"requestId":"pension-request-0002"}"#)
        #expect(code == 200 && body.contains(#""outcome":"alreadyConfirmed""#) && body.contains("confirmedOn"), "\(code) \(body)")
        #expect(bed.cups.printed("receipt").count == 1)

        // Someone who receives no pension.
        try bed.reader.control("remove")
        _ = eventually(10) { !bed.citizen("GET", "/v1/status").1.contains("maskedName") }
        try bed.place()
        _ = bed.citizen("POST", "/v1/face-checks")
        (code, body) = bed.citizen("POST", "/v1/pension-confirmations", #"{"requestId":"pension-request-0003"}"#)
        #expect(code == 422 && body.contains("pension.none"), "\(code) \(body)")
        (code, body) = bed.citizen("POST", "/v1/pension-confirmations", #"{"requestId":"x"}"#)
        #expect(code == 400, "a bad request id is refused: \(code) \(body)")
    }

    @Test func offlineThePensionConfirmationIsQueuedAndArrivesLater() throws {
        let bed = try KioskStack(registryRunning: false)
        defer { bed.stop() }
        try bed.place("resident-longterm", holder: "李*")
        _ = bed.citizen("POST", "/v1/face-checks")
        let (code, body) = bed.citizen("POST", "/v1/pension-confirmations", #"{"requestId":"pension-request-0101"}"#)
        #expect(code == 200 && body.contains(#""outcome":"queued""#) && body.contains("pension.queued"), "\(code) \(body)")
        #expect(eventually(10) { bed.cups.printed("receipt").count == 1 })
        try bed.reader.control("remove")
        try bed.registry.start()
        #expect(eventually(40) { ((try? bed.submissions("pension-confirmations").count) ?? 0) == 1 })
    }

    /// 社会保障卡挂失: after the face match the holder sees the card masked and reports it; the
    /// registry stops it at once, and a second report says so. Offline the report is queued for the
    /// holder's current card and stops it when it arrives.
    @Test func aLostSecurityCardIsStoppedAtOnceOrWhenTheRegistryIsBack() throws {
        let bed = try KioskStack()
        defer { bed.stop() }
        try bed.place()
        var (code, body) = bed.citizen("POST", "/v1/security-card/losses", #"{"requestId":"card-loss-0001"}"#)
        #expect(code == 422 && body.contains("face.needed"), "\(code) \(body)")
        _ = bed.citizen("POST", "/v1/face-checks")
        (code, body) = bed.citizen("GET", "/v1/security-card")
        #expect(code == 200 && body.contains(#""maskedNumber":"A0*****20""#) && !body.contains("A02139720") && !body.contains("lostOn"), "\(code) \(body)")
        (code, body) = bed.citizen("POST", "/v1/security-card/losses", #"{"requestId":"card-loss-0001"}"#)
        #expect(code == 200 && body.contains(#""outcome":"recorded""#) && body.contains(#""registryNumber":"GS-"#) && body.contains(#""receiptPrinted":true"#),
                "\(code) \(body)")
        #expect(try bed.submissions("card-losses").count == 1, "recorded at once, not after a relay round")
        (code, body) = bed.citizen("GET", "/v1/security-card")
        #expect(body.contains("lostOn"), "\(body)")
        (code, body) = bed.citizen("POST", "/v1/security-card/losses", #"{"requestId":"card-loss-0002"}"#)
        #expect(code == 200 && body.contains(#""outcome":"alreadyLost""#), "\(body)")
        #expect(eventually(10) { bed.cups.printed("receipt").count == 1 })

        // The registry goes away: the report is queued for the holder's current card.
        bed.registry.stop()
        try bed.reader.control("remove")
        _ = eventually(10) { !bed.citizen("GET", "/v1/status").1.contains("maskedName") }
        try bed.place("resident-longterm", holder: "李*")
        _ = bed.citizen("POST", "/v1/face-checks")
        (code, body) = bed.citizen("GET", "/v1/security-card")
        #expect(code == 422 && body.contains("registry.unreachable"), "\(code) \(body)")
        (code, body) = bed.citizen("POST", "/v1/security-card/losses", #"{"requestId":"card-loss-0003"}"#)
        #expect(code == 200 && body.contains(#""outcome":"queued""#) && !body.contains("registryNumber"), "\(code) \(body)")
        try bed.registry.start()
        #expect(eventually(40) { ((try? bed.submissions("card-losses").count) ?? 0) == 2 })
        try bed.reader.control("remove")
        Self.expectNoPhotoWritten(bed)
    }
}
