import Foundation
import Testing
import TestSupport

@Test func kioskctlPrintsItsVersion() throws {
    let result = try ProcessRunner.run(BuiltProducts.path("kioskctl"), ["--version"], timeout: 30)
    #expect(result.status == 0)
    #expect(result.stdout.contains("0."))
}
