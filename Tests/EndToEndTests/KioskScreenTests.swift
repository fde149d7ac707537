import Foundation
import TestSupport
import Testing

/// The real `kiosk` binary in tmux against a real kioskd, the emulated USB reader, a private cupsd
/// and registryd: the citizen's whole flow in both languages, and every failure a citizen may meet.
@Suite(.serialized) struct KioskScreenTests {
    /// The whole kiosk with the interface in tmux, at its idle screen; `body` runs the citizen.
    func atTheIdleScreen(registryRunning: Bool = true, _ body: (KioskStack, TmuxScreen) throws -> Void) throws {
        let bed = try KioskStack(registryRunning: registryRunning)
        defer { bed.stop() }
        let tmux = try bed.screen()
        defer { tmux.stop() }
        tmux.waitFor("请将身份证放在读卡区")
        try body(bed, tmux)
    }

    /// Picks menu item `digit`: its guide comes first, Enter starts the service.
    func choose(_ tmux: TmuxScreen, _ digit: String, guide: String) {
        tmux.choose([digit], guide: guide)
    }

    @Test func idleScreenInBothLanguagesAndACardSessionThatLeavesNothingOnScreen() throws {
        let bed = try KioskStack()
        defer { bed.stop() }
        let tmux = try bed.screen()
        defer { tmux.stop() }
        var screen = tmux.waitFor("请将身份证放在读卡区")
        #expect(screen.contains("请将身份证放在读卡区"), "\(screen)\n\(bed.kioskd.process.log.suffix(2000))")
        #expect(compareSnapshot(screen, named: "idle-zh") == nil)
        tmux.press("e")
        screen = tmux.waitFor("Please place your ID card")
        #expect(screen.contains("Please place your ID card"))
        #expect(compareSnapshot(screen, named: "idle-en") == nil)
        tmux.press("E")
        tmux.waitFor("请将身份证放在读卡区")

        try bed.reader.control("place resident")
        screen = tmux.waitFor("您好，张*")
        #expect(screen.contains("您好，张*") && screen.contains("1. 企业登记档案查询"), "\(screen)")
        #expect(!screen.contains("张三") && !screen.contains("441900199003181234"))
        #expect(compareSnapshot(screen, named: "menu-zh") == nil)

        tmux.resize(width: 120, height: 40)
        screen = tmux.waitFor("您好，张*")
        let wide = screen.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(wide.count >= 40 && wide.first?.contains("中文 | E") == true, "\(screen)")

        try bed.reader.control("remove")
        screen = tmux.waitFor("身份证已移开")
        #expect(screen.contains("身份证已移开，本次服务已结束"))
        #expect(!screen.contains("张*"))
    }

    @Test func theWholeFlowInChineseQueryPrintTheLicenceRate() throws {
        try atTheIdleScreen { bed, tmux in
            try bed.reader.control("place resident")
            tmux.waitFor("您好，张*")
            choose(tmux, "1", guide: "办事指南")
            tmux.waitFor("请输入统一社会信用代码或企业名称")
            tmux.type("91441900100000008X")
            tmux.press("Enter")
            var screen = tmux.waitFor("演示市云端科技有限公司")
            #expect(screen.contains("查询结果") && screen.contains("演示市云端科技有限公司"), "\(screen)")
            tmux.press("Enter")
            screen = tmux.waitFor("91441900100000008X")
            #expect(screen.contains("企业信息") && screen.contains("法定代表人"), "\(screen)")
            #expect(compareSnapshot(screen, named: "detail-zh") == nil)
            // The licence is handed only to its holder: the face check first; a stranger at the
            // camera is told so, the holder then gets the preview.
            try bed.camera("stranger")
            tmux.press("1")
            screen = tmux.waitFor("人证核验")
            #expect(screen.contains("正对屏幕上方的摄像头") && screen.contains("Enter 开始核验"), "\(screen)")
            tmux.press("Enter")
            screen = tmux.waitFor("还可尝试 2 次", seconds: 20)
            #expect(screen.contains("人脸与身份证照片不符"), "\(screen)")
            try bed.camera("holder")
            tmux.press("Enter")
            screen = tmux.waitFor("文件预览", seconds: 20)
            #expect(screen.contains("营业执照") && screen.contains("统一社会信用代码：91441900100000008X"), "\(screen)")
            tmux.press("Enter")
            screen = tmux.waitFor("打印完成", seconds: 30)
            #expect(screen.contains("打印完成，请取走文件") && screen.contains("验证码"), "\(screen)")
            #expect(eventually(10) { bed.cups.printed("a4").count == 1 })
            tmux.press("Enter")
            screen = tmux.waitFor("请对本次服务进行评价")
            #expect(screen.contains("非常满意") && screen.contains("非常不满意"), "\(screen)")
            #expect(compareSnapshot(screen, named: "rating-zh") == nil)
            tmux.press("1", "Enter")
            screen = tmux.waitFor("请选择不满意的原因")
            tmux.press("Enter")
            screen = tmux.waitFor("感谢您的评价")
            #expect(screen.contains("请取走您的身份证") || screen.contains("感谢"), "\(screen)")
            #expect(eventually(15) { ((try? bed.submissions("ratings").count) ?? 0) == 1 })
            try bed.reader.control("remove")
            screen = tmux.waitFor("请将身份证放在读卡区")
            #expect(!screen.contains("张*"))
        }
    }

    /// The citizen types Chinese with the interface's own pinyin input (librime): pinyin, numbered
    /// candidates, a digit or space to pick; capitals and digits go in as typed.
    @Test func anApplicationTypedInPinyin() throws {
        try atTheIdleScreen { bed, tmux in
            try bed.reader.control("place resident")
            tmux.waitFor("1.")
            choose(tmux, "4", guide: "办事指南")
            var screen = tmux.waitFor("拟设企业名称")
            #expect(screen.contains("拼音输入"), "\(screen)")
            tmux.type("dongguanshi")
            screen = tmux.waitFor("1.东莞市")
            #expect(screen.contains("dong guan shi"), "\(screen)")
            tmux.type(" ")
            tmux.type("dongfang")
            tmux.waitFor("1.东方")
            tmux.type("1ruanjiankaifa")
            tmux.waitFor("1.软件开发")
            tmux.type("1youxiangongsi")
            tmux.waitFor("1.有限公司")
            tmux.type(" ")
            screen = tmux.waitFor("东莞市东方软件开发有限公司")
            // The name is declared on Enter: the registry finds no conflict, the next field follows.
            tmux.press("Enter")
            tmux.type("youxianzerengongsi ")
            tmux.press("Enter")
            tmux.type("100")
            tmux.press("Enter")
            // F2 switches to Latin letters and back.
            tmux.press("F2")
            tmux.waitFor("英文输入")
            tmux.type("dongcheng ")
            tmux.press("F2")
            tmux.waitFor("拼音输入")
            tmux.type("dongguanshi 1hao")
            screen = tmux.waitFor("2.号")
            #expect(screen.contains("1.好 2.号"), "\(screen)")
            tmux.type("2")
            tmux.press("Enter")
            tmux.type("ruanjiankaifa ")
            tmux.press("Enter")
            screen = tmux.waitFor("提交")
            tmux.press("Enter")
            screen = tmux.waitFor("YT-demo-kiosk-01-", seconds: 20)
            #expect(screen.contains("YT-demo-kiosk-01-"), "\(screen)")
            #expect(eventually(15) { ((try? bed.submissions("applications").count) ?? 0) == 1 })
            let body = try #require(try bed.submissions("applications").first?["body"] as String?)
            #expect(body.contains("东莞市东方软件开发有限公司") && body.contains("软件开发") && body.contains("dongcheng 东莞市1号"), "\(body)")
            try bed.reader.control("remove")
        }
    }

    @Test func theWholeFlowInEnglishCertificateAndApplicationWithAReceipt() throws {
        try atTheIdleScreen { bed, tmux in
            tmux.press("e")
            tmux.waitFor("Please place your ID card")
            try bed.reader.control("place resident")
            var screen = tmux.waitFor("1.")
            #expect(screen.contains("Print a social-insurance certificate"), "\(screen)")
            choose(tmux, "3", guide: "Service guide")
            tmux.waitFor("Identity check")
            tmux.press("Enter")
            screen = tmux.waitFor("Preview", seconds: 20)
            #expect(screen.contains("Preview"), "\(screen)")
            tmux.press("Enter")
            screen = tmux.waitFor("Printed, please take your document", seconds: 30)
            #expect(screen.contains("Printed, please take your document"), "\(screen)")
            #expect(eventually(10) { bed.cups.printed("a4").count == 1 })
            tmux.press("Escape")
            tmux.waitFor("Please rate this service")
            tmux.press("Escape")
            try bed.reader.control("remove")
            // The next citizen starts in Chinese again.
            #expect(tmux.waitFor("请将身份证放在读卡区").contains("请将身份证放在读卡区"))
            tmux.press("e")
            tmux.waitFor("Please place your ID card")

            try bed.reader.control("place resident")
            tmux.waitFor("1.")
            choose(tmux, "4", guide: "Service guide")
            tmux.waitFor("Proposed")
            // Enterprise names are Chinese whatever the interface's language.
            for field in ["演示市云帆科技有限公司", "LLC", "1,000,000 yuan", "1 Demo Road", "Software"] {
                tmux.type(field)
                tmux.press("Enter")
            }
            tmux.press("Enter")
            screen = tmux.waitFor("YT-demo-kiosk-01-", seconds: 20)
            #expect(screen.contains("YT-demo-kiosk-01-"), "\(screen)")
            #expect(eventually(10) { bed.cups.printed("receipt").count == 1 })
            #expect(eventually(15) { ((try? bed.submissions("applications").count) ?? 0) == 1 })
            try bed.reader.control("remove")
            #expect(tmux.waitFor("请将身份证放在读卡区").contains("请将身份证放在读卡区"))
        }
    }

    @Test func failuresAreSaidInPlainWords() throws {
        let bed = try KioskStack(registryRunning: false)
        defer { bed.stop() }
        let tmux = try bed.screen()
        defer { tmux.stop() }
        tmux.waitFor("请将身份证放在读卡区")

        // No card: a service that needs one says so.
        tmux.press("Enter")
        tmux.waitFor("请选择服务项目")
        choose(tmux, "3", guide: "办事指南")
        var screen = tmux.waitFor("此项服务需要先放置身份证")
        #expect(screen.contains("此项服务需要先放置身份证"), "\(screen)")
        tmux.press("Escape", "Escape", "Escape")
        tmux.waitFor("请将身份证放在读卡区")

        // Registry unreachable.
        try bed.reader.control("place resident")
        tmux.waitFor("您好，张*")
        choose(tmux, "1", guide: "办事指南")
        tmux.type("演示市")
        tmux.press("Enter")
        screen = tmux.waitFor("暂时无法连接服务中心")
        #expect(screen.contains("暂时无法连接服务中心"), "\(screen)")
        #expect(!screen.lowercased().contains("error"))
        #expect(compareSnapshot(screen, named: "registry-unreachable") == nil)
        try bed.reader.control("remove")
        tmux.waitFor("身份证已移开")

        // Card unreadable.
        for _ in 0..<8 { try bed.reader.control("fault read-status 41") }
        try bed.reader.control("place resident")
        screen = tmux.waitFor("无法读取身份证")
        #expect(screen.contains("无法读取身份证，请重新放置证件"), "\(screen)")
        try bed.reader.control("remove")

        // Maintenance mode: the out-of-service screen, and back.
        #expect(bed.technician("POST", "/v1/maintenance", #"{"on":true,"reason":"更换打印纸"}"#).0 == 200)
        screen = tmux.waitFor("设备维护中")
        #expect(screen.contains("设备维护中，暂停服务"), "\(screen)")
        #expect(compareSnapshot(screen, named: "maintenance") == nil)
        _ = bed.technician("POST", "/v1/maintenance", #"{"on":false}"#)
        #expect(tmux.waitFor("请将身份证放在读卡区").contains("请将身份证放在读卡区"))
    }

    @Test func notEntitledAndOutOfPaperAreSaidInPlainWords() throws {
        try atTheIdleScreen { bed, tmux in
            // Not the legal representative: refused.
            try bed.reader.control("place hkMacaoTaiwan")
            tmux.waitFor("您好")
            choose(tmux, "2", guide: "办事指南")
            tmux.type("91441900100000008X")
            tmux.press("Enter")
            tmux.waitFor("演示市云端科技有限公司")
            tmux.press("Enter")
            tmux.waitFor("91441900100000008X")
            // The face check comes first: who the card's holder represents is told to the holder only.
            tmux.press("1")
            tmux.waitFor("人证核验")
            tmux.press("Enter")
            var screen = tmux.waitFor("仅企业法定代表人可打印营业执照", seconds: 20)
            #expect(screen.contains("仅企业法定代表人可打印营业执照"), "\(screen)")
            #expect(compareSnapshot(screen, named: "not-entitled") == nil)
            try bed.reader.control("remove")
            tmux.waitFor("身份证已移开")

            // The printer runs out of paper: the certificate is not printed, and the citizen is told why.
            try bed.cups.fault("a4", "media-empty")
            try bed.reader.control("place resident")
            tmux.waitFor("您好，张*")
            choose(tmux, "3", guide: "办事指南")
            tmux.waitFor("人证核验")
            tmux.press("Enter")
            tmux.waitFor("文件预览", seconds: 20)
            tmux.press("Enter")
            screen = tmux.waitFor("打印机缺纸", seconds: 120)
            #expect(screen.contains("打印机缺纸，请联系工作人员"), "\(screen)")
            try bed.cups.fault("a4", "media-ok")
        }
    }

    @Test func withoutKioskdTheScreenSaysOutOfServiceAndRecovers() throws {
        let bed = try KioskStack()
        defer { bed.stop() }
        bed.kioskd.stop()
        let tmux = try bed.screen()
        defer { tmux.stop() }
        let shown = tmux.waitFor("暂停服务")
        #expect(shown.contains("暂停服务 · Out of service"), "\(shown)")
        bed.kioskd = try bed.kioskd.restart(environment: bed.environment)
        #expect(tmux.waitFor("请将身份证放在读卡区", seconds: 15).contains("请将身份证放在读卡区"))
    }
}
