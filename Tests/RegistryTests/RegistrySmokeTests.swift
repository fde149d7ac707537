import Testing
@testable import Registry

@Test func RegistryModuleLinks() {
    #expect(Bool(true))
}
