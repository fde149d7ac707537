/// What kind of number an identity number is, by its form.
public enum IDNumberKind: String, Sendable, Codable {
    /// An 18-character resident ID number (GB 11643).
    case resident
    /// A Hong Kong residence permit number (starts 810000).
    case hongKongPermit
    /// A Macao residence permit number (starts 820000).
    case macaoPermit
    /// A Taiwan residence permit number (starts 830000).
    case taiwanPermit
    /// The 2023 foreigner's permanent residence card number (18 characters, starts with 9).
    case foreigner2023
}

/// Why an identity number was refused.
public enum IDNumberError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Nothing was given.
    case empty
    /// Not 18 characters.
    case wrongLength(Int)
    /// Not a digit (or X last), at a 1-based position.
    case invalidCharacter(Character, position: Int)
    /// The first six digits name no region.
    case unknownRegion(String)
    /// The birth date is not a date (e.g. 19900231).
    case impossibleBirthDate(String)
    /// Born after today.
    case birthDateInFuture(CalendarDate)
    /// Born before 1900.
    case birthDateTooEarly(CalendarDate)
    /// The last (GB 11643 check) character is wrong: a typo somewhere.
    case checkCharacterMismatch(expected: Character, found: Character)

    public var description: String {
        switch self {
        case .empty: return "empty: enter the 18-character number (or a legacy 15-digit one)"
        case .wrongLength(let n):
            return "wrong length: \(n) characters; an ID number has 18 (or 15 for the legacy form)"
        case let .invalidCharacter(c, position):
            return "invalid character '\(c)' at position \(position): only digits, and X as the last character"
        case .unknownRegion(let code):
            return "unknown region code \(code): the first two digits name no province"
        case .impossibleBirthDate(let text):
            return "impossible birth date \(text): no such day"
        case .birthDateInFuture(let date): return "birth date \(date) is in the future"
        case .birthDateTooEarly(let date): return "birth date \(date) is before 1900"
        case let .checkCharacterMismatch(expected, found):
            return "check character is \(found) but should be \(expected): a digit was probably mistyped"
        }
    }
}

/// A validated identity number in its 18-character form.
public struct IDNumber: Hashable, Sendable, CustomStringConvertible {
    /// The 18-character number, upper case.
    public let value: String
    public let kind: IDNumberKind
    public let birthDate: CalendarDate
    /// True when the input was a legacy 15-digit number converted to 18 digits.
    public let wasConverted: Bool

    public var description: String { value }

    /// The holder's sex from the sequence digit (odd male, even female); nil for foreigner numbers.
    public var sex: Sex? {
        guard kind != .foreigner2023 else { return nil }
        let digit = Array(value.utf8)[16] - 48
        return digit % 2 == 1 ? .male : .female
    }

    /// The number with all but the first 6 and last 4 characters masked: `441900********1234`.
    public var masked: String { IDNumber.mask(value) }

    /// Masks any identity number the way receipts and screens show it.
    public static func mask(_ text: String) -> String {
        let characters = Array(text)
        guard characters.count > 10 else { return String(repeating: "*", count: characters.count) }
        return String(characters.prefix(6)) + String(repeating: "*", count: characters.count - 10)
            + String(characters.suffix(4))
    }

    /// Validates `text` (surrounding spaces ignored, x accepted for X).
    /// - Parameter today: birth dates after this day are refused.
    public init(_ text: String, today: CalendarDate = .today()) throws(IDNumberError) {
        let trimmed = text.trimmingSpaces().uppercased()
        guard !trimmed.isEmpty else { throw .empty }
        var chars = Array(trimmed)
        var converted = false
        if chars.count == 15 {
            for (i, c) in chars.enumerated() where !c.isASCIIDigit {
                throw .invalidCharacter(c, position: i + 1)
            }
            chars.insert(contentsOf: ["1", "9"], at: 6)
            chars.append(IDNumber.checkCharacter(for: chars))
            converted = true
        }
        guard chars.count == 18 else { throw .wrongLength(chars.count) }
        for (i, c) in chars.prefix(17).enumerated() where !c.isASCIIDigit {
            throw .invalidCharacter(c, position: i + 1)
        }
        guard chars[17].isASCIIDigit || chars[17] == "X" else {
            throw .invalidCharacter(chars[17], position: 18)
        }
        let prefix = String(chars.prefix(6))
        let kind: IDNumberKind
        switch prefix {
        case "810000": kind = .hongKongPermit
        case "820000": kind = .macaoPermit
        case "830000": kind = .taiwanPermit
        default:
            if chars[0] == "9" {
                kind = .foreigner2023
            } else {
                let province = String(chars.prefix(2))
                guard IDNumber.provinceCodes.contains(province) else { throw .unknownRegion(province) }
                kind = .resident
            }
        }
        let dateText = String(chars[6..<14])
        guard let birth = CalendarDate(dateText) else { throw .impossibleBirthDate(dateText) }
        guard birth.year >= 1900 else { throw .birthDateTooEarly(birth) }
        guard birth <= today else { throw .birthDateInFuture(birth) }
        let expected = IDNumber.checkCharacter(for: chars)
        guard expected == chars[17] else { throw .checkCharacterMismatch(expected: expected, found: chars[17]) }
        value = String(chars)
        self.kind = kind
        birthDate = birth
        wasConverted = converted
    }

    /// ISO 7064 MOD 11-2 check character over the first 17 characters.
    public static func checkCharacter(for characters: [Character]) -> Character {
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        var sum = 0
        for (c, w) in zip(characters.prefix(17), weights) {
            sum += (Int(c.asciiValue ?? 48) - 48) * w
        }
        let table: [Character] = Array("10X98765432")
        return table[((sum % 11) + 11) % 11]
    }

    /// The first two digits of mainland resident numbers (GB/T 2260 provinces).
    static let provinceCodes: Set<String> = [
        "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
        "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
        "65", "71",
    ]
}

extension Character {
    var isASCIIDigit: Bool { asciiValue.map { (48...57).contains($0) } ?? false }
}

extension String {
    /// The string without leading and trailing spaces, tabs and newlines (Foundation-free).
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }),
              let end = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[start...end])
    }
}
