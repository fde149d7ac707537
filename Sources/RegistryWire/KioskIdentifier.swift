/// The form of a kiosk's (and a hall site's) identifier on the registry's wire.
public enum KioskIdentifier {
    /// 1 to 64 of `A-Z a-z 0-9 . _ -`.
    public static func isValid(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count) && id.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E || c == 0x5F || c == 0x2D
        }
    }
}
