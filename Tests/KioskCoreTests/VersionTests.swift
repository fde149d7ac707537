import Testing
import KioskCore

@Test func versionIsSemantic() {
    #expect(Yitiji.version.split(separator: ".").count == 3)
}
