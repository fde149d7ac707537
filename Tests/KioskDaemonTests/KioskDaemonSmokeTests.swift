import Testing
@testable import KioskDaemon

@Test func KioskDaemonModuleLinks() {
    #expect(Bool(true))
}
