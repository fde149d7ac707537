import KioskCore

/// Namespace for the Printing module.
public enum PrintingModule {}
