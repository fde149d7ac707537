/// KioskCore: the domain types every other Yitiji module shares.
///
/// (No type here is named `KioskCore`: one would hide the module's name, and `KioskCore.Enterprise`
/// would no longer name the type, as generated code must.)

/// The product as a whole.
public enum Yitiji {
    /// The product version, reported by every executable.
    public static let version = "0.1.0"
}
