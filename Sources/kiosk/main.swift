import KioskCore

print("kiosk \(KioskCore.version)")
