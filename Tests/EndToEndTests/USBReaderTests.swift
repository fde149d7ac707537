import Foundation
import IDCardReader
import KioskCore
import TestSupport
import Testing

/// The real libusb path against the emulated 0400:C35A reader (umockdev), driven by the simulator.
@Suite(.serialized) struct USBReaderTests {
    let kioskctl = BuiltProducts.path("kioskctl")

    @Test func listsAndReadsEveryCardKind() throws {
        let bed = try EmulatedUSBReader(card: "resident")
        defer { bed.stop() }
        var r = try ProcessRunner.run(kioskctl, ["reader", "list"], environment: bed.environment, timeout: 60)
        #expect(r.stdout.contains("usb 0400:c35a"), "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("usb-split-bulk"))
        for name in SampleCards.byName.keys.sorted() {
            try bed.control("place \(name)")
            r = try ProcessRunner.run(kioskctl, ["reader", "read", "--json", "--timeout", "10"],
                                      environment: bed.environment, timeout: 60)
            #expect(r.status == 0, "\(name): \(r.stderr)")
            let card = try JSONDecoder().decode(CardIdentity.self, from: Data(r.stdout.utf8))
            #expect(card == SampleCards.byName[name])
        }
    }

    @Test func readsThroughTheChunkedModel() throws {
        let bed = try EmulatedUSBReader(model: "0316:5020", card: "hkMacaoTaiwan")
        defer { bed.stop() }
        let r = try ProcessRunner.run(kioskctl, ["reader", "read", "--json", "--timeout", "10"],
                                      environment: bed.environment, timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try JSONDecoder().decode(CardIdentity.self, from: Data(r.stdout.utf8)) == SampleCards.hkMacaoTaiwan)
    }

    @Test func unpluggedMidReadIsAClearErrorAndReadsWorkWhenItReturns() throws {
        let bed = try EmulatedUSBReader(card: "resident")
        defer { bed.stop() }
        try bed.control("latency 2000 read")
        let dir = try TemporaryDirectory(prefix: "unplug")
        defer { dir.remove() }
        let out = dir.path + "/out", err = dir.path + "/err"
        FileManager.default.createFile(atPath: out, contents: nil)
        FileManager.default.createFile(atPath: err, contents: nil)
        let read = Process()
        read.executableURL = URL(fileURLWithPath: kioskctl)
        read.arguments = ["reader", "read", "--json", "--timeout", "10"]
        read.environment = ProcessInfo.processInfo.environment.merging(bed.environment) { $1 }
        read.standardOutput = FileHandle(forWritingAtPath: out)
        read.standardError = FileHandle(forWritingAtPath: err)
        let readsBefore = bed.simulatorStatus()["read"] ?? 0
        try read.run()
        // Unplug exactly while the read command waits for its (delayed) answer.
        #expect(bed.waitForCommand("read", moreThan: readsBefore), "the read never reached the reader")
        bed.unplug()
        let deadline = Date().addingTimeInterval(20)
        while read.isRunning, Date() < deadline { usleep(20_000) }
        if read.isRunning { kill(read.processIdentifier, SIGKILL) }
        read.waitUntilExit()
        let message = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
        #expect(read.terminationStatus == 2, "\(message)")
        #expect(message.contains("disconnected"), "\(message)")

        try bed.control("latency 0")
        bed.plug()
        let again = try ProcessRunner.run(kioskctl, ["reader", "read", "--json", "--timeout", "10"],
                                          environment: bed.environment, timeout: 60)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("441900199003181234"))
    }

    @Test func aReaderWhoseUSBLocksUpIsGivenUpByTheTransportAndReadsAfterAPowerCycle() throws {
        let bed = try EmulatedUSBReader(card: "resident")
        defer { bed.stop() }
        bed.wedge()
        #expect(bed.plugState().contains("wedged"))
        // Every transfer stays pending and its cancellation never comes back: the transport gives
        // the device up (within a command's timeout and two short graces), not the command's own
        // last-resort deadline ("gave no answer").
        let read = try ProcessRunner.run(kioskctl, ["reader", "read", "--json", "--timeout", "20"],
                                         environment: bed.environment, timeout: 60)
        #expect(read.status == 2, "\(read.stderr)")
        #expect(read.stderr.contains("the reader was disconnected"), "\(read.stderr)")
        #expect(!read.stderr.contains("gave no answer"), "\(read.stderr)")

        bed.unplug()
        bed.plug()
        let again = try ProcessRunner.run(kioskctl, ["reader", "read", "--json", "--timeout", "10"],
                                          environment: bed.environment, timeout: 60)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("441900199003181234"))
    }

    @Test func oneProcessFollowsTheReaderAcrossUnplugAndReplug() throws {
        let bed = try EmulatedUSBReader()
        defer { bed.stop() }
        let dir = try TemporaryDirectory(prefix: "watch")
        defer { dir.remove() }
        let out = dir.path + "/out"
        FileManager.default.createFile(atPath: out, contents: nil)
        let watch = Process()
        watch.executableURL = URL(fileURLWithPath: kioskctl)
        watch.arguments = ["reader", "watch", "--count", "20"]
        watch.environment = ProcessInfo.processInfo.environment.merging(bed.environment) { $1 }
        watch.standardOutput = FileHandle(forWritingAtPath: out)
        watch.standardError = FileHandle.nullDevice
        try watch.run()
        defer { if watch.isRunning { kill(watch.processIdentifier, SIGKILL) }; watch.waitUntilExit() }

        func waitFor(_ text: String, occurrences: Int = 1) -> Bool {
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline {
                let lines = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
                if lines.components(separatedBy: text).count - 1 >= occurrences { return true }
                usleep(50_000)
            }
            return false
        }
        #expect(waitFor("connected usb 0400:c35a"))
        try bed.control("place resident")
        #expect(waitFor("card read: resident 张* 441900********1234"))
        bed.unplug()
        #expect(waitFor("disconnected"))
        try bed.control("place foreigner2023")
        bed.plug()
        #expect(waitFor("connected usb 0400:c35a", occurrences: 2))
        #expect(waitFor("card read: foreigner2023"))
        let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        #expect(!text.contains("张三") && !text.contains("441900199003181234"))
    }
}
