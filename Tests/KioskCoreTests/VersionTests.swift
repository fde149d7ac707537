import Testing
import KioskCore

@Test func versionIsSemantic() {
    #expect(KioskCore.version.split(separator: ".").count == 3)
}
