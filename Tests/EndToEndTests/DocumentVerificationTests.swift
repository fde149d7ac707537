import Crypto
import Foundation
import Printing
import Registry
import TestSupport
import Testing

/// A code proves what was printed: the kiosk reports each document's fields with its code, the
/// registry answers anyone holding the code, and a document whose fields differ from what was
/// printed under its code is named as such, field by field.
@Suite(.serialized) struct DocumentVerificationTests {
    let kioskctl = BuiltProducts.path("kioskctl")
    static let keys = BuiltProducts.repositoryPath("kiosk-config/keys")

    @Test func aVerifierSeesWhatWasPrintedAndAnAlteredFieldIsNamed() async throws {
        let dir = try TemporaryDirectory(prefix: "verify")
        defer { dir.remove() }
        let credentials = try KioskCredentials.generate(kioskId: "DG-0001")
        let registry = try RegistrydProcess(database: dir.path + "/registry.sqlite",
                                            kiosks: [(credentials.kioskId, credentials.publicKeyBase64)])
        defer { registry.stop() }

        // A licence as the kiosk prints it, and the print record it reports.
        let pdfPath = dir.path + "/licence.pdf"
        let render = try ProcessRunner.run(kioskctl, ["document", "render", "--kind", "business-licence", "--input",
                                                      BuiltProducts.repositoryPath("Tests/Fixtures/documents/business-licence.json"), "-o", pdfPath], timeout: 60)
        #expect(render.status == 0, "\(render.stderr)")
        let pdf = try Data(contentsOf: URL(fileURLWithPath: pdfPath))
        let (code, fields) = try DocumentVerifier.contents(pdf: pdf)
        let record = VerificationRecord(code: code.description, kind: fields.kind, fields: fields.fields,
                                        sha256: fields.sha256.map { String(format: "%02x", $0) }.joined())
        let client = RegistryClient(configuration: RegistryClientConfiguration(baseURL: registry.baseURL, credentials: credentials))
        let printed = PrintRecord(visitId: "visit-1", documentKind: fields.kind, uscc: "91441900100000008X", verificationCode: code.description,
                                  outcome: "completed", pages: 1, printedAt: Date(), verification: record)
        _ = try await client.submit(kind: .printRecords, idempotencyKey: "print-1", body: try RegistryJSON.encoder().encode(printed))
        // A second report of the same code with other fields cannot rewrite what was printed.
        var rewritten = record
        rewritten.fields = fields.fields.map { $0.first == "name" ? ["name", "别的公司"] : $0 }
        var second = printed
        second.visitId = "visit-2"
        second.verification = rewritten
        _ = try await client.submit(kind: .printRecords, idempotencyKey: "print-2", body: try RegistryJSON.encoder().encode(second))

        // Anyone holding the code asks, unsigned, and sees the fields.
        let answer = try #require(try RawHTTPConnection.request(port: registry.port, "GET", "/v1/verifications/\(code.description)"))
        #expect(answer.status == 200 && answer.body.contains(fields.fields.first { $0.first == "name" }?.last ?? "?"), "\(answer)")
        #expect(!answer.body.contains("别的公司"))

        // kioskctl: the code alone, the genuine PDF, and a PDF with one field changed.
        var r = try ProcessRunner.run(kioskctl, ["document", "verify", code.description, "--keys", Self.keys, "--registry", registry.baseURL], timeout: 60)
        #expect(r.status == 0 && r.stdout.contains("what was printed") && r.stdout.contains("by kiosk DG-0001"), "\(r.stdout) \(r.stderr)")
        r = try ProcessRunner.run(kioskctl, ["document", "verify", code.description, "--keys", Self.keys], timeout: 60)
        #expect(r.status == 2 && r.stderr.contains("--registry"), "\(r.stderr)")
        r = try ProcessRunner.run(kioskctl, ["document", "verify", pdfPath, "--keys", Self.keys, "--registry", registry.baseURL], timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")

        var forged = fields
        forged.fields = fields.fields.map { $0.first == "address" ? ["address", "伪造路1号"] : $0 }
        // Swap the base64 after the fields marker in the PDF's metadata, byte for byte.
        let marker = Data("yitiji-fields:".utf8)
        let start = try #require(pdf.range(of: marker), "the fields are not where the test looks for them").upperBound
        let base64 = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=".utf8)
        var end = start
        while end < pdf.endIndex, base64.contains(pdf[end]) { end += 1 }
        var forgedPDF = pdf
        forgedPDF.replaceSubrange(start..<end, with: Data((try JSONEncoder().encode(forged)).base64EncodedString().utf8))
        let forgedPath = dir.path + "/forged.pdf"
        try forgedPDF.write(to: URL(fileURLWithPath: forgedPath))
        r = try ProcessRunner.run(kioskctl, ["document", "verify", forgedPath, "--keys", Self.keys, "--registry", registry.baseURL], timeout: 60)
        #expect(r.status == 1 && r.stderr.contains("changed: address"), "\(r.stderr)")
        r = try ProcessRunner.run(kioskctl, ["document", "verify", forgedPath, "--keys", Self.keys], timeout: 60)
        #expect(r.status == 1 && r.stderr.contains("do not match"), "\(r.stderr)")
    }

    /// A kiosk registers its document key; a verifier with no copy of it checks a code against
    /// the key the registry holds for the kiosk that reported it. Registration is the kiosk's own
    /// signed request, for its own key only.
    @Test func documentKeysAreRegisteredByTheirKioskAndServeEveryVerifier() async throws {
        let dir = try TemporaryDirectory(prefix: "document-keys")
        defer { dir.remove() }
        let kiosk = try KioskCredentials.generate(kioskId: "DG-0002"), other = try KioskCredentials.generate(kioskId: "DG-0003")
        let registry = try RegistrydProcess(database: dir.path + "/registry.sqlite",
                                            kiosks: [(kiosk.kioskId, kiosk.publicKeyBase64), (other.kioskId, other.publicKeyBase64)], demo: false)
        defer { registry.stop() }
        func client(_ credentials: KioskCredentials) -> RegistryClient {
            RegistryClient(configuration: RegistryClientConfiguration(baseURL: registry.baseURL, credentials: credentials))
        }
        func problem(_ call: () async throws -> Void) async -> String {
            do { try await call(); return "accepted" } catch {
                if case .refused(let problem)? = error as? RegistryClientError { return problem.code }
                return "\(error)"
            }
        }
        let documentKey = Curve25519.Signing.PrivateKey()
        let keyPath = dir.path + "/document-signing.key"
        try documentKey.rawRepresentation.base64EncodedString().write(toFile: keyPath, atomically: true, encoding: .utf8)
        let publicKey = documentKey.publicKey.rawRepresentation.base64EncodedString()

        // A document printed with the kiosk's own key, and its print record.
        let pdfPath = dir.path + "/licence.pdf"
        let render = try ProcessRunner.run(kioskctl, ["document", "render", "--kind", "business-licence", "--signing-key", keyPath, "--input",
                                                      BuiltProducts.repositoryPath("Tests/Fixtures/documents/business-licence.json"), "-o", pdfPath], timeout: 60)
        #expect(render.status == 0, "\(render.stderr)")
        let (code, fields) = try DocumentVerifier.contents(pdf: try Data(contentsOf: URL(fileURLWithPath: pdfPath)))
        let record = VerificationRecord(code: code.description, kind: fields.kind, fields: fields.fields,
                                        sha256: fields.sha256.map { String(format: "%02x", $0) }.joined())
        let printed = PrintRecord(visitId: "visit-1", documentKind: fields.kind, uscc: "91441900100000008X", verificationCode: code.description,
                                  outcome: "completed", pages: 1, printedAt: Date(), verification: record)
        _ = try await client(kiosk).submit(kind: .printRecords, idempotencyKey: "print-1", body: try RegistryJSON.encoder().encode(printed))
        let noKeys = dir.path + "/no-keys"
        try FileManager.default.createDirectory(atPath: noKeys, withIntermediateDirectories: true)
        func verify() throws -> ProcessResult {
            try ProcessRunner.run(kioskctl, ["document", "verify", pdfPath, "--keys", noKeys, "--registry", registry.baseURL], timeout: 60)
        }
        // Before the key is registered, nobody without a copy of it can check the code.
        var r = try verify()
        #expect(r.status == 1 && r.stderr.contains("has not registered"), "\(r.stderr)")

        let registered = try await client(kiosk).registerDocumentKey(publicKey: publicKey)
        #expect(registered.kioskId == "DG-0002" && registered.keyId == code.keyID.map { String(format: "%02x", $0) }.joined())
        #expect(try await client(kiosk).registerDocumentKey(publicKey: publicKey).keyId == registered.keyId, "registering again is harmless")
        r = try verify()
        #expect(r.status == 0 && r.stdout.contains("genuine") && r.stdout.contains("DG-0002"), "\(r.stdout) \(r.stderr)")

        // Anyone may list the keys under an id; only well-formed ids are looked up.
        let listed = try #require(try RawHTTPConnection.request(port: registry.port, "GET", "/v1/document-keys/\(registered.keyId)"))
        #expect(listed.status == 200 && listed.body.contains("DG-0002"), "\(listed)")
        for bad in ["ABCDEF01", "abc", "0123456789", "zzzzzzzz", "..%2F..%2F"] {
            let answer = try RawHTTPConnection.request(port: registry.port, "GET", "/v1/document-keys/\(bad)")
            #expect(answer?.status == 400 || answer?.status == 404, "\(bad): \(String(describing: answer))")
        }
        #expect(try RawHTTPConnection.request(port: registry.port, "GET", "/v1/document-keys/00000000")?.status == 404)

        // Attacks: another kiosk claims the key; unsigned; not a key; the demonstration key; too many keys.
        #expect(await problem { _ = try await client(other).registerDocumentKey(publicKey: publicKey) } == "document-key.taken")
        let unsigned = try RawHTTPConnection.request(port: registry.port, "PUT", "/v1/document-keys", body: Data(#"{"publicKey":"\#(publicKey)"}"#.utf8))
        #expect(unsigned?.status == 401, "\(String(describing: unsigned))")
        for bad in ["", "not base64!", Data(repeating: 1, count: 31).base64EncodedString(), Data(repeating: 1, count: 64).base64EncodedString()] {
            #expect(await problem { _ = try await client(other).registerDocumentKey(publicKey: bad) } == "document-key.invalid", "\(bad)")
        }
        let demo = try String(contentsOfFile: Self.keys + "/demo-documents.pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(await problem { _ = try await client(other).registerDocumentKey(publicKey: demo) } == "document-key.demo")
        for _ in 0..<8 {
            _ = try await client(other).registerDocumentKey(publicKey: Curve25519.Signing.PrivateKey().publicKey.rawRepresentation.base64EncodedString())
        }
        #expect(await problem {
            _ = try await client(other).registerDocumentKey(publicKey: Curve25519.Signing.PrivateKey().publicKey.rawRepresentation.base64EncodedString())
        } == "document-key.limit")
        #expect(RegistrydProcess.answers(port: registry.port))
    }

    @Test func theLookUpIsRateLimitedAndRefusesWhatIsNotACode() throws {
        let dir = try TemporaryDirectory(prefix: "verify-limits")
        defer { dir.remove() }
        let registry = try RegistrydProcess(database: dir.path + "/registry.sqlite")
        defer { registry.stop() }
        let unknown = String(repeating: "0", count: 128)
        #expect(try RawHTTPConnection.request(port: registry.port, "GET", "/v1/verifications/\(unknown)")?.body.contains("verification.not-found") == true)
        for bad in ["ABC", "!!!", String(repeating: "Z", count: 300), "U" + String(repeating: "0", count: 127)] {
            let answer = try RawHTTPConnection.request(port: registry.port, "GET", "/v1/verifications/\(bad)")
            #expect(answer?.status == 400 || answer?.status == 429, "\(bad.prefix(10)): \(String(describing: answer))")
        }
        var limited = 0
        for _ in 0..<40 where try RawHTTPConnection.request(port: registry.port, "GET", "/v1/verifications/\(unknown)")?.status == 429 { limited += 1 }
        #expect(limited > 0, "40 look-ups at once were all answered")
        #expect(RegistrydProcess.answers(port: registry.port))
    }
}
