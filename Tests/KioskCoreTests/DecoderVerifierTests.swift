import TestSupport
import Testing

/// The decoder verifier itself: it passes a decoder that buffers across reads and catches one
/// that assumes a message arrives in a single read.
@Suite struct DecoderVerifierTests {
    /// Lines split at `\n`, buffered across chunks.
    struct LineDecoder {
        var pending: [UInt8] = []
        mutating func feed(_ chunk: ArraySlice<UInt8>) -> [String] {
            pending += chunk
            var lines: [String] = []
            while let end = pending.firstIndex(of: 0x0A) {
                lines.append(String(decoding: pending[..<end], as: UTF8.self))
                pending.removeSubrange(...end)
            }
            return lines
        }
    }

    @Test func aDecoderThatBuffersAcrossReadsPasses() throws {
        let lines = try DecoderVerifier.verify(Array("place resident\nremove\n\nfault checksum\npartial".utf8),
                                               expected: ["place resident", "remove", "", "fault checksum", "rest: 7"],
                                               make: { LineDecoder() }, feed: { $0.feed($1) }, finish: { ["rest: \($0.pending.count)"] })
        #expect(lines.count == 5)
    }

    @Test func aDecoderThatAssumesOneMessagePerReadIsCaught() {
        #expect(throws: DecoderVerifier.Mismatch.self) {
            try DecoderVerifier.verify(Array("place resident\nremove\n".utf8), make: { () }, feed: { _, chunk in
                String(decoding: chunk, as: UTF8.self).split(separator: "\n").map(String.init)
            })
        }
    }

    @Test func aWrongExpectationIsReported() {
        #expect(throws: DecoderVerifier.Mismatch.self) {
            try DecoderVerifier.verify(Array("a\n".utf8), expected: ["b"], make: { LineDecoder() }, feed: { $0.feed($1) })
        }
    }
}
