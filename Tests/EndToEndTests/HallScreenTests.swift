import Foundation
import TestSupport
import Testing

/// The hall services on the whole kiosk: the real `kiosk` in tmux, kioskd, the emulated reader,
/// the receipt printer of a private cupsd and registryd on loopback. A number without a card, a
/// counter calling it, numbers while the registry is down (and after a restart), an appointment
/// checked in with the card; in both languages.
@Suite(.serialized) struct HallScreenTests {
    /// Menu items of the demo catalogue.
    static let progress = "5", estate = "6", fund = "7", checkIn = "9"

    func takeNumber(_ tmux: TmuxScreen, item: String, guide: String = "办事指南", then wait: String = "您的号码") -> String {
        tmux.press(item)
        tmux.waitFor(guide)
        tmux.press("Enter")
        return tmux.waitFor(wait, seconds: 30)
    }

    @Test func aNumberWithoutACardCalledAtACounterInChinese() throws {
        let bed = try KioskStack()
        defer { bed.stop() }
        let tmux = try bed.screen()
        defer { tmux.stop() }
        tmux.waitFor("请将身份证放在读卡区")
        tmux.press("Enter")
        var screen = tmux.waitFor("请选择服务项目")
        #expect(screen.contains("6. 不动产登记") && screen.contains("9. 预约签到"), "\(screen)")
        tmux.press(Self.estate)
        screen = tmux.waitFor("办事指南")
        #expect(screen.contains("实施部门") && screen.contains("申请材料") && screen.contains("二楼 A 区 1–3 号窗口"), "\(screen)")
        #expect(screen.contains("按 Enter 取号"), "\(screen)")
        #expect(compareSnapshot(screen, named: "guide-zh") == nil)
        tmux.press("p")
        tmux.waitFor("办事指南已打印", seconds: 30)
        #expect(eventually(10) { bed.cups.printed("receipt").count == 1 })
        tmux.press("Enter")
        tmux.waitFor("按 Enter 取号")
        tmux.press("Enter")
        screen = tmux.waitFor("您的号码", seconds: 30)
        #expect(screen.contains("您的号码  A001") && screen.contains("前面还有 0 人") && screen.contains("请取走号票"), "\(screen)")
        #expect(compareSnapshot(screen, named: "ticket-zh") == nil)
        #expect(eventually(10) { bed.cups.printed("receipt").count == 2 })
        // Reported printed: it waits, and a counter calls it.
        #expect(eventually(15) { (try? bed.hallTickets().map(\.state)) == ["waiting"] }, "\(String(describing: try? bed.hallTickets()))")
        let called = try bed.call(queue: "A", counter: 2)
        #expect(called.status == 0 && called.stdout.contains("A001 to counter 2"), "\(called.stdout) \(called.stderr)")
        tmux.press("Enter")
        tmux.waitFor("请将身份证放在读卡区")

        // Two more: the second has one waiting ahead, and roughly 4 minutes (12 minutes a person, 3 counters).
        tmux.press("Enter")
        tmux.waitFor("请选择服务项目")
        screen = takeNumber(tmux, item: Self.estate)
        #expect(screen.contains("A002") && screen.contains("前面还有 0 人"), "\(screen)")
        #expect(eventually(15) { (try? bed.hallTickets().filter { $0.state == "waiting" }.count) == 1 })
        tmux.press("Enter")
        tmux.waitFor("请将身份证放在读卡区")
        tmux.press("Enter")
        tmux.waitFor("请选择服务项目")
        screen = takeNumber(tmux, item: Self.estate)
        #expect(screen.contains("A003") && screen.contains("前面还有 1 人") && screen.contains("预计等待约 4 分钟"), "\(screen)")
        #expect(!bed.kioskd.process.log.contains("441900199003181234"))

        // The registry goes away and kioskd restarts: the next number is the kiosk's own, and the
        // people ahead are the last figure it knew (two waiting), said as approximate.
        tmux.stop()
        bed.registry.stop()
        bed.kioskd = try bed.kioskd.restart(environment: bed.environment)
        let again = try bed.screen()
        defer { again.stop() }
        again.waitFor("请将身份证放在读卡区")
        again.press("Enter")
        again.waitFor("请选择服务项目")
        screen = takeNumber(again, item: Self.estate)
        #expect(screen.contains("AK001") && screen.contains("前面约 2 人"), "\(screen)")
    }

    @Test func numbersWhileTheRegistryIsDownInEnglishAreReportedWhenItIsBack() throws {
        let bed = try KioskStack(registryRunning: false)
        defer { bed.stop() }
        var tmux = try bed.screen()
        defer { tmux.stop() }
        tmux.waitFor("请将身份证放在读卡区")
        tmux.press("e")
        tmux.waitFor("Please place your ID card")
        tmux.press("Enter")
        tmux.waitFor("1.")
        var screen = takeNumber(tmux, item: Self.estate, guide: "Service guide", then: "Number")
        #expect(screen.contains("Number  AK001") && screen.contains("not known") && screen.contains("Network down"), "\(screen)")
        #expect(compareSnapshot(screen, named: "ticket-offline-en") == nil)
        #expect(eventually(10) { bed.cups.printed("receipt").count == 1 })

        // A restart in between: the kiosk's numbers go on, never repeated in a day.
        tmux.stop()
        bed.kioskd = try bed.kioskd.restart(environment: bed.environment)
        tmux = try bed.screen()
        tmux.waitFor("请将身份证放在读卡区")
        tmux.press("Enter")
        tmux.waitFor("请选择服务项目")
        screen = takeNumber(tmux, item: Self.estate)
        #expect(screen.contains("您的号码  AK002"), "\(screen)")

        // The registry comes back: both are reported, at their times of issue, and wait to be called.
        try bed.registry.start()
        #expect(eventually(60) { (try? bed.hallTickets().map(\.number)) == ["AK001", "AK002"] },
                "\(String(describing: try? bed.hallTickets()))")
        #expect(try bed.hallTickets().allSatisfy { $0.state == "waiting" })
        let called = try bed.call(queue: "A", counter: 1)
        #expect(called.stdout.contains("AK001"), "\(called.stdout) \(called.stderr)")
    }

    @Test func anAppointmentIsCheckedInWithTheCard() throws {
        let bed = try KioskStack()
        defer { bed.stop() }
        let tmux = try bed.screen()
        defer { tmux.stop() }
        tmux.waitFor("请将身份证放在读卡区")
        let now = Date()
        let file = bed.directory.path + "/appointments.json"
        func book(_ start: Date, _ end: Date) throws {
            let iso = ISO8601DateFormatter()
            let json = #"[{"id":"booking-00000001","site":"demo-hall","serviceCode":"SC-FUND","queue":"B","idNumber":"441900199003181234","#
                + #""name":"张三","startsAt":"\#(iso.string(from: start))","endsAt":"\#(iso.string(from: end))"}]"#
            try Data(json.utf8).write(to: URL(fileURLWithPath: file))
            let imported = try ProcessRunner.run(BuiltProducts.path("registryd"), ["appointments", "import", file, "--db", bed.registry.database])
            #expect(imported.status == 0, "\(imported.stderr)")
        }
        // A slot later today (too early), or late in the Beijing evening one earlier today (too late).
        let late = HallDayTime.hour(now) >= 22
        let slot = late ? (now.addingTimeInterval(-3 * 3600), now.addingTimeInterval(-2 * 3600)) : (now.addingTimeInterval(3600), now.addingTimeInterval(5400))
        try book(slot.0, slot.1)
        try bed.reader.control("place resident")
        tmux.waitFor("您好，张*")
        tmux.press(Self.checkIn)
        tmux.waitFor("办事指南")
        tmux.press("Enter")
        var screen = tmux.waitFor("预约时段", seconds: 30)
        let clock = DateFormatter()
        clock.timeZone = TimeZone(identifier: "Asia/Shanghai")
        clock.dateFormat = "HH:mm"
        let said = "\(clock.string(from: slot.0))–\(clock.string(from: slot.1))"
        #expect(screen.contains(said) && screen.contains(late ? "已过" : "30 分钟内签到"), "\(screen)")
        tmux.press("Enter")
        tmux.waitFor("请选择服务项目")

        // Moved to now: checked in, a priority number printed.
        try book(HallDayTime.startOfDay(now, within: 60), HallDayTime.endOfDay(now, within: 1800))
        screen = takeNumber(tmux, item: Self.checkIn)
        #expect(screen.contains("预约签到成功") && screen.contains("B001"), "\(screen)")
        #expect(eventually(10) { bed.cups.printed("receipt").count == 1 })
        #expect(eventually(15) { (try? bed.hallTickets().map(\.priority)) == [true] })
        #expect(!bed.kioskd.process.log.contains("441900199003181234"))
        tmux.press("Enter")
        tmux.waitFor("请对本次服务进行评价")
        try bed.reader.control("remove")
    }
}

extension HallScreenTests {
    /// The card holder's applications with their status from the registry, and a tracking number
    /// typed in English without a card.
    @Test func progressByTheCardInChineseAndByTheReceiptInEnglish() throws {
        let bed = try KioskStack()
        defer { bed.stop() }
        let tmux = try bed.screen()
        defer { tmux.stop() }
        tmux.waitFor("请将身份证放在读卡区")
        try bed.reader.control("place resident")
        tmux.waitFor("您好，张*")
        let form = #"{"proposedName":"演示市进度有限公司","type":"有限责任公司","registeredCapital":"人民币壹拾万元","address":"演示市","businessScope":"软件"}"#
        let (status, body) = bed.citizen("POST", "/v1/applications", form)
        #expect(status == 200, "\(body)")
        let tracking = try #require(body.firstMatch(of: /YT-[A-Za-z0-9-]+/).map { String($0.output) })
        #expect(eventually(15) { ((try? bed.submissions("applications").count) ?? 0) == 1 })
        let moved = try ProcessRunner.run(BuiltProducts.path("registryd"), ["applications", "set-status", tracking, "--status", "more-materials",
                                                                             "--note", "住所使用证明", "--db", bed.registry.database])
        #expect(moved.status == 0, "\(moved.stderr)")
        tmux.press(Self.progress)
        tmux.waitFor("办事指南")
        tmux.press("Enter")
        var screen = tmux.waitFor("您的办件")
        #expect(screen.contains("演示市进度有限公司") && screen.contains("需补正材料"), "\(screen)")
        tmux.press("Enter")
        screen = tmux.waitFor("办理过程")
        #expect(screen.contains(tracking) && screen.contains("需补正材料：住所使用证明") && screen.contains("已受理"), "\(screen)")
        let printedBefore = bed.cups.printed("receipt").count
        tmux.press("p")
        tmux.waitFor("打印完成", seconds: 30)
        #expect(eventually(10) { bed.cups.printed("receipt").count == printedBefore + 1 })
        try bed.reader.control("remove")
        tmux.waitFor("身份证已移开")

        tmux.press("e")
        tmux.waitFor("Please place your ID card")
        tmux.press("Enter")
        tmux.waitFor("1.")
        tmux.press(Self.progress)
        tmux.waitFor("Service guide")
        tmux.press("Enter")
        tmux.waitFor("tracking number on your receipt")
        tmux.type(tracking)
        tmux.press("Enter")
        screen = tmux.waitFor("History")
        #expect(screen.contains("More materials needed: 住所使用证明") && screen.contains("演示市进度有限公司"), "\(screen)")
        #expect(compareSnapshot(screen.replacingOccurrences(of: tracking, with: "YT-…").replacingOccurrences(of: #"\d{4}-\d{2}-\d{2} \d{2}:\d{2}"#, with: "yyyy-mm-dd hh:mm", options: .regularExpression),
                                named: "progress-en") == nil)
        tmux.press("Escape")
        tmux.type("YT-nothing-000000")
        tmux.press("Enter")
        screen = tmux.waitFor("No application has this number")
        #expect(!bed.kioskd.process.log.contains("441900199003181234"))
    }
}

extension HallScreenTests {
    /// The certificate posted instead of printed (English), and an application whose result is
    /// posted (Chinese): the address masked on screen, on the hall staff's list at the registry.
    @Test func resultsByPostInBothLanguages() throws {
        let bed = try KioskStack()
        defer { bed.stop() }
        let tmux = try bed.screen()
        defer { tmux.stop() }
        tmux.waitFor("请将身份证放在读卡区")
        tmux.press("e")
        tmux.waitFor("Please place your ID card")
        try bed.reader.control("place resident")
        tmux.waitFor("1.")
        tmux.press("3")
        tmux.waitFor("Service guide")
        tmux.press("Enter")
        tmux.waitFor("Identity check")
        tmux.press("Enter")
        var screen = tmux.waitFor("M to post it free", seconds: 30)
        tmux.press("m")
        tmux.waitFor("Free by post")
        for field in ["Zhang San", "13812345678", "277 Chuangye Road, Demo City"] {
            tmux.type(field)
            tmux.press("Enter")
        }
        screen = tmux.waitFor("Submit")
        #expect(screen.contains("Z*") && screen.contains("138****5678") && !screen.contains("13812345678"), "\(screen)")
        tmux.press("Enter")
        screen = tmux.waitFor("Posted free to", seconds: 20)
        #expect(screen.contains("138****5678"), "\(screen)")
        #expect(eventually(10) { bed.cups.printed("receipt").count == 1 } && bed.cups.printed("a4").isEmpty)
        #expect(eventually(15) { ((try? bed.submissions("deliveries").count) ?? 0) == 1 })
        tmux.press("Escape")
        tmux.waitFor("Please rate this service")
        tmux.press("Escape")
        try bed.reader.control("remove")
        tmux.waitFor("请将身份证放在读卡区")

        try bed.reader.control("place resident")
        tmux.waitFor("您好，张*")
        tmux.press("4")
        tmux.waitFor("办事指南")
        tmux.press("Enter")
        tmux.waitFor("拟设企业名称")
        tmux.press("F2")
        tmux.waitFor("英文输入")
        for field in ["演示市邮驿商贸有限公司", "LLC", "100000", "Demo City", "Software"] {
            tmux.type(field)
            tmux.press("Enter")
        }
        tmux.press("F3")
        tmux.waitFor("免费邮寄")
        for field in ["Zhang San", "19912345678", "277 Chuangye Road, Demo City"] {
            tmux.type(field)
            tmux.press("Enter")
        }
        // Once the address is entered (its Enter), it shows masked like the rest.
        screen = tmux.waitFor("277 Ch****")
        #expect(!screen.contains("19912345678") && !screen.contains("Chuangye"), "\(screen)")
        tmux.press("Enter")
        screen = tmux.waitFor("结果将免费邮寄至", seconds: 20)
        #expect(screen.contains("199****5678"), "\(screen)")
        #expect(eventually(15) { ((try? bed.submissions("applications").count) ?? 0) == 1 })
        let list = try ProcessRunner.run(BuiltProducts.path("registryd"), ["deliveries", "list", "--site", KioskStack.site, "--db", bed.registry.database])
        #expect(list.stdout.contains("19912345678") && list.stdout.contains("13812345678") && list.stdout.contains("application"), "\(list.stdout)")
        let log = bed.kioskd.process.log
        #expect(!log.contains("19912345678") && !log.contains("13812345678") && !log.contains("Chuangye"))
        try bed.reader.control("remove")
    }
}
