import Foundation
import KioskCore
import NIOCore
import Registry

/// Encoded answers built from stored records, each kept beside the exact stored text it came from.
///
/// The store is still read on every request, so a record changed by a seed load (in this process,
/// another one or another replica) is answered anew at once: an entry is used only while the stored
/// text is byte for byte the one it was built from. Nothing is kept for a record that is not there.
/// At most `capacity` entries; when full, an entry is dropped to make room.
final class RecordAnswers: Sendable {
    private struct Entry {
        let source: String
        let answer: ByteBuffer
    }

    private let entries = Locked([String: Entry]())
    private let capacity: Int

    init(capacity: Int = 4096) { self.capacity = max(1, capacity) }

    /// The answer for `source` under `key`: the kept one when `source` is unchanged, otherwise
    /// `build(source)`, kept for next time.
    func answer(key: String, source: String, build: (String) throws -> ByteBuffer) rethrows -> ByteBuffer {
        if let entry = entries.withLock({ $0[key] }), Self.same(entry.source, source) { return entry.answer }
        let answer = try build(source)
        entries.withLock { entries in
            // The first in hash order: any entry, found in constant time (randomElement walks the keys).
            if entries.count >= capacity, entries[key] == nil, !entries.isEmpty { entries.remove(at: entries.startIndex) }
            entries[key] = Entry(source: source, answer: answer)
        }
        return answer
    }

    /// Byte equality (String's `==` compares canonical equivalence, slower and not what is meant here).
    static func same(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                guard x.count == y.count else { return false }
                guard let p = x.baseAddress, let q = y.baseAddress else { return true }
                return memcmp(p, q, x.count) == 0
            }
        }
    }

    /// How many answers are kept.
    var count: Int { entries.withLock { $0.count } }
}
