import Testing
@testable import IDCardReader

@Test func IDCardReaderModuleLinks() {
    #expect(Bool(true))
}
