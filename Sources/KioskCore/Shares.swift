import Foundation

/// Investors' shares in hundredths of a percent (basis points): 10000 is the whole enterprise.
public enum Shares {
    /// A share as people write it: `40`, `33.33`, `40%` (at most two decimals, 0 to 100).
    public static func basisPoints(_ text: String) -> Int? {
        let cleaned = text.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "%", with: "")
        let parts = cleaned.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts[0].count <= 3,
              parts[0].allSatisfy({ $0.isASCII && $0.isNumber }), let whole = Int(parts[0]) else { return nil }
        var hundredths = 0
        if parts.count == 2 {
            let digits = parts[1]
            guard (1...2).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(digits) else { return nil }
            hundredths = digits.count == 1 ? value * 10 : value
        }
        let total = whole * 100 + hundredths
        return total <= 10_000 ? total : nil
    }

    /// `40%`, `33.33%`.
    public static func percent(_ basisPoints: Int) -> String {
        basisPoints % 100 == 0 ? "\(basisPoints / 100)%" : String(format: "%d.%02d%%", basisPoints / 100, basisPoints % 100)
    }
}
