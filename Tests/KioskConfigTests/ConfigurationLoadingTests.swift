import Foundation
import Testing
import TestSupport
@testable import KioskConfig

@Suite struct ConfigurationLoadingTests {
    static let embedded = URL(fileURLWithPath: BuiltProducts.repositoryPath("kiosk-config"))

    /// A copy of the embedded configuration with one file's text changed.
    func mutated(_ file: String, _ change: (String) -> String) throws -> (TemporaryDirectory, URL) {
        let dir = try TemporaryDirectory(prefix: "config")
        for name in KioskConfiguration.files {
            let text = try String(contentsOf: Self.embedded.appendingPathComponent(name), encoding: .utf8)
            try (name == file ? change(text) : text)
                .write(to: dir.url.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return (dir, dir.url)
    }

    func loadError(_ file: String, _ change: (String) -> String) throws -> ConfigurationError? {
        let (dir, url) = try mutated(file, change)
        defer { dir.remove() }
        do {
            _ = try KioskConfiguration.load(from: url)
            return nil
        } catch {
            return error
        }
    }

    @Test func embeddedDefaultLoads() throws {
        let config = try KioskConfiguration.load(from: Self.embedded)
        #expect(config.settings.kiosk.id == "demo-kiosk-01")
        #expect(config.settings.printers["a4"]?.queue == "a4")
        #expect(config.services.items.map(\.action).contains(.businessLicence))
        #expect(config.evaluation.levels.first?.label.zh == "非常满意")
        #expect(config.texts.text("idle.prompt", language: "en").contains("ID card"))
        #expect(config.texts.text("no.such.key", language: "en") == "no.such.key")
    }

    @Test func missingFieldNamesFileLineAndField() throws {
        let error = try #require(try loadError("kiosk.yaml") { $0.replacingOccurrences(of: "    queue: a4\n", with: "") })
        #expect(error.file == "kiosk.yaml")
        #expect(error.field == "printers.a4.queue")
        #expect(error.message == "is missing")
        #expect(error.line == 16)
    }

    @Test func wrongTypeNamesTheField() throws {
        let error = try #require(try loadError("kiosk.yaml") { $0.replacingOccurrences(of: "copies: 1\n    quality: normal", with: "copies: many\n    quality: normal") })
        #expect(error.field == "printers.a4.copies")
        #expect(error.message.contains("whole number"))
        #expect(error.line == 19)
    }

    @Test func badURLIsRejectedWithItsLine() throws {
        let error = try #require(try loadError("kiosk.yaml") { $0.replacingOccurrences(of: "http://127.0.0.1:8480", with: "ftp:/nowhere") })
        #expect(error.description == "kiosk.yaml:10: registry.url: 'ftp:/nowhere' is not an http(s) URL")
    }

    @Test func freezeWindowIsBounded() throws {
        for bad in ["0", "-5", "2592001"] {
            let error = try #require(try loadError("kiosk.yaml") {
                $0.replacingOccurrences(of: "  keyFile: kiosk.key", with: "  keyFile: kiosk.key\n  freezeWindowSeconds: \(bad)")
            })
            #expect("\(error)".contains("registry.freezeWindowSeconds"), "\(error)")
        }
    }

    @Test func aVerifierIsNamedByAbsolutePathWithSaneLimits() throws {
        let good = "\nverifier:\n  command: [/usr/lib/yitiji/verifier/face-verify, --camera, /dev/video0]\n  timeoutSeconds: 20\n  minimumScore: 0.8\n"
        let (dir, url) = try mutated("kiosk.yaml") { $0 + good }
        defer { dir.remove() }
        let verifier = try #require(try KioskConfiguration.load(from: url).settings.verifier)
        #expect(verifier.command.count == 3 && verifier.timeout == 20 && verifier.attempts == 3)
        for (bad, field) in [("  command: [face-verify]", "verifier.command"), ("  command: []", "verifier.command"),
                             ("  command: [/x]\n  timeoutSeconds: 0", "verifier.timeoutSeconds"),
                             ("  command: [/x]\n  timeoutSeconds: 100000", "verifier.timeoutSeconds"),
                             ("  command: [/x]\n  minimumScore: 1.5", "verifier.minimumScore"),
                             ("  command: [/x]\n  attemptsPerVisit: 0", "verifier.attemptsPerVisit"),
                             ("  command: [/x]\n  photoDecoder: libwlt2bmp.so", "verifier.photoDecoder")] {
            let error = try #require(try loadError("kiosk.yaml") { $0 + "\nverifier:\n" + bad + "\n" }, "\(bad)")
            #expect(error.field == field, "\(bad): \(error)")
        }
    }

    @Test func licenceAndCertificateNeedAFaceMatchUnlessTheCatalogueSaysOtherwise() throws {
        let config = try KioskConfiguration.load(from: Self.embedded)
        #expect(config.services.items.filter(\.needsFaceMatch).map(\.code) == ["SC-LICENCE", "SC-SOCIAL", "SC-PENSION", "SC-SI-QUERY", "SC-SSCARD-LOSS", "SC-ESTAB-CONFIRM"])
        #expect(config.services.needsFaceMatch(.socialInsuranceCertificate) && !config.services.needsFaceMatch(.archiveQuery))
        let (dir, url) = try mutated("services.yaml") {
            $0.replacingOccurrences(of: "    action: social-insurance-certificate\n", with: "    action: social-insurance-certificate\n    requiresFaceMatch: false\n")
        }
        defer { dir.remove() }
        #expect(try !KioskConfiguration.load(from: url).services.needsFaceMatch(.socialInsuranceCertificate))
        // A face match needs the card's photo.
        let error = try #require(try loadError("services.yaml") {
            $0.replacingOccurrences(of: "    action: archive-query\n    requiresCard: false", with: "    action: archive-query\n    requiresCard: false\n    requiresFaceMatch: true")
        })
        #expect(error.field == "items.0.requiresFaceMatch", "\(error)")
    }

    @Test func duplicateServiceCode() throws {
        let error = try #require(try loadError("services.yaml") { $0.replacingOccurrences(of: "SC-LICENCE", with: "SC-ARCHIVE") })
        #expect(error.field == "items.1.code")
        #expect(error.message.contains("used twice"))
    }

    @Test func missingTranslation() throws {
        let error = try #require(try loadError("texts.yaml") { $0.replacingOccurrences(of: "  rating.thanks: Thank you for your rating\n", with: "") })
        #expect(error.file == "texts.yaml")
        #expect(error.description.contains("has no text for 'rating.thanks'"))
    }

    @Test func evaluationNeedsFiveLevels() throws {
        let error = try #require(try loadError("evaluation.yaml") { $0.replacingOccurrences(of: "  - {value: 3, label: {zh: 基本满意, en: Neutral}}\n", with: "") })
        #expect(error.field == "levels")
    }

    @Test func invalidYAMLSaysWhere() throws {
        let error = try #require(try loadError("services.yaml") { $0 + "\n  - code: [unclosed\n" })
        #expect(error.file == "services.yaml")
        #expect(error.line != nil)
        #expect(error.message.hasPrefix("is not valid YAML"))
    }

    @Test func missingFileIsNamed() throws {
        let dir = try TemporaryDirectory(prefix: "config")
        defer { dir.remove() }
        #expect(throws: ConfigurationError.self) { _ = try KioskConfiguration.load(from: dir.url) }
    }
}
