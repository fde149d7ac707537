import Testing
@testable import KioskConfig

@Test func KioskConfigModuleLinks() {
    #expect(Bool(true))
}
