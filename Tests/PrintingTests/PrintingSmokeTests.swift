import Testing
@testable import Printing

@Test func PrintingModuleLinks() {
    #expect(Bool(true))
}
