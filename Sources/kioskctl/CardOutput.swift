import ArgumentParser
import Foundation
import KioskCore

/// How kioskctl prints cards and one-line results.
enum CardOutput {
    /// The card JSON contract as one line.
    static func json(_ card: CardIdentity) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(card), as: UTF8.self)
    }

    /// A human description; personal fields masked unless `show`.
    static func human(_ card: CardIdentity, show: Bool) -> String {
        func mask(_ text: String?) -> String? {
            guard let text else { return nil }
            return show ? text : String(text.prefix(6)) + (text.count > 6 ? "…" : "")
        }
        var lines: [(String, String?)] = [
            ("card", card.cardType.rawValue),
            ("name", card.name.map { show ? $0 : CardIdentity.maskName($0) }),
            ("english name", card.englishName.map { show ? $0 : CardIdentity.maskName($0) }),
            ("sex", card.sex.rawValue),
            ("ethnicity", card.ethnicity),
            ("birth date", show ? card.birthDate.description : "****-**-**"),
            ("address", mask(card.address)),
            ("number", show ? card.idNumber : card.maskedIDNumber),
            ("issuer", card.issuer),
            ("valid from", card.validFrom.description),
            ("valid until", card.validUntil?.description ?? "长期 (no end date)"),
            ("nationality", card.nationality),
            ("pass number", card.passNumber.map { show ? $0 : IDNumber.mask($0) }),
            ("issue count", card.issueCount.map(String.init)),
            ("card version", card.cardVersion),
            ("renewal count", card.renewalCount.map(String.init)),
        ]
        lines = lines.filter { $0.1 != nil }
        return lines.map { "\($0.0.padding(toLength: 14, withPad: " ", startingAt: 0)) \($0.1 ?? "")" }
            .joined(separator: "\n")
    }

    /// Prints `message` on stderr (or as the JSON answer) and answers the exit with `code`, for
    /// the command to throw: `throw CardOutput.fail("…", code: 2)`.
    static func fail(_ message: String, code: Int32) -> ExitCode {
        if jsonMode.withLock({ $0 }) {
            print(line(["ok": false, "exitCode": Int(code), "error": message] as [String: any Sendable]))
        } else {
            FileHandle.standardError.write(Data("\(message)\n".utf8))
        }
        return ExitCode(code)
    }

    /// Whether the running command answers in JSON (`--json`): its result and its failures.
    static let jsonMode = Locked(false)

    /// Prints a command's result: `text`, or with `--json` the object `fields` with `"ok": true`.
    static func report(_ text: String, fields: [String: any Sendable]) {
        if jsonMode.withLock({ $0 }) {
            var object = fields
            object["ok"] = true
            print(line(object))
        } else {
            print(text)
        }
    }

    /// One JSON line of `object`, keys sorted.
    static func line(_ object: [String: any Sendable]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// `--json`: one JSON object on standard output instead of text, failures too.
struct JSONOption: ParsableArguments {
    @Flag(help: "One JSON object on standard output instead of text; a failure is {\"ok\": false, \"exitCode\": N, \"error\": \"…\"}.")
    var json = false

    /// Switches the command's output to JSON when asked.
    func apply() { CardOutput.jsonMode.withLock { $0 = json } }
}
