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

    /// Prints `message` on stderr and exits with `code`.
    static func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("\(message)\n".utf8))
        Foundation.exit(code)
    }
}
