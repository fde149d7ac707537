#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Gives back the code and read-only data pages that start-up touched and a running kiosk no
/// longer needs.
///
/// kioskd is one large executable. The kernel reads it in with readahead, in large page-cache
/// folios, and maps a whole folio on each fault: start-up alone leaves tens of MiB of clean code
/// resident that are never run again. After start-up, `trim()` marks every read-only file mapping
/// of the process as randomly accessed (no readahead: later faults bring in single pages) and asks
/// the kernel to reclaim what is resident now (`MADV_PAGEOUT`, Linux 5.4+). Only clean file pages
/// are affected; nothing written is lost, and a page needed again is read back on first use.
public enum MemoryTrim {
    /// Linux's `MADV_PAGEOUT`, absent from older C headers.
    static let pageOut: Int32 = 21

    /// One mapping of `/proc/self/maps`.
    struct Mapping: Equatable {
        var start: UInt
        var end: UInt
        var permissions: String
        var path: String
    }

    /// The read-only, private, file-backed mappings of a `/proc/PID/maps` text: code and
    /// constant data of the executable and its libraries (not the heap, stacks or writable data).
    static func trimmable(_ maps: String) -> [Mapping] {
        maps.split(separator: "\n").compactMap { line -> Mapping? in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[5].hasPrefix("/") else { return nil }
            let permissions = String(fields[1])
            guard permissions.count == 4, permissions.hasPrefix("r"), permissions.dropFirst().first == "-",
                  permissions.hasSuffix("p") else { return nil }
            let bounds = fields[0].split(separator: "-")
            guard bounds.count == 2, let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16), end > start else {
                return nil
            }
            return Mapping(start: start, end: end, permissions: permissions, path: fields[5...].joined(separator: " "))
        }
    }

    /// Trims this process's read-only file mappings. Returns the bytes of address space advised
    /// (0 where the kernel lacks the advice or `/proc` is not mounted).
    @discardableResult
    public static func trim() -> Int {
        guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return 0 }
        var advised = 0
        for mapping in trimmable(maps) {
            guard let address = UnsafeMutableRawPointer(bitPattern: mapping.start) else { continue }
            let length = Int(mapping.end - mapping.start)
            _ = madvise(address, length, MADV_RANDOM)
            if madvise(address, length, pageOut) == 0 { advised += length }
        }
        return advised
    }

    /// This process's resident memory in bytes (`VmRSS`), or nil.
    public static func residentBytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return nil }
        return kib * 1024
    }
}
