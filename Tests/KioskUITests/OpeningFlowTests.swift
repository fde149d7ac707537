import Foundation
import KioskAPI
import KioskTerminal
@testable import KioskUI
import Testing

/// The opening on screen: the parties of an application entered and checked on the form, and a
/// named party's confirmation after the face check.
extension CitizenFlowTests {
    @Test func theApplicationNamesItsPartiesAndTheirSharesMustMakeAHundredPercent() async throws {
        let service = FakeCitizenService()
        let app = CitizenApp(service: service, config: try Self.interface())
        await app.handle(event: .sessionStarted(Self.holder))
        await app.handle(key: .character("4"))
        for field in ["演示市云途科技有限公司", "有限责任公司", "人民币壹佰万元", "演示市", "软件开发"] {
            await type(app, field)
            await app.handle(key: .enter)
        }
        var text = await screenText(app)
        #expect(text.contains("1. 张*（本人）  投资人 100% · 法定代表人 · 联络员") && text.contains("+ 添加当事人"), "\(text)")
        // F4: another party. A wrong ID number is refused on the spot.
        await app.handle(key: .function(4))
        text = await screenText(app)
        #expect(text.contains("当事人信息") && text.contains("身份证号") && text.contains("1 投资人 2 法定代表人 3 监事 4 联络员"), "\(text)")
        await type(app, "110105194912310021")
        await app.handle(key: .enter)
        await type(app, "李四")
        await app.handle(key: .enter)
        await type(app, "3311")   // each role once
        await app.handle(key: .enter)
        await type(app, "4o0")    // digits only
        await app.handle(key: .enter)
        await app.handle(key: .enter)
        #expect(await screenText(app).contains("身份证号不正确"))
        await app.handle(key: .enter)
        await app.handle(key: .backspace)
        await type(app, "xa")   // letters other than X never go in; x is written X
        for _ in 0..<5 { await app.handle(key: .enter) }   // through the fields to 确定, and save
        text = await screenText(app)
        #expect(text.contains("2. 李四 110105********002X  投资人 40% · 监事"), "\(text)")
        // Submitted as is, the shares make 140 %.
        for _ in 0..<3 { await app.handle(key: .down) }
        await app.handle(key: .enter)
        text = await screenText(app)
        #expect(text.contains("投资人出资比例合计为 140%，须为 100%"), "\(text)")
        #expect(await service.applications.isEmpty)
        await app.handle(key: .enter)
        // The holder's own row: roles stay, the share becomes 60.
        await app.handle(key: .enter)
        text = await screenText(app)
        #expect(text.contains("本人: 张*") && text.contains("124") && !text.contains("身份证号"), "\(text)")
        await app.handle(key: .down)
        for _ in 0..<3 { await app.handle(key: .backspace) }
        await type(app, "60")
        await app.handle(key: .enter)
        await app.handle(key: .enter)
        text = await screenText(app)
        #expect(text.contains("1. 张*（本人）  投资人 60% · 法定代表人 · 联络员"), "\(text)")
        // A third party, then removed with Del.
        await app.handle(key: .function(4))
        await type(app, "441900198511073024")
        await app.handle(key: .enter)
        await type(app, "王五")
        await app.handle(key: .enter)
        await type(app, "4")
        for _ in 0..<3 { await app.handle(key: .enter) }   // the share stays empty: not an investor
        text = await screenText(app)
        #expect(text.contains("3. 王五") && text.contains("联络员"), "\(text)")
        await app.handle(key: .delete)
        #expect(!(await screenText(app)).contains("王五"))
        for _ in 0..<5 { await app.handle(key: .down) }
        await app.handle(key: .enter)
        #expect(await app.screen == .applicationReceipt)
        let parties = try #require(await service.applications.first?.parties)
        #expect(parties == [PartyEntry(idNumber: nil, name: nil, roles: ["investor", "legal-representative", "contact"], shareBasisPoints: 6000),
                            PartyEntry(idNumber: "11010519491231002X", name: "李四", roles: ["investor", "supervisor"], shareBasisPoints: 4000)])
    }

    @Test func theHolderAloneSendsNoParties() async throws {
        let service = FakeCitizenService()
        let app = CitizenApp(service: service, config: try Self.interface())
        await app.handle(event: .sessionStarted(Self.holder))
        await app.handle(key: .character("4"))
        for field in ["演示市云途科技有限公司", "有限责任公司", "10万", "演示市", "软件"] {
            await type(app, field)
            await app.handle(key: .enter)
        }
        await app.handle(key: .enter)
        #expect(await app.screen == .applicationReceipt)
        #expect(await service.applications.first?.parties == nil)
    }

    @Test func aNamedPartyConfirmsAfterTheFaceCheck() async throws {
        let service = FakeCitizenService()
        await service.needFace([FaceCheckView(outcome: "passed", messageKey: "face.passed", attemptsLeft: 2)])
        let app = CitizenApp(service: service, config: try Self.interface())
        await app.handle(event: .sessionStarted(Self.holder))
        let items = try Self.interface().services
        let confirm = try #require(items.firstIndex { $0.action == "opening-confirmation" })
        for _ in 0..<(items.count + 1 - confirm) { await app.handle(key: .up) }
        await app.handle(key: .enter)
        #expect(await app.screen == .faceCheck)
        await app.handle(key: .enter)
        var text = await screenText(app)
        #expect(await app.screen == .openings)
        #expect(text.contains("企业开办当事人确认") && text.contains("1. 东莞市测试科技有限公司  申请人 张*  待确认 1/2")
                && text.contains("您的身份: 投资人 40% · 监事") && text.contains("确认截止: 2026-12-11 10:00"), "\(text)")
        await app.handle(key: .enter)
        text = await screenText(app)
        #expect(text.contains("您已确认「东莞市测试科技有限公司」的设立申请（已确认 2/2 人）"), "\(text)")
        #expect(await service.openingConfirmations.count == 1)
        await app.handle(key: .enter)
        await app.handle(key: .enter)
        #expect(await screenText(app).contains("您已确认过该申请"))
        #expect(await service.openingConfirmations.count == 1)
    }
}
