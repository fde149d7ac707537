import ArgumentParser
import Foundation
import KioskCore
import Printing
import Registry

struct DocumentVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a printed document: what it said, and that a kiosk signed it.",
        discussion: """
        Takes the code printed on the document (dashes, spaces and case ignored) or a PDF file.
        With --registry, asks the registry what the document with this code said (the kiosk
        reported it when it printed), checks the code's signature over exactly those fields with
        the document key that kiosk registered at the registry (or one in the configuration's
        keys/ folder), and prints them to compare with the
        paper; for a PDF, names every field that differs from what was printed. Without
        --registry, a PDF is checked against the fields it carries; a code alone can only be
        checked for form and key, since its signature covers fields it does not hold.
        Exit codes: 0 genuine, 1 not genuine (the line printed says why), 2 cannot tell (a code
        offline, or the registry unreachable). With --json: {"ok": true, "verdict": "genuine",
        "kind", "printedAt", "kioskId", "keyId", "fields"}, or {"ok": false, "exitCode", "error"}.
        Examples:
          kioskctl document verify 0A1B2-C3D4E-... --registry https://registry.example --ca ca.pem
          kioskctl document verify licence.pdf --registry https://registry.example --ca ca.pem
          kioskctl document verify licence.pdf
        """)

    @Argument(help: "The verification code, or a PDF file.")
    var codeOrFile: String
    @Option(help: "A folder of *.pub keys (default: the configuration's keys/).")
    var keys: String?
    @Option(help: "The registry's base URL, to see what the document said when it was printed.")
    var registry: String?
    @Option(help: "The PEM CA certificate the registry's TLS certificate must chain to (for https).")
    var ca: String?
    @OptionGroup var options: DocumentOptions
    @OptionGroup var output: JSONOption

    func run() async throws {
        output.apply()
        let verifier = DocumentVerifier.load(directory: keys ?? options.configDirectory.appendingPathComponent("keys").path)
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = .kiosk
        func hex(_ bytes: [UInt8]) -> String { bytes.hexString }
        func fieldLines(_ fields: CanonicalFields) -> [String] { fields.fields.filter { $0.count == 2 }.map { "  \($0[0]): \($0[1])" } }
        func object(_ fields: CanonicalFields) -> [String: String] {
            Dictionary(fields.fields.filter { $0.count == 2 }.map { ($0[0], $0[1]) }, uniquingKeysWith: { a, _ in a })
        }

        // What the document carries: a PDF's code and fields, or a code alone.
        var code: VerificationCode
        var carried: CanonicalFields?
        do {
            if codeOrFile.lowercased().hasSuffix(".pdf") || FileManager.default.fileExists(atPath: codeOrFile) {
                guard let pdf = FileManager.default.contents(atPath: codeOrFile) else { throw VerificationError.notADocument("cannot read \(codeOrFile)") }
                (code, carried) = try DocumentVerifier.contents(pdf: pdf)
            } else {
                code = try VerificationCode(text: codeOrFile)
            }
        } catch { throw CardOutput.fail("not genuine: \(error)", code: 1) }

        guard let registry else {
            guard let carried else {
                let known = verifier.knows(code) ? "a configured key" : "an unknown key"
                throw CardOutput.fail("cannot tell offline: a code printed \(formatter.string(from: code.printedAt)) by \(known) (\(hex(code.keyID))); its signature covers the document's fields, which the code does not hold: use --registry to see what was printed", code: 2)
            }
            do { try verifier.verify(code: code, fields: carried) } catch { throw CardOutput.fail("not genuine: \(error)", code: 1) }
            CardOutput.report((["genuine: \(carried.kind), printed \(formatter.string(from: code.printedAt)), key \(hex(code.keyID))"] + fieldLines(carried))
                .joined(separator: "\n"), fields: ["verdict": "genuine", "kind": carried.kind, "printedAt": formatter.string(from: code.printedAt),
                                                    "keyId": hex(code.keyID), "fields": object(carried)])
            return
        }

        // What the registry says was printed under this code.
        let answer: VerificationAnswer
        do {
            var configuration = RegistryClientConfiguration(baseURL: registry, credentials: try KioskCredentials.generate(kioskId: "verifier"))
            configuration.trustRoots = try RegistryClientConfiguration.loadCA(optional: ca)
            answer = try await RegistryClient(configuration: configuration).verification(code: code.description)
        } catch {
            if case .refused(let problem)? = error as? RegistryClientError, problem.code == "verification.not-found" {
                throw CardOutput.fail("not genuine: no kiosk reported a document with this code", code: 1)
            }
            throw CardOutput.fail("cannot tell: \(error)", code: 2)
        }
        let printed = CanonicalFields(kind: answer.record.kind, fields: answer.record.fields.map { ($0.first ?? "", $0.count > 1 ? $0[1] : "") })
        // The keys the reporting kiosk registered count beside the configured ones.
        let registered = (answer.documentKeys ?? []).filter { $0.kioskId == answer.kioskId }.compactMap { Data(base64Encoded: $0.publicKey) }
        let checker = verifier.adding(publicKeys: registered)
        guard checker.knows(code) else {
            throw CardOutput.fail("not genuine: signed with key \(hex(code.keyID)), which kiosk \(answer.kioskId) has not registered at the registry and no configured key matches", code: 1)
        }
        do { try checker.verify(code: code, fields: printed) } catch {
            throw CardOutput.fail("not genuine: the registry's record of this code does not verify: \(error)", code: 1)
        }
        if let carried {
            let changed = carried.differences(from: printed)
            if !changed.isEmpty {
                throw CardOutput.fail("not genuine: the document does not match what was printed under its code; changed: \(changed.joined(separator: ", "))", code: 1)
            }
        }
        CardOutput.report((["genuine: \(printed.kind), printed \(formatter.string(from: code.printedAt)) by kiosk \(answer.kioskId), key \(hex(code.keyID))",
                            "what was printed (compare with the paper):"] + fieldLines(printed)).joined(separator: "\n"),
                          fields: ["verdict": "genuine", "kind": printed.kind, "printedAt": formatter.string(from: code.printedAt),
                                   "kioskId": answer.kioskId, "keyId": hex(code.keyID), "fields": object(printed)])
    }
}
