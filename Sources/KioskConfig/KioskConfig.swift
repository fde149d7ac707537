import KioskCore

/// Namespace for the KioskConfig module.
public enum KioskConfigModule {}
