import ArgumentParser
import Foundation
import Printing

struct DocumentVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a printed document's verification code, offline.",
        discussion: """
        Takes the code printed on the document (dashes, spaces and case ignored) or a PDF file,
        and checks it against the public keys in the configuration's keys/ folder.
        Exit codes: 0 genuine, 1 not genuine (the line printed says why).
        Examples:
          kioskctl document verify 0A1B2-C3D4E-...
          kioskctl document verify licence.pdf
        """)

    @Argument(help: "The verification code, or a PDF file.")
    var codeOrFile: String
    @Option(help: "A folder of *.pub keys (default: the configuration's keys/).")
    var keys: String?
    @OptionGroup var options: DocumentOptions

    func run() throws {
        let verifier = DocumentVerifier.load(directory: keys ?? options.configDirectory.appendingPathComponent("keys").path)
        let lines: [String]
        do { lines = try check(verifier) } catch {
            CardOutput.fail("not genuine: \(error)", code: 1)
        }
        print(lines.joined(separator: "\n"))
    }

    private func check(_ verifier: DocumentVerifier) throws(VerificationError) -> [String] {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "Asia/Shanghai") ?? .current
        func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
        if codeOrFile.lowercased().hasSuffix(".pdf") || FileManager.default.fileExists(atPath: codeOrFile) {
            guard let pdf = FileManager.default.contents(atPath: codeOrFile) else {
                throw .notADocument("cannot read \(codeOrFile)")
            }
            let (code, fields) = try verifier.verify(pdf: pdf)
            var lines = ["genuine: \(fields.kind), printed \(formatter.string(from: code.printedAt)), key \(hex(code.keyID))"]
            for pair in fields.fields where pair.count == 2 { lines.append("  \(pair[0]): \(pair[1])") }
            return lines
        }
        let code = try verifier.verify(code: VerificationCode(text: codeOrFile))
        return ["genuine code: printed \(formatter.string(from: code.printedAt)), key \(hex(code.keyID)), fields digest \(hex(code.digest))"]
    }
}
