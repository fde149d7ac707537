// yitiji-bench: prints the figures behind Yitiji's speed targets.
// Usage: swift run -c release yitiji-bench [NAME ...]   (no name: all)
import Foundation

let benchmarks: [(name: String, run: () throws -> Void)] = [
]

let wanted = Set(CommandLine.arguments.dropFirst())
for bench in benchmarks where wanted.isEmpty || wanted.contains(bench.name) {
    do { try bench.run() } catch { print("\(bench.name): failed: \(error)") }
}
