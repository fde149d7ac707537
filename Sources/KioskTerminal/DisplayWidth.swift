/// How many terminal columns text takes: East Asian wide and fullwidth characters (汉字, ，, Ａ)
/// take two, combining marks and zero-width joiners none, everything else one.
public enum DisplayWidth {
    /// Columns taken by one Unicode scalar.
    public static func of(_ scalar: Unicode.Scalar) -> Int {
        let v = scalar.value
        if v == 0 { return 0 }
        if v < 0x20 || (0x7F..<0xA0).contains(v) { return 0 }
        if isZeroWidth(v) { return 0 }
        return isWide(v) ? 2 : 1
    }

    /// Columns taken by a character (a grapheme cluster): the width of its first scalar, or 2
    /// when an emoji presentation selector follows.
    public static func of(_ character: Character) -> Int {
        var scalars = character.unicodeScalars.makeIterator()
        guard let first = scalars.next() else { return 0 }
        var width = of(first)
        while let next = scalars.next() {
            if next.value == 0xFE0F, width == 1 { width = 2 }
        }
        return width
    }

    /// Columns taken by a string.
    public static func of(_ text: some StringProtocol) -> Int {
        text.reduce(0) { $0 + of($1) }
    }

    static func isZeroWidth(_ v: UInt32) -> Bool {
        switch v {
        case 0x0300...0x036F, 0x0483...0x0489, 0x0591...0x05BD, 0x0610...0x061A, 0x064B...0x065F,
             0x200B...0x200F, 0x2028...0x202E, 0x2060...0x2064, 0x20D0...0x20FF,
             0xFE00...0xFE0F, 0xFE20...0xFE2F, 0xFEFF, 0xE0100...0xE01EF:
            return true
        default:
            return false
        }
    }

    static func isWide(_ v: UInt32) -> Bool {
        switch v {
        case 0x1100...0x115F,    // Hangul Jamo initials
             0x231A...0x231B, 0x2329...0x232A, 0x23E9...0x23EC, 0x23F0, 0x23F3,
             0x25FD...0x25FE, 0x2614...0x2615, 0x2648...0x2653, 0x267F, 0x2693, 0x26A1,
             0x26AA...0x26AB, 0x26BD...0x26BE, 0x26C4...0x26C5, 0x26CE, 0x26D4, 0x26EA,
             0x26F2...0x26F3, 0x26F5, 0x26FA, 0x26FD, 0x2705, 0x270A...0x270B, 0x2728, 0x274C,
             0x274E, 0x2753...0x2755, 0x2757, 0x2795...0x2797, 0x27B0, 0x27BF, 0x2B1B...0x2B1C,
             0x2B50, 0x2B55,
             0x2E80...0x303E,    // CJK radicals, Kangxi, ideographic description, CJK symbols and punctuation
             0x3041...0x33FF,    // Hiragana, Katakana, Bopomofo, Hangul compatibility, Kanbun, CJK compatibility
             0x3400...0x4DBF,    // CJK extension A
             0x4E00...0x9FFF,    // CJK unified ideographs
             0xA000...0xA4CF,    // Yi
             0xA960...0xA97F,    // Hangul Jamo extended A
             0xAC00...0xD7A3,    // Hangul syllables
             0xF900...0xFAFF,    // CJK compatibility ideographs
             0xFE10...0xFE19,    // vertical forms
             0xFE30...0xFE6F,    // CJK compatibility forms, small forms
             0xFF00...0xFF60,    // fullwidth forms
             0xFFE0...0xFFE6,
             0x16FE0...0x18AFF, 0x1B000...0x1B2FF,
             0x1F004, 0x1F0CF, 0x1F18E, 0x1F191...0x1F19A, 0x1F200...0x1F251,
             0x1F300...0x1F64F,  // symbols and pictographs, emoticons
             0x1F680...0x1F6FF,  // transport and map
             0x1F7E0...0x1F7EB, 0x1F90C...0x1F9FF, 0x1FA70...0x1FAFF,
             0x20000...0x2FFFD,  // CJK extensions B–F
             0x30000...0x3FFFD:  // CJK extension G and later
            return true
        default:
            return false
        }
    }
}
