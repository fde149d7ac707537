/// KioskCore: the domain types every other Yitiji module shares.
public enum KioskCore {
    /// The product version, reported by every executable.
    public static let version = "0.1.0"
}
