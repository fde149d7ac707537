/// Crockford's base32, as verification codes are printed and typed: digits and upper-case
/// letters without I, L, O and U; decoding ignores case, dashes and spaces and reads O as 0 and
/// I or L as 1.
public enum CrockfordBase32 {
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")

    /// The text of `bytes`, in groups of `group` characters joined by dashes (0: no groups).
    public static func encode(_ bytes: [UInt8], group: Int = 5) -> String {
        var out: [Character] = []
        var bits = 0, value = 0
        for b in bytes {
            value = (value << 8) | Int(b)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[(value >> (bits - 5)) & 31])
                bits -= 5
                value &= (1 << bits) - 1
            }
        }
        if bits > 0 { out.append(alphabet[(value << (5 - bits)) & 31]) }
        guard group > 0 else { return String(out) }
        return stride(from: 0, to: out.count, by: group).map { String(out[$0..<min(out.count, $0 + group)]) }.joined(separator: "-")
    }

    /// The bytes of a typed or scanned text; the offending character when one is not base32.
    public static func decode(_ text: String) -> Result<[UInt8], CrockfordBase32Error> {
        var bits = 0, value = 0
        var bytes: [UInt8] = []
        for c in text.uppercased() {
            if c == "-" || c == " " { continue }
            let mapped: Character = c == "O" ? "0" : (c == "I" || c == "L") ? "1" : c
            guard let v = alphabet.firstIndex(of: mapped) else { return .failure(.notACodeCharacter(c)) }
            value = (value << 5) | v
            bits += 5
            if bits >= 8 {
                bytes.append(UInt8((value >> (bits - 8)) & 0xFF))
                bits -= 8
                value &= (1 << bits) - 1
            }
            if bytes.count > 4096 { return .failure(.tooLong) }
        }
        return .success(bytes)
    }
}

/// Why a text is not Crockford base32.
public enum CrockfordBase32Error: Error, Sendable, Equatable {
    /// A character outside the alphabet (I, L and O are read as 1, 1 and 0; hyphens and spaces are skipped).
    case notACodeCharacter(Character)
    /// More than 4,096 bytes decoded.
    case tooLong
}
