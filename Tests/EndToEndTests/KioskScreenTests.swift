import Foundation
import TestSupport
import Testing

/// The real `kiosk` binary in tmux against a real kioskd, the emulated USB reader and a private cupsd.
@Suite(.serialized) struct KioskScreenTests {
    final class Bed {
        let reader: EmulatedUSBReader
        let cups: CupsTestBed
        let kioskd: KioskdTestBed
        let screen: TmuxScreen

        init(width: Int = 80, height: Int = 24, registry: String? = nil) throws {
            reader = try EmulatedUSBReader()
            cups = try CupsTestBed()
            var environment = reader.environment
            for (key, value) in cups.environment { environment[key] = value }
            kioskd = try KioskdTestBed(environment: environment) { yaml in
                registry.map { yaml.replacingOccurrences(of: "http://127.0.0.1:8480", with: $0) } ?? yaml
            }
            // Screens are compared with snapshots: start once the reader and printers are known.
            let kioskd = self.kioskd
            _ = eventually(15) {
                let body = kioskd.curl(kioskd.technicianSocket, "GET", "/v1/status").1
                return body.contains(#""readerPresent":true"#) && !body.contains("not polled yet")
            }
            screen = try TmuxScreen("\(BuiltProducts.path("kiosk")) --socket \(kioskd.citizenSocket)", width: width, height: height)
        }

        func stop() {
            screen.stop()
            kioskd.stop()
            kioskd.remove()
            cups.stop()
            reader.stop()
        }
    }

    @Test func idleScreenInBothLanguagesAndACardSessionThatLeavesNothingOnScreen() throws {
        let bed = try Bed()
        defer { bed.stop() }
        var screen = bed.screen.waitFor("请将身份证放在读卡区")
        #expect(screen.contains("请将身份证放在读卡区"), "\(screen)\n\(bed.kioskd.process.log)")
        #expect(compareSnapshot(screen, named: "idle-zh") == nil)
        bed.screen.press("e")
        screen = bed.screen.waitFor("Please place your ID card")
        #expect(screen.contains("Please place your ID card"))
        #expect(compareSnapshot(screen, named: "idle-en") == nil)
        bed.screen.press("E")
        bed.screen.waitFor("请将身份证放在读卡区")

        try bed.reader.control("place resident")
        screen = bed.screen.waitFor("您好，张*")
        #expect(screen.contains("您好，张*") && screen.contains("1. 企业登记档案查询"), "\(screen)")
        #expect(!screen.contains("张三") && !screen.contains("441900199003181234"))
        #expect(compareSnapshot(screen, named: "menu-zh") == nil)

        bed.screen.resize(width: 120, height: 40)
        screen = bed.screen.waitFor("您好，张*")
        let wide = screen.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(wide.count >= 40 && wide.first?.contains("中文 | E") == true, "\(screen)")

        try bed.reader.control("remove")
        screen = bed.screen.waitFor("身份证已移开")
        #expect(screen.contains("身份证已移开，本次服务已结束"))
        #expect(!screen.contains("张*"))
    }

    @Test func failuresAreSaidInPlainWords() throws {
        let bed = try Bed()
        defer { bed.stop() }
        bed.screen.waitFor("请将身份证放在读卡区")
        // Registry unreachable (nothing listens at the configured URL).
        try bed.reader.control("place resident")
        bed.screen.waitFor("您好，张*")
        bed.screen.press("1")
        bed.screen.type("演示市")
        bed.screen.press("Enter")
        var screen = bed.screen.waitFor("暂时无法连接服务中心")
        #expect(screen.contains("暂时无法连接服务中心"), "\(screen)")
        #expect(!screen.lowercased().contains("error") && !screen.contains("Error"))
        #expect(compareSnapshot(screen, named: "registry-unreachable") == nil)
        try bed.reader.control("remove")
        bed.screen.waitFor("身份证已移开")

        // Maintenance mode shows the out-of-service screen; off again returns to the idle screen.
        let (code, _) = bed.kioskd.curl(bed.kioskd.technicianSocket, "POST", "/v1/maintenance", body: #"{"on":true,"reason":"更换打印纸"}"#)
        #expect(code == 200)
        screen = bed.screen.waitFor("设备维护中")
        #expect(screen.contains("设备维护中，暂停服务"), "\(screen)")
        #expect(compareSnapshot(screen, named: "maintenance") == nil)
        _ = bed.kioskd.curl(bed.kioskd.technicianSocket, "POST", "/v1/maintenance", body: #"{"on":false}"#)
        screen = bed.screen.waitFor("请将身份证放在读卡区")
        #expect(screen.contains("请将身份证放在读卡区"))
    }

    @Test func withoutKioskdTheScreenSaysOutOfServiceAndRecovers() throws {
        let bed = try Bed()
        defer { bed.stop() }
        bed.screen.waitFor("请将身份证放在读卡区")
        bed.kioskd.stop()
        let screen = try TmuxScreen("\(BuiltProducts.path("kiosk")) --socket \(bed.kioskd.citizenSocket)")
        defer { screen.stop() }
        let shown = screen.waitFor("暂停服务")
        #expect(shown.contains("暂停服务 · Out of service"), "\(shown)")
        let again = try bed.kioskd.restart(environment: bed.reader.environment.merging(bed.cups.environment) { $1 })
        defer { again.stop() }
        #expect(screen.waitFor("请将身份证放在读卡区", seconds: 15).contains("请将身份证放在读卡区"))
    }
}
