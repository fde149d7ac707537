import Foundation
import PersonVerification

// A deterministic person–card verifier for tests and the demo: one request line on standard
// input, one answer on standard output, as the scene file (--scene PATH, read at every call) says.
let arguments = CommandLine.arguments.dropFirst()
var scenePath: String?
if let index = arguments.firstIndex(of: "--scene"), arguments.index(after: index) < arguments.endIndex {
    scenePath = arguments[arguments.index(after: index)]
} else if !arguments.isEmpty {
    FileHandle.standardError.write(Data("usage: yitiji-verifier-sim [--scene PATH]\nscenes: \(VerifierScene.allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
    exit(64)
}
let scene: VerifierScene
switch VerifierSimulator.scene(at: scenePath) {
case .success(let value): scene = value
case .failure(let problem):
    FileHandle.standardError.write(Data((problem.description + "\n").utf8))
    exit(65)
}
let request = Array((readLine(strippingNewline: true) ?? "").utf8)
switch VerifierSimulator.respond(to: request, scene: scene) {
case .answer(let line):
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
    exit(0)
case .hang:
    while true { sleep(3600) }
case .exit(let code):
    exit(code)
case .flood:
    let block = Data(repeating: 0x41, count: 65_536)
    while true { FileHandle.standardOutput.write(block) }
}
