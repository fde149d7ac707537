import RegistryServer
import KioskCore

print("registryd \(KioskCore.version)")
