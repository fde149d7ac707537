import ArgumentParser
import Foundation
import PersonVerification

/// `yitiji-verifier-sim`: a deterministic person–card verifier for tests and the demo, one request
/// line on standard input, one answer on standard output, as the scene file says.
@main
struct VerifierSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "yitiji-verifier-sim",
        abstract: "Simulate the person–card verifier, one request per run.",
        discussion: "Scenes: \(VerifierScene.allCases.map(\.rawValue).joined(separator: ", "))")

    @Option(help: "The scene file, read at every call (default: the holder matches).")
    var scene: String?

    func run() throws {
        let current: VerifierScene
        switch VerifierSimulator.scene(at: scene) {
        case .success(let value): current = value
        case .failure(let problem):
            FileHandle.standardError.write(Data((problem.description + "\n").utf8))
            throw ExitCode(65)
        }
        let request = Array((readLine(strippingNewline: true) ?? "").utf8)
        switch VerifierSimulator.respond(to: request, scene: current) {
        case .answer(let line):
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        case .hang:
            while true { sleep(3600) }
        case .exit(let code):
            // The scene is a verifier that dies: its exit status is the answer.
            throw ExitCode(code)
        case .flood:
            let block = Data(repeating: 0x41, count: 65_536)
            while true { FileHandle.standardOutput.write(block) }
        }
    }
}
