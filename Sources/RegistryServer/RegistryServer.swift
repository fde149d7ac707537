import KioskCore

/// Namespace for the RegistryServer module.
public enum RegistryServerModule {}
