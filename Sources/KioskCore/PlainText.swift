/// Text from outside that is shown on a terminal: what a terminal would act on rather than print.
public enum PlainText {
    /// Whether `scalar` is something a terminal acts on or cannot show: a control (escape, tab,
    /// newline) or format character (bidi marks), a line or paragraph separator, or an unassigned,
    /// private-use or surrogate code point.
    public static func isUnprintable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .unassigned, .privateUse, .surrogate: return true
        default: return false
        }
    }

    /// Whether `text` holds nothing unprintable.
    public static func isPlain(_ text: String) -> Bool {
        !text.unicodeScalars.contains(where: isUnprintable)
    }

    /// `text` with every unprintable scalar shown as `?`.
    public static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { isUnprintable($0) ? "?" : $0 }))
    }
}
