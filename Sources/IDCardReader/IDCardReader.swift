import KioskCore

/// Namespace for the IDCardReader module.
public enum IDCardReaderModule {}
