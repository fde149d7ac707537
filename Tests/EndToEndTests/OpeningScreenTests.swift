import Foundation
import TestSupport
import Testing

/// The whole enterprise opening as the citizens do it, in the real `kiosk` in tmux on the real
/// kiosk: the applicant declares the name (a conflict first), names a second card holder with her
/// share, submits; she confirms with her own card and face while the registry is down; the back
/// office approves; another application she never confirms lapses; the legal representative
/// prints the licence.
@Suite(.serialized) struct OpeningScreenTests {
    /// 李四 at the kiosk, past the face check, on her list of applications to confirm.
    static func confirmations(_ bed: KioskStack, _ tmux: TmuxScreen) throws {
        try bed.arrive(tmux, card: "resident-longterm", greeting: "您好，李*")
        tmux.choose(["Up", "Up", "Enter"])
        tmux.waitFor("人证核验")
        tmux.press("Enter")
    }

    @Test func theWholeOpeningWithTwoCardHolders() throws {
        let bed = try KioskStack(registryArguments: ["--confirmation-window", "60s"])
        defer { bed.stop() }
        // An application 李四 will never confirm, submitted first.
        try bed.place()
        let (_, body) = bed.citizen("POST", "/v1/applications", OpeningEndToEndTests.application("演示市云帆科技有限公司", zhangShare: 5000, liShare: 5000))
        let lapsing = try #require(OpeningEndToEndTests.tracking(body), "\(body)")
        try OpeningEndToEndTests.leave(bed)

        let tmux = try bed.screen()
        defer { tmux.stop() }
        tmux.waitFor("请将身份证放在读卡区")
        try bed.arrive(tmux)
        tmux.choose(["4"])
        tmux.waitFor("拟设企业名称")
        // The name is declared as it is entered: a registered name's twin is refused.
        tmux.type("演示市云端科技股份有限公司")
        tmux.press("Enter")
        var screen = tmux.waitFor("相同或近似", seconds: 20)
        #expect(screen.contains("演示市云端科技有限公司"), "\(screen)")
        tmux.press("Enter")
        for _ in 0..<13 { tmux.press("BSpace") }
        tmux.type("演示市云途科技有限公司")
        tmux.press("Enter")
        tmux.waitFor("企业类型      _", seconds: 20)
        for field in ["有限责任公司", "人民币壹佰万元", "演示市高新区云途路1号", "软件开发"] {
            tmux.type(field)
            tmux.press("Enter")
        }
        screen = tmux.waitFor("1. 张*（本人）")
        #expect(screen.contains("投资人 100% · 法定代表人 · 联络员") && screen.contains("+ 添加当事人"), "\(screen)")
        // 李四, investor with 40 % and supervisor.
        tmux.press("F4")
        tmux.waitFor("当事人信息")
        tmux.type("11010519491231002X")
        tmux.press("Enter")
        tmux.type("李四")
        tmux.press("Enter")
        tmux.type("13")
        tmux.press("Enter")
        tmux.type("40")
        tmux.press("Enter", "Enter")
        screen = tmux.waitFor("2. 李四 110105********002X")
        #expect(screen.contains("投资人 40% · 监事"), "\(screen)")
        // The applicant's own share becomes 60 %.
        tmux.press("Up", "Enter")
        tmux.waitFor("本人: 张*")
        tmux.press("Down", "BSpace", "BSpace", "BSpace")
        tmux.type("60")
        tmux.press("Enter", "Enter")
        screen = tmux.waitFor("投资人 60%")
        tmux.press("Down", "Down", "Down", "Enter")
        screen = tmux.waitFor("受理编号", seconds: 20)
        let tracking = try #require(OpeningEndToEndTests.tracking(screen), "\(screen)")
        #expect(screen.contains("中心受理号"), "\(screen)")
        try bed.leave(tmux)

        // 李四 places her card and chooses the confirmation (the last item: Up wraps to 结束办理, then Up).
        try Self.confirmations(bed, tmux)
        screen = tmux.waitFor("企业开办当事人确认", seconds: 20)
        #expect(screen.contains("1. 演示市云途科技有限公司  申请人 张*  待确认 1/2") && screen.contains("演示市云帆科技有限公司")
                && screen.contains("您的身份: 投资人 40% · 监事") && screen.contains("确认截止"), "\(screen)")
        // The registry goes down just before she confirms: queued, with a slip, counted on arrival.
        bed.registry.stop()
        tmux.press("Enter")
        screen = tmux.waitFor("确认已受理", seconds: 30)
        #expect(screen.contains("网络恢复后自动上报"), "\(screen)")
        tmux.press("Enter")
        tmux.waitFor("您已确认过该申请")
        try bed.leave(tmux)
        try bed.registry.start(seedAgain: false)
        #expect(eventually(30) { ((try? bed.submissions("party-confirmations").count) ?? 0) == 1 })

        // The back office approves the complete application; the other lapses and cannot be approved.
        let approve = try OpeningEndToEndTests.registryd(bed, ["applications", "approve", tracking, "--json"])
        #expect(approve.status == 0, "\(approve.stdout) \(approve.stderr)")
        let approved = approve.stdout
        let uscc = try #require(approved.range(of: #"9144190[0-9A-Z]{11}"#, options: .regularExpression).map { String(approved[$0]) })
        _ = eventually(100) { ((try? OpeningEndToEndTests.registryd(bed, ["applications", "show", lapsing]))?.stdout ?? "").contains("lapsed") }
        let refused = try OpeningEndToEndTests.registryd(bed, ["applications", "approve", lapsing])
        #expect(refused.status == 1 && refused.stderr.contains("1 of 2 parties confirmed") && refused.stderr.contains("applies again"), "\(refused.stderr)")
        let setStatus = try OpeningEndToEndTests.registryd(bed, ["applications", "set-status", lapsing, "--status", "approved"])
        #expect(setStatus.status == 1, "approval by status alone waits for the parties too: \(setStatus.stderr)")
        let (_, progress) = bed.citizen("POST", "/v1/progress", #"{"trackingNumber":"\#(lapsing)"}"#)
        #expect(progress.contains("progress.lapsed"), "\(progress)")
        // She comes back: one complete, one lapsed.
        try Self.confirmations(bed, tmux)
        screen = tmux.waitFor("已失效", seconds: 20)
        #expect(screen.contains("演示市云途科技有限公司  申请人 张*  已全部确认 2/2") && screen.contains("演示市云帆科技有限公司  申请人 张*  已失效 1/2"),
                "\(screen)")
        tmux.press("Down", "Enter")
        screen = tmux.waitFor("确认期限已过")
        #expect(screen.contains("申请已失效"), "a late confirmation is refused: \(screen)")
        let (code, late) = bed.citizen("POST", "/v1/openings/confirmations", #"{"trackingNumber":"\#(lapsing)","requestId":"late-confirm-0001"}"#)
        #expect(code == 422 && late.contains("opening.lapsed"), "\(code) \(late)")
        try bed.leave(tmux)

        // The legal representative prints the licence.
        try bed.arrive(tmux)
        tmux.choose(["1"])
        tmux.waitFor("请输入统一社会信用代码或企业名称")
        tmux.type(uscc)
        tmux.press("Enter")
        tmux.waitFor("演示市云途科技有限公司", seconds: 20)
        tmux.press("Enter")
        tmux.waitFor("法定代表人")
        tmux.press("1")
        tmux.waitFor("人证核验")
        tmux.press("Enter")
        screen = tmux.waitFor("文件预览", seconds: 20)
        #expect(screen.contains("营业执照") && screen.contains(uscc), "\(screen)")
        tmux.press("Enter")
        screen = tmux.waitFor("打印完成", seconds: 30)
        #expect(screen.contains("打印完成，请取走文件"), "\(screen)")
        #expect(eventually(10) { bed.cups.printed("a4").count == 1 })
        #expect(bed.cups.printed("receipt").count >= 2, "the applicant's receipt and the party's slip")
    }
}
