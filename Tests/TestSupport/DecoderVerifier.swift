/// Checks a streaming decoder the way swift-nio's `ByteToMessageDecoderVerifier` does: the same
/// input fed whole, one byte at a time, and cut at random places must give the same outputs in
/// the same order and leave the same bytes waiting. A decoder that only works when a frame
/// arrives in one read fails here, long before a slow USB link or a serial line shows it.
public enum DecoderVerifier {
    /// How a feeding of the input went wrong.
    public struct Mismatch: Error, CustomStringConvertible {
        public let description: String
    }

    /// Feeds `input` to fresh decoders whole, byte by byte and in `randomSplits` random cuttings
    /// (seeded: a failure is the same on every run).
    /// - Parameters:
    ///   - expected: what the outputs must be; nil: only the feedings must agree.
    ///   - make: a fresh decoder.
    ///   - feed: appends a chunk and returns every output now complete (a decoding error is an
    ///     output too, so a decoder that carries on after one is checked as well).
    ///   - finish: what the decoder still holds at the end of the input (outputs a flush gives,
    ///     a count of buffered bytes); compared across feedings.
    /// - Returns: the outputs of the whole feeding.
    @discardableResult
    public static func verify<Decoder, Output: Equatable>(
        _ input: [UInt8], expected: [Output]? = nil, randomSplits: Int = 200, seed: UInt64 = 0xDEC0DE,
        make: () -> Decoder,
        feed: (inout Decoder, ArraySlice<UInt8>) -> [Output],
        finish: (inout Decoder) -> [Output] = { _ in [] }
    ) throws -> [Output] {
        func run(_ cuts: [Int]) -> [Output] {
            var decoder = make()
            var outputs: [Output] = []
            var from = 0
            for cut in cuts + [input.count] where cut > from {
                outputs += feed(&decoder, input[from..<cut])
                from = cut
            }
            return outputs + finish(&decoder)
        }
        let whole = run([])
        if let expected, whole != expected {
            throw Mismatch(description: "fed whole (\(input.count) bytes): \(whole.count) output(s) \(whole), expected \(expected.count): \(expected)")
        }
        let byteByByte = run(Array(0..<input.count))
        if byteByByte != whole {
            throw Mismatch(description: "fed byte by byte: \(byteByByte) differs from fed whole: \(whole)")
        }
        var rng = SplitMix(seed: seed)
        for round in 0..<randomSplits where input.count > 1 {
            let count = Int(rng.next() % UInt64(min(input.count - 1, 16))) + 1
            let cuts = Set((0..<count).map { _ in Int(rng.next() % UInt64(input.count - 1)) + 1 }).sorted()
            let split = run(cuts)
            if split != whole {
                throw Mismatch(description: "cut at \(cuts) (round \(round), seed \(seed)): \(split) differs from fed whole: \(whole)")
            }
        }
        return whole
    }
}
