import ArgumentParser
import Foundation
import KioskCore

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Validate identity numbers and credit codes.",
        discussion: """
        Prints one JSON line {"valid": …, "normalized": …, "reason": …} (always JSON; --json is
        accepted like every other command's); exit 0 when valid, 1 when not.
        Examples:
          kioskctl validate id-number 441900199003181234
          kioskctl validate id-number 440304850721055     (legacy 15 digits → 18)
          kioskctl validate uscc 91350100M000100Y43
        """,
        subcommands: [ValidateIDNumber.self, ValidateUSCC.self]
    )
}

/// The validate commands' output line.
struct ValidationLine: Encodable {
    let valid: Bool
    let normalized: String
    let reason: String

    /// Prints the line; an invalid value ends the command with exit code 1.
    func emit() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let line = (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        print(line)
        if !valid { throw ExitCode(1) }
    }
}

struct ValidateIDNumber: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "id-number",
        abstract: "Validate a resident ID, residence permit or 2023 foreigner card number (GB 11643).")

    @Argument(help: "The number: 18 characters, or a legacy 15-digit number.")
    var value: String
    @OptionGroup var output: JSONOption

    func run() throws {
        let line: ValidationLine
        do {
            let number = try IDNumber(value)
            var reason: String
            switch number.kind {
            case .resident: reason = "resident ID number"
            case .hongKongPermit: reason = "Hong Kong residence permit number"
            case .macaoPermit: reason = "Macao residence permit number"
            case .taiwanPermit: reason = "Taiwan residence permit number"
            case .foreigner2023: reason = "2023 foreigner's permanent residence card number"
            }
            reason += ", born \(number.birthDate)"
            if let sex = number.sex { reason += ", \(sex.rawValue)" }
            if number.wasConverted { reason += "; converted from the legacy 15-digit form" }
            line = ValidationLine(valid: true, normalized: number.value, reason: reason)
        } catch {
            line = ValidationLine(valid: false, normalized: value.trimmingCharacters(in: .whitespaces).uppercased(),
                                  reason: error.description)
        }
        try line.emit()
    }
}

struct ValidateUSCC: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uscc",
        abstract: "Validate a Unified Social Credit Code (GB 32100, with its organisation code).")

    @Argument(help: "The 18-character code.")
    var value: String
    @OptionGroup var output: JSONOption

    func run() throws {
        let line: ValidationLine
        do {
            let code = try CreditCode(value)
            line = ValidationLine(valid: true, normalized: code.value,
                                  reason: "valid credit code; organisation code \(code.value.dropFirst(8).prefix(8))-\(code.value.dropFirst(16).prefix(1))")
        } catch {
            line = ValidationLine(valid: false, normalized: value.trimmingCharacters(in: .whitespaces).uppercased(),
                                  reason: error.description)
        }
        try line.emit()
    }
}
