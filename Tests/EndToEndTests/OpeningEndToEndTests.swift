import Foundation
import TestSupport
import Testing

/// The whole enterprise opening on real parts, through the citizen socket: an application naming
/// two card holders, each confirming with their own card and face, approval only when all have
/// confirmed, the registry down during a confirmation, a window that closes, and the requests an
/// attacker would send.
@Suite(.serialized) struct OpeningEndToEndTests {
    static let zhang = "441900199003181234", li = "11010519491231002X"

    /// 张三 legal representative and contact with `zhangShare`, 李四 investor and supervisor with the rest.
    static func application(_ name: String, zhangShare: Int = 6000, liShare: Int = 4000) -> String {
        #"{"proposedName":"\#(name)","type":"有限责任公司","registeredCapital":"人民币壹佰万元","address":"演示市高新区云途路1号","businessScope":"软件开发","#
            + #""parties":[{"roles":["investor","legal-representative","contact"],"shareBasisPoints":\#(zhangShare)},"#
            + #"{"idNumber":"\#(li)","name":"李四","roles":["investor","supervisor"],"shareBasisPoints":\#(liShare)}]}"#
    }

    static func tracking(_ body: String) -> String? {
        body.range(of: #"YT-[A-Za-z0-9.-]+-\d{8}-\d{6}"#, options: .regularExpression).map { String(body[$0]) }
    }

    static func registryd(_ bed: KioskStack, _ arguments: [String]) throws -> ProcessResult {
        try ProcessRunner.run(BuiltProducts.path("registryd"), arguments + ["--db", bed.registry.database], timeout: 60)
    }

    static func leave(_ bed: KioskStack) throws {
        try bed.reader.control("remove")
        _ = eventually(10) { !bed.citizen("GET", "/v1/status").1.contains("maskedName") }
    }

    @Test func twoCardHoldersOpenAnEnterpriseAndTheLegalRepresentativePrintsItsLicence() throws {
        let bed = try KioskStack()
        defer { bed.stop() }
        try bed.place()
        // Shares that do not make 100 %, an unknown role, a party named twice: refused before anything is sent.
        var (code, body) = bed.citizen("POST", "/v1/applications", Self.application("演示市云途科技有限公司", liShare: 3000))
        #expect(code == 422 && body.contains("apply.parties") && body.contains("90%"), "\(code) \(body)")
        (code, body) = bed.citizen("POST", "/v1/applications", Self.application("演示市云途科技有限公司").replacingOccurrences(of: "supervisor", with: "chairman"))
        #expect(code == 422 && body.contains("apply.parties") && body.contains("chairman"), "\(code) \(body)")
        (code, body) = bed.citizen("POST", "/v1/applications", Self.application("演示市云途科技有限公司").replacingOccurrences(of: Self.li, with: Self.zhang))
        #expect(code == 422 && body.contains("a second time"), "\(code) \(body)")
        (code, body) = bed.citizen("POST", "/v1/applications", Self.application("演示市云途科技有限公司").replacingOccurrences(of: #""parties":["#, with: #""parties":[],"x":["#))
        #expect(code == 400, "no parties at all is a bad request: \(code) \(body)")
        #expect(try bed.submissions("applications").isEmpty)
        // A registered name's twin is refused; the good one goes.
        (code, body) = bed.citizen("POST", "/v1/applications", Self.application("演示市云端科技股份有限公司"))
        #expect(code == 422 && body.contains("name.conflict"), "\(code) \(body)")
        (code, body) = bed.citizen("POST", "/v1/applications", Self.application("演示市云途科技有限公司"))
        #expect(code == 200 && body.contains("registryNumber"), "\(code) \(body)")
        let tracking = try #require(Self.tracking(body))
        (code, body) = bed.citizen("POST", "/v1/progress", #"{"trackingNumber":"\#(tracking)"}"#)
        #expect(body.contains("progress.awaiting-confirmations") && body.contains(#""maskedName":"李*""#) && body.contains("confirmBy"), "\(body)")
        #expect(!body.contains(Self.li), "no party's ID number leaves the registry: \(body)")
        var approve = try Self.registryd(bed, ["applications", "approve", tracking])
        #expect(approve.status == 1 && approve.stderr.contains("1 of 2 parties confirmed"), "\(approve.stderr)")
        let show = try Self.registryd(bed, ["applications", "show", tracking])
        #expect(show.stdout.contains("awaiting-confirmations, 1 of 2 confirmed") && show.stdout.contains("李*") && show.stdout.contains("not confirmed"),
                "\(show.stdout)")
        try Self.leave(bed)

        // 李四 places her own card: the list is for her after the face match; she confirms once.
        try bed.place("resident-longterm", holder: "李*")
        (code, body) = bed.citizen("GET", "/v1/openings")
        #expect(code == 422 && body.contains("face.needed"), "\(code) \(body)")
        _ = bed.citizen("POST", "/v1/face-checks")
        (code, body) = bed.citizen("GET", "/v1/openings")
        #expect(code == 200 && body.contains(tracking) && body.contains(#""roles":["investor","supervisor"]"#) && body.contains(#""confirmedByMe":false"#)
                && body.contains(#""offline":false"#), "\(code) \(body)")
        let confirm = #"{"trackingNumber":"\#(tracking)","requestId":"opening-request-01"}"#
        (code, body) = bed.citizen("POST", "/v1/openings/confirmations", confirm)
        #expect(code == 200 && body.contains(#""outcome":"confirmed""#) && body.contains(#""confirmedCount":2"#) && body.contains(#""stage":"complete""#)
                && body.contains(#""slipPrinted":true"#), "\(code) \(body)")
        let again = bed.citizen("POST", "/v1/openings/confirmations", confirm)
        #expect(again.0 == 200 && again.1.contains(#""outcome":"confirmed""#) && again.1.contains(#""confirmedCount":2"#),
                "a retry answers the same: \(again.1)")
        (code, body) = bed.citizen("POST", "/v1/openings/confirmations", #"{"trackingNumber":"\#(tracking)","requestId":"opening-request-02"}"#)
        #expect(code == 200 && body.contains(#""outcome":"already""#), "\(code) \(body)")
        #expect(try bed.submissions("party-confirmations").count == 1)
        #expect(eventually(10) { bed.cups.printed("receipt").count == 2 }, "the applicant's receipt and the party's slip")
        #expect(Self.written(bed).range(of: Data(Self.li.utf8)) == nil, "the other party's ID number is in no file kioskd wrote, nor its log")
        try Self.leave(bed)

        // Approved now: the licence names 张三, who prints it; 李四 may not.
        approve = try Self.registryd(bed, ["applications", "approve", tracking, "--json"])
        #expect(approve.status == 0, "\(approve.stdout) \(approve.stderr)")
        let uscc = try #require(approve.stdout.range(of: #"9144190[0-9A-Z]{11}"#, options: .regularExpression).map { String(approve.stdout[$0]) })
        #expect(approve.stdout.contains(#""legalRepresentative":"张三""#), "\(approve.stdout)")
        try bed.place("resident-longterm", holder: "李*")
        _ = bed.citizen("POST", "/v1/face-checks")
        (code, body) = bed.citizen("POST", "/v1/prints", #"{"request":{"kind":"business-licence","uscc":"\#(uscc)"},"requestId":"licence-by-li-01"}"#)
        #expect(code != 200, "the supervisor is not the legal representative: \(code) \(body)")
        try Self.leave(bed)
        try bed.place()
        _ = bed.citizen("POST", "/v1/face-checks")
        (code, body) = bed.citizen("POST", "/v1/prints", #"{"request":{"kind":"business-licence","uscc":"\#(uscc)"},"requestId":"licence-by-zhang-1"}"#)
        #expect(code == 200 && body.contains(#""state":"completed""#), "\(code) \(body)")
    }

    /// The registry goes down between the list and the confirmation: the confirmation is queued,
    /// a slip says so, and it counts when it arrives. (A window that closes: `OpeningScreenTests`.)
    @Test func aConfirmationMadeOfflineCountsWhenItArrives() throws {
        let bed = try KioskStack()
        defer { bed.stop() }
        try bed.place()
        var (code, body) = bed.citizen("POST", "/v1/applications", Self.application("演示市云途科技有限公司"))
        let tracking = try #require(Self.tracking(body), "\(code) \(body)")
        try Self.leave(bed)

        try bed.place("resident-longterm", holder: "李*")
        _ = bed.citizen("POST", "/v1/face-checks")
        (code, body) = bed.citizen("GET", "/v1/openings")
        #expect(body.contains(tracking), "\(body)")
        bed.registry.stop()
        (code, body) = bed.citizen("POST", "/v1/openings/confirmations", #"{"trackingNumber":"\#(tracking)","requestId":"offline-confirm-01"}"#)
        #expect(code == 200 && body.contains(#""outcome":"queued""#) && body.contains("opening.queued"), "\(code) \(body)")
        (code, body) = bed.citizen("GET", "/v1/openings")
        #expect(code == 200 && body.contains(#""offline":true"#), "offline, only what waits here is listed: \(code) \(body)")
        // An application made here while the registry is down: listed from the outbox, confirmed into it.
        try Self.leave(bed)
        try bed.place()
        (code, body) = bed.citizen("POST", "/v1/applications", Self.application("演示市云帆科技有限公司", zhangShare: 5000, liShare: 5000))
        let waiting = try #require(Self.tracking(body), "\(code) \(body)")
        try Self.leave(bed)
        try bed.place("resident-longterm", holder: "李*")
        _ = bed.citizen("POST", "/v1/face-checks")
        (code, body) = bed.citizen("GET", "/v1/openings")
        #expect(body.contains(waiting) && body.contains(#""stage":"undelivered""#) && body.contains(#""confirmedByMe":false"#)
                && body.contains(#""confirmed":true"#) && body.contains(#""confirmed":false"#) && !body.contains("confirmBy"),
                "the applicant confirmed by submitting, she not yet, no window until the registry has it: \(body)")
        (code, body) = bed.citizen("POST", "/v1/openings/confirmations", #"{"trackingNumber":"\#(waiting)","requestId":"offline-confirm-02"}"#)
        #expect(code == 200 && body.contains(#""outcome":"queued""#), "\(code) \(body)")
        (code, body) = bed.citizen("GET", "/v1/openings")
        #expect(body.contains(#""confirmedByMe":true"#), "\(body)")
        try bed.registry.start(seedAgain: false)
        #expect(eventually(30) { ((try? bed.submissions("party-confirmations").count) ?? 0) == 2 }, "delivered when the registry is back")
        #expect(eventually(30) { ((try? bed.submissions("applications").count) ?? 0) == 2 })
        for number in [tracking, waiting] {
            let show = try Self.registryd(bed, ["applications", "show", number])
            #expect(show.stdout.contains("complete, 2 of 2 confirmed"), "\(show.stdout)")
        }
        (code, body) = bed.citizen("GET", "/v1/openings")
        #expect(body.contains(#""confirmedByMe":true"#) && body.contains(#""stage":"complete""#), "\(body)")
    }

    /// What an attacker at the kiosk's socket or on the network would try.
    @Test func confirmationsAreOnlyForTheNamedHolderInPerson() throws {
        let bed = try KioskStack()
        defer { bed.stop() }
        // No card: nothing.
        var (code, body) = bed.citizen("GET", "/v1/openings")
        #expect(code == 422 && body.contains("card.needed"), "\(code) \(body)")
        try bed.place()
        (code, body) = bed.citizen("POST", "/v1/applications", Self.application("演示市云途科技有限公司"))
        let tracking = try #require(Self.tracking(body), "\(code) \(body)")
        try Self.leave(bed)
        // Someone the application does not name.
        try bed.place("hkMacaoTaiwan", holder: "陈*")
        _ = bed.citizen("POST", "/v1/face-checks")
        (code, body) = bed.citizen("POST", "/v1/openings/confirmations", #"{"trackingNumber":"\#(tracking)","requestId":"not-named-0001"}"#)
        #expect(code == 422 && body.contains("opening.none"), "\(code) \(body)")
        #expect(try bed.submissions("party-confirmations").isEmpty)
        // Malformed requests.
        for bad in [#"{"trackingNumber":"../../etc","requestId":"abcdefgh1"}"#, #"{"trackingNumber":"\#(tracking)","requestId":"x"}"#,
                    #"{"trackingNumber":1}"#, "not json", String(repeating: "a", count: 70_000)] {
            (code, body) = bed.citizen("POST", "/v1/openings/confirmations", bad)
            #expect(code == 400 || code == 413, "\(code) \(body.prefix(200))")
        }
        try Self.leave(bed)
        // The named party whose face does not match the card: nothing confirmed.
        try bed.place("resident-longterm", holder: "李*")
        try bed.camera("stranger")
        _ = bed.citizen("POST", "/v1/face-checks")
        (code, body) = bed.citizen("POST", "/v1/openings/confirmations", #"{"trackingNumber":"\#(tracking)","requestId":"stranger-try-01"}"#)
        #expect(code == 422 && body.contains("face.needed"), "\(code) \(body)")
        #expect(try bed.submissions("party-confirmations").isEmpty)
        // The registry: the list is for signed kiosks only, and a bad body is refused.
        let unsigned = try ProcessRunner.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", "Content-Type: application/json",
                                                              "--data", #"{"idNumber":"\#(Self.li)"}"#, bed.registry.baseURL + "/v1/openings/mine"], timeout: 20)
        #expect(unsigned.stdout == "401", "\(unsigned.stdout)")
        #expect(Self.written(bed).range(of: Data(Self.li.utf8)) == nil, "the other party's ID number is in no file kioskd wrote, nor its log")
    }

    /// Every byte kioskd wrote: its log, its state and runtime files.
    static func written(_ bed: KioskStack) -> Data {
        var written = Data(bed.kioskd.process.log.utf8)
        let fm = FileManager.default
        for root in [bed.kioskd.stateDirectory, bed.kioskd.runtimeDirectory] {
            for name in (try? fm.subpathsOfDirectory(atPath: root)) ?? [] {
                if let data = fm.contents(atPath: root + "/" + name) { written.append(data) }
            }
        }
        return written
    }
}
