import KioskDaemon
import KioskCore

print("kioskd \(KioskCore.version)")
