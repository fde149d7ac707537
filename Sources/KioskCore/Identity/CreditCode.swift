/// Why a Unified Social Credit Code was refused.
public enum CreditCodeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Nothing was given.
    case empty
    /// Not 18 characters.
    case wrongLength(Int)
    /// A character GB 32100 does not use (I, O, S, V, Z), at a 1-based position; lower case is read as upper.
    case invalidCharacter(Character, position: Int)
    /// The six-character region code is not six digits.
    case regionNotDigits(String)
    /// The organisation code's GB 11714 check character is wrong.
    case organisationCodeCheckMismatch(expected: Character, found: Character)
    /// The last (GB 32100 check) character is wrong: a typo somewhere.
    case checkCharacterMismatch(expected: Character, found: Character)

    public var description: String {
        switch self {
        case .empty: return "empty: enter the 18-character code printed on the business licence"
        case .wrongLength(let n): return "wrong length: \(n) characters; a credit code has 18"
        case let .invalidCharacter(c, position):
            return "invalid character '\(c)' at position \(position): codes use digits and letters except I, O, S, V, Z"
        case .regionNotDigits(let text):
            return "positions 3-8 must be a 6-digit region code, found \(text)"
        case let .organisationCodeCheckMismatch(expected, found):
            return "the organisation code (positions 9-17) ends in \(found) but should end in \(expected): a character was probably mistyped"
        case let .checkCharacterMismatch(expected, found):
            return "check character is \(found) but should be \(expected): a character was probably mistyped"
        }
    }
}

/// A validated Unified Social Credit Code (统一社会信用代码, GB 32100-2015).
public struct CreditCode: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The 18-character code, upper case.
    public let value: String

    public var description: String { value }

    /// The code's 31 symbols, valued 0–30.
    static let alphabet: [Character] = Array("0123456789ABCDEFGHJKLMNPQRTUWXY")

    /// Validates `text` (surrounding spaces ignored, lower case accepted).
    public init(_ text: String) throws(CreditCodeError) {
        let chars = Array(text.trimmingSpaces().uppercased())
        guard !chars.isEmpty else { throw .empty }
        guard chars.count == 18 else { throw .wrongLength(chars.count) }
        var values: [Int] = []
        for (i, c) in chars.enumerated() {
            guard let v = CreditCode.alphabet.firstIndex(of: c) else { throw .invalidCharacter(c, position: i + 1) }
            values.append(v)
        }
        let region = chars[2..<8]
        guard region.allSatisfy(\.isASCIIDigit) else { throw .regionNotDigits(String(region)) }
        let orgExpected = CreditCode.organisationCheck(Array(chars[8..<16]))
        guard orgExpected == chars[16] else {
            throw .organisationCodeCheckMismatch(expected: orgExpected, found: chars[16])
        }
        let weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
        let sum = zip(values.prefix(17), weights).reduce(0) { $0 + $1.0 * $1.1 }
        let expected = CreditCode.alphabet[(31 - sum % 31) % 31]
        guard expected == chars[17] else { throw .checkCharacterMismatch(expected: expected, found: chars[17]) }
        value = String(chars)
    }

    /// The GB 11714 organisation code check over 8 characters (digits 0–9, letters A=10 … Z=35).
    public static func organisationCheck(_ body: [Character]) -> Character {
        let weights = [3, 7, 9, 10, 5, 8, 4, 2]
        var sum = 0
        for (c, w) in zip(body, weights) {
            let ascii = Int(c.asciiValue ?? 48)
            let value = ascii >= 65 ? ascii - 55 : ascii - 48
            sum += value * w
        }
        let check = 11 - sum % 11
        switch check {
        case 10: return "X"
        case 11: return "0"
        default: return Character(String(check))
        }
    }

    /// The check character for a 17-character prefix; used to make valid test codes.
    public static func checkCharacter(forPrefix prefix: String) -> Character? {
        let chars = Array(prefix.uppercased())
        guard chars.count == 17 else { return nil }
        let weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
        var sum = 0
        for (c, w) in zip(chars, weights) {
            guard let v = alphabet.firstIndex(of: c) else { return nil }
            sum += v * w
        }
        return alphabet[(31 - sum % 31) % 31]
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do { self = try CreditCode(text) } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(text): \(error)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}
