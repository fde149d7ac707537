import KioskCore

/// Namespace for the Registry module.
public enum RegistryModule {}
