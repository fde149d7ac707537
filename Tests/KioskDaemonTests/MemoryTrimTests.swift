import Foundation
@testable import KioskDaemon
import Testing

@Suite struct MemoryTrimTests {
    @Test func onlyPrivateReadOnlyFileMappingsAreTrimmed() {
        let maps = """
            55d0c0000000-55d0c2000000 r-xp 00000000 fe:01 123 /usr/bin/kioskd
            55d0c2000000-55d0c2100000 r--p 02000000 fe:01 123 /usr/bin/kioskd
            55d0c2100000-55d0c2200000 rw-p 02100000 fe:01 123 /usr/bin/kioskd
            55d0c3000000-55d0c4000000 rw-p 00000000 00:00 0                  [heap]
            7f0000000000-7f0000100000 r-xp 00000000 fe:01 5 /usr/lib/x86_64-linux-gnu/libc.so.6
            7f0000200000-7f0000300000 rw-p 00000000 00:00 0
            7f0000400000-7f0000401000 r--s 00000000 fe:01 7 /var/lib/yitiji/outbox.sqlite-shm
            7f0000500000-7f0000600000 r--p 00000000 fe:01 8 /opt/vendor files/libreader.so
            7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                  [stack]
            7ffd00100000-7ffd00102000 r-xp 00000000 00:00 0                  [vdso]
            garbage line
            """
        let found = MemoryTrim.trimmable(maps)
        #expect(found.map(\.path) == ["/usr/bin/kioskd", "/usr/bin/kioskd", "/usr/lib/x86_64-linux-gnu/libc.so.6",
                                      "/opt/vendor files/libreader.so"])
        #expect(found.first == .init(start: 0x55d0c0000000, end: 0x55d0c2000000, permissions: "r-xp", path: "/usr/bin/kioskd"))
    }

    @Test func trimmingThisProcessLeavesItRunning() throws {
        let before = try #require(MemoryTrim.residentBytes())
        #expect(MemoryTrim.trim() > 0)
        // Code and constant data come back on first use.
        let data = try JSONEncoder().encode(["still": "running"])
        #expect(String(decoding: data, as: UTF8.self) == #"{"still":"running"}"#)
        #expect(try #require(MemoryTrim.residentBytes()) <= before + (8 << 20))
    }
}
