import Foundation
import FuzzTargets
import RegistryFuzzTargets
import Testing
import TestSupport

/// Every fuzz target replays its committed corpus (crashes found by `scripts/fuzz.sh` are added
/// there as regressions) and a few thousand deterministic mutations of it, without sanitizers:
/// a smoke that the real fuzzing runs build on.
@Suite struct FuzzTargetTests {
    static let corpus = BuiltProducts.repositoryPath("Fuzz/corpus")

    static func inputs(_ target: String) -> [[UInt8]] {
        let dir = corpus + "/" + target
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted().compactMap {
            FileManager.default.contents(atPath: dir + "/" + $0).map(Array.init)
        }
    }

    static func mutate(_ input: [UInt8], _ other: [UInt8], _ rng: inout SplitMix) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            switch Int.random(in: 0..<7, using: &rng) {
            case 0 where !bytes.isEmpty: bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
            case 1 where !bytes.isEmpty: bytes[Int.random(in: 0..<bytes.count, using: &rng)] = [0, 0xFF, 0x7F, 0x80, 0x0A, 0x3A][Int.random(in: 0..<6, using: &rng)]
            case 2 where !bytes.isEmpty: bytes.removeSubrange(Int.random(in: 0..<bytes.count, using: &rng)...)
            case 3: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: Int.random(in: 0...bytes.count, using: &rng))
            case 4 where !other.isEmpty: bytes += other[Int.random(in: 0..<other.count, using: &rng)...]
            case 5 where bytes.count > 8:
                let at = Int.random(in: 0..<(bytes.count - 4), using: &rng)
                bytes.replaceSubrange(at..<(at + 4), with: [0xFF, 0xFF, 0xFF, 0xFF])
            default: bytes = bytes.reversed()
            }
        }
        return bytes
    }

    static let targets = FuzzTargets.all.merging(RegistryFuzzTargets.all) { a, _ in a }

    @Test(arguments: targets.keys.sorted())
    func replaysItsCorpusAndMutations(target: String) async throws {
        let run = try #require(Self.targets[target])
        let seeds = Self.inputs(target)
        #expect(!seeds.isEmpty, "no corpus for \(target) in \(Self.corpus)")
        guard !seeds.isEmpty else { return }
        // Seconds of CPU: on a thread of its own, not one of the concurrency pool's few threads
        // that the tests running beside this one wait on.
        try await offThePool {
            for seed in seeds { run(seed) }
            var rng = SplitMix(seed: 0x5EED_0000 &+ UInt64(target.utf8.count))
            for i in 0..<2_000 {
                let seed = seeds[i % seeds.count], other = seeds[(i * 7 + 3) % seeds.count]
                run(Self.mutate(seed, other, &rng))
            }
            run([])
            run([UInt8](repeating: 0xAA, count: 70_000))
        }
    }
}
