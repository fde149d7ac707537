import Foundation
import Testing
import TestSupport
@testable import KioskConfig

/// The site's /etc/yitiji over the packaged defaults: the site's files win, the rest come from the defaults.
@Suite struct SiteLayerTests {
    static let defaults = URL(fileURLWithPath: BuiltProducts.repositoryPath("kiosk-config"))

    @Test func aSiteFileWinsAndTheDefaultsFillTheRest() throws {
        let dir = try TemporaryDirectory(prefix: "site-layer")
        defer { dir.remove() }
        let site = dir.url.appendingPathComponent("etc")
        try FileManager.default.createDirectory(at: site.appendingPathComponent("templates"), withIntermediateDirectories: true)
        let kiosk = try String(contentsOf: Self.defaults.appendingPathComponent("kiosk.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "id: demo-kiosk-01", with: "id: dg-hall-07")
        try kiosk.write(to: site.appendingPathComponent("kiosk.yaml"), atomically: true, encoding: .utf8)
        #expect(!SiteLayer.isComplete(site))
        let merged = try SiteLayer.resolve(site, defaults: Self.defaults, workDirectory: dir.url.appendingPathComponent("run"))
        #expect(merged != site && SiteLayer.isComplete(merged))
        let configuration = try KioskConfiguration.load(from: merged)
        #expect(configuration.settings.kiosk.id == "dg-hall-07", "the site's file wins")
        #expect(configuration.texts == (try KioskConfiguration.load(from: Self.defaults)).texts, "the defaults fill the rest")
        // Again (a restart): the same result, nothing left over.
        _ = try SiteLayer.resolve(site, defaults: Self.defaults, workDirectory: dir.url.appendingPathComponent("run"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/run") == ["site-config"])
    }

    @Test func aWholeDirectoryIsUsedAsItIs() throws {
        let work = try TemporaryDirectory(prefix: "site-layer-whole")
        defer { work.remove() }
        #expect(try SiteLayer.resolve(Self.defaults, defaults: Self.defaults, workDirectory: work.url) == Self.defaults)
    }
}
