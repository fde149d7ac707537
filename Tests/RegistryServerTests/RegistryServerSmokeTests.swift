import Testing
@testable import RegistryServer

@Test func RegistryServerModuleLinks() {
    #expect(Bool(true))
}
