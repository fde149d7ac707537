import ArgumentParser
import Foundation
import IDCardReader

struct ReaderDecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode reader response frames (hex on stdin) into a card.",
        discussion: """
        Reads hex on stdin (whitespace and newlines ignored); the read response may come alone or
        after the find and select responses. Prints the card as one JSON object.
        Exit codes: 0 decoded, 2 a bad frame (the line printed names what is wrong).

        Example: kioskctl reader decode < frames.hex
        """)

    func run() throws {
        let input = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        do {
            let card = try FrameTranscript.decodeCard(hex: input)
            print(try CardOutput.json(card))
        } catch let failure as FrameTranscript.Failure {
            throw CardOutput.fail(failure.description, code: 2)
        }
    }
}
