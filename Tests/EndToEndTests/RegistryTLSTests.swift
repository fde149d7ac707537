import Foundation
import KioskConfig
import Registry
import TestSupport
import Testing

/// The kiosk knows who it talks to: registryd over HTTPS with a certificate from a test CA made
/// for the run (`scripts/testbeds/tls.sh`), and a kiosk that pins that CA.
@Suite(.serialized) struct RegistryTLSTests {
    static let seed = BuiltProducts.repositoryPath("scripts/testbeds/demo-seed.json")
    static let uscc = "91441900100000008X"

    struct Bed {
        let dir: TemporaryDirectory
        let registry: RegistrydProcess
        let credentials: KioskCredentials
        var tls: String { dir.path + "/tls" }
        func stop() { registry.stop(); dir.remove() }

        func client(ca: String?, baseURL: String? = nil) throws -> RegistryClient {
            var configuration = RegistryClientConfiguration(baseURL: baseURL ?? registry.baseURL, credentials: credentials)
            configuration.trustRoots = try ca.map { try RegistryClientConfiguration.loadCA(tls + "/" + $0) }
            configuration.maxAttempts = 1
            return RegistryClient(configuration: configuration)
        }
    }

    static func bed(certificate: String = "registry") throws -> Bed {
        let dir = try TemporaryDirectory(prefix: "registry-tls")
        let made = try ProcessRunner.runScript("/bin/bash", [BuiltProducts.repositoryPath("scripts/testbeds/tls.sh"), dir.path + "/tls"])
        try #require(made.status == 0, "\(made.stderr)")
        let credentials = try KioskCredentials.generate(kioskId: "DG-0001")
        let registry = try RegistrydProcess(database: dir.path + "/registry.sqlite", seed: seed,
                                            kiosks: [(credentials.kioskId, credentials.publicKeyBase64)],
                                            tls: (dir.path + "/tls/\(certificate).pem", dir.path + "/tls/\(certificate).key"))
        return Bed(dir: dir, registry: registry, credentials: credentials)
    }

    static func untrusted(_ body: () async throws(RegistryClientError) -> Void) async -> String? {
        do { try await body(); return nil } catch {
            if case .untrusted(let why) = error { return why }
            return "not refused as untrusted: \(error)"
        }
    }

    @Test func aKioskPinningTheCATalksAndOneWithAnotherCARefuses() async throws {
        let bed = try Self.bed()
        defer { bed.stop() }
        #expect(bed.registry.baseURL.hasPrefix("https://"))
        let pinned = try bed.client(ca: "ca.pem")
        #expect(try await pinned.enterprise(uscc: Self.uscc).legalRepresentative == "张三")
        // The configuration poll, held below the HTTP server's tasks, over TLS as over plain HTTP.
        let first = try await pinned.configAnnouncements(site: nil, etag: nil, wait: 0)
        let sent = Date()
        #expect(try await pinned.configAnnouncements(site: nil, etag: first.etag, wait: 1).etag == first.etag)
        #expect(Date().timeIntervalSince(sent) >= 0.9, "the poll was not held")
        let otherCA = try bed.client(ca: "other-ca.pem"), noCA = try bed.client(ca: nil)
        let why = await Self.untrusted { () async throws(RegistryClientError) in _ = try await otherCA.health() }
        #expect(why?.contains("registry.caFile") == true, "\(why ?? "talked")")
        // https without a pinned CA is not attempted at all.
        let unpinned = await Self.untrusted { () async throws(RegistryClientError) in _ = try await noCA.health() }
        #expect(unpinned?.contains("caFile") == true, "\(unpinned ?? "talked")")
        // Plain HTTP to the TLS port gets nothing.
        let plain = try bed.client(ca: nil, baseURL: "http://127.0.0.1:\(bed.registry.port)")
        await #expect(throws: RegistryClientError.self) { try await plain.health() }
    }

    @Test func aManInTheMiddleWithAnotherCAsCertificateIsRefused() async throws {
        // The registry's address answers with a certificate for the right names from the wrong CA.
        let bed = try Self.bed(certificate: "impostor")
        defer { bed.stop() }
        let pinned = try bed.client(ca: "ca.pem")
        let why = await Self.untrusted { () async throws(RegistryClientError) in
            _ = try await pinned.authorizePrint(kind: .businessLicence, uscc: Self.uscc, idNumber: "441900199003181234")
        }
        #expect(why?.contains("not issued by the CA") == true, "\(why ?? "talked to the impostor")")
    }

    @Test func plainHTTPIsForLoopbackOnly() async throws {
        let credentials = try KioskCredentials.generate(kioskId: "DG-0001")
        // Refused before any connection is made: nothing is sent.
        for url in ["http://registry.example.invalid", "http://127.evil.example.invalid", "http://[fe80::1]:8480"] {
            let client = RegistryClient(configuration: RegistryClientConfiguration(baseURL: url, credentials: credentials))
            let why = await Self.untrusted { () async throws(RegistryClientError) in _ = try await client.health() }
            #expect(why?.contains("http is for loopback only") == true, "\(url): \(why ?? "sent")")
        }
        #expect(RegistryTransport.check("http://127.0.0.1:8480", hasCA: false) == .plain)
        #expect(RegistryTransport.check("http://[::1]:8480", hasCA: false) == .plain)
        #expect(RegistryTransport.check("https://registry.example.invalid", hasCA: true) == .tls)
    }

    @Test func theConfigurationSaysWhatIsMissing() throws {
        let dir = try TemporaryDirectory(prefix: "tls-config")
        defer { dir.remove() }
        let config = dir.path + "/config"
        try FileManager.default.copyItem(atPath: BuiltProducts.repositoryPath("kiosk-config"), toPath: config)
        let yaml = config + "/kiosk.yaml"
        let original = try String(contentsOfFile: yaml, encoding: .utf8)
        func load(url: String, ca: String?) -> String? {
            var text = original.replacingOccurrences(of: "url: http://127.0.0.1:8480", with: "url: \(url)")
            if let ca { text = text.replacingOccurrences(of: "  keyFile: kiosk.key", with: "  keyFile: kiosk.key\n  caFile: \(ca)") }
            _ = FileManager.default.createFile(atPath: yaml, contents: Data(text.utf8))
            do { _ = try KioskConfiguration.load(from: URL(fileURLWithPath: config)); return nil } catch { return "\(error)" }
        }
        #expect(load(url: "http://registry.example.invalid", ca: nil)?.contains("registry.url") == true)
        #expect(load(url: "https://registry.example.invalid", ca: nil)?.contains("caFile") == true)
        #expect(load(url: "https://registry.example.invalid", ca: "keys/missing-ca.pem")?.contains("no PEM certificate") == true)
        let made = try ProcessRunner.runScript("/bin/bash", [BuiltProducts.repositoryPath("scripts/testbeds/tls.sh"), config + "/keys/tls"])
        #expect(made.status == 0)
        #expect(load(url: "https://registry.example.invalid", ca: "keys/tls/ca.pem") == nil)
        #expect(load(url: "http://127.0.0.1:8480", ca: nil) == nil)
    }
}
