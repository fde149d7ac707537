import Foundation
import KioskCore
import Testing

/// One function decides where the programs' data is: the source tree for a development build,
/// `/usr/share/yitiji` for an installed program, `YITIJI_DATA_DIR` above both.
@Suite struct DataLocationTests {
    @Test func aDevelopmentBuildReadsItsTree() {
        let executable = URL(fileURLWithPath: "/src/yitiji/.build/x86_64-unknown-linux-gnu/debug/kioskd")
        #expect(DataLocation.sourceTree(executable: executable)?.path == "/src/yitiji")
        #expect(DataLocation.url(.readerModels, environment: [:], executable: executable)?.path == "/src/yitiji/drivers/readers/models.json")
        #expect(DataLocation.url(.demoDocumentKey, environment: [:], executable: executable)?.path
                == "/src/yitiji/scripts/testbeds/demo-document-signing.key")
        let fuzz = URL(fileURLWithPath: "/src/yitiji/.build-fuzz/release/fuzz-bundle")
        #expect(DataLocation.sourceTree(executable: fuzz)?.path == "/src/yitiji")
    }

    @Test func anInstalledProgramReadsUsrShareAndNeverADemoKey() {
        let executable = URL(fileURLWithPath: "/usr/bin/kioskctl")
        #expect(DataLocation.sourceTree(executable: executable) == nil)
        #expect(DataLocation.url(.defaultConfiguration, environment: [:], executable: executable)?.path == "/usr/share/yitiji/kiosk-config")
        #expect(DataLocation.url(.readerModels, environment: [:], executable: executable)?.path == "/usr/share/yitiji/readers/models.json")
        #expect(DataLocation.url(.demoDocumentKey, environment: [:], executable: executable) == nil)
    }

    @Test func theEnvironmentNamesAnInstalledLayout() {
        let executable = URL(fileURLWithPath: "/src/yitiji/.build/debug/kioskd")
        let env = ["YITIJI_DATA_DIR": "/opt/yitiji/share"]
        #expect(DataLocation.url(.templates, environment: env, executable: executable)?.path == "/opt/yitiji/share/kiosk-config/templates")
        #expect(DataLocation.url(.demoDocumentKey, environment: env, executable: executable) == nil)
    }
}
