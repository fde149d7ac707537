import KioskCore

/// Namespace for the KioskDaemon module.
public enum KioskDaemonModule {}
