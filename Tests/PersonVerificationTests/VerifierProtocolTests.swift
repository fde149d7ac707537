import Foundation
import KioskCore
@testable import PersonVerification
import Testing

@Suite struct VerifierProtocolTests {
    static let id = "3f1c2b9e-0000-4000-8000-000000000001"

    static func answer(_ json: String) -> [UInt8] { Array(json.utf8) }

    @Test func base64IsFoundationsBase64() {
        var generator = SystemRandomNumberGenerator()
        for length in Array(0...9) + [1024, 38_862] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var encoded: [UInt8] = []
            Base64.append(bytes, to: &encoded)
            #expect(String(decoding: encoded, as: UTF8.self) == Data(bytes).base64EncodedString())
        }
    }

    @Test func aVerifyRequestIsOneJSONLineCarryingThePhoto() throws {
        let photo: [UInt8] = [0x57, 0x4C, 0x66] + Array(repeating: 7, count: 1021)
        let request = VerifierProtocol.verifyRequest(id: Self.id, photo: photo, format: .wlt, liveness: .blink, deadlineMilliseconds: 20_000)
        let bytes = request.bytes
        #expect(bytes.last == 0x0A)
        #expect(bytes.dropLast().contains(0x0A) == false)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes.dropLast())) as? [String: Any])
        #expect(object["version"] as? Int == 1)
        #expect(object["op"] as? String == "verify")
        #expect(object["id"] as? String == Self.id)
        #expect(object["liveness"] as? String == "blink")
        let sent = try #require(object["photo"] as? [String: Any])
        #expect(sent["format"] as? String == "wlt")
        #expect(Data(base64Encoded: try #require(sent["base64"] as? String)) == Data(photo))
        request.wipe()
        #expect(request.count == 0)
    }

    @Test func validAnswersAreTaken() throws {
        let match = try VerifierProtocol.decodeVerify(Self.answer(#"{"version":1,"id":"\#(Self.id)","result":"match","score":0.93}"#), id: Self.id)
        #expect(match == VerifierAnswer(verdict: .match, score: 0.93, detail: nil))
        let noFace = try VerifierProtocol.decodeVerify(Self.answer(#"{"version":1,"id":"\#(Self.id)","result":"noFace","extra":[1,2]}"#), id: Self.id)
        #expect(noFace.verdict == .noFace)
        let probe = try VerifierProtocol.decodeProbe(Self.answer(#"{"version":1,"id":"\#(Self.id)","result":"ready","name":"FaceKit","model":"FK-2"}"#), id: Self.id)
        #expect(probe == VerifierIdentity(name: "FaceKit", model: "FK-2"))
    }

    /// What a broken or hostile verifier might write: each is refused, none is taken for a match.
    @Test(arguments: [
        (#"{"version":1,"id":"00000000-0000-0000-0000-000000000000","result":"match","score":0.99}"#, VerifierError.wrongRequest),
        (#"{"version":2,"id":"ID","result":"match","score":0.99}"#, .malformed("protocol version 2, this kiosk speaks 1")),
        (#"{"version":1,"id":"ID","result":"MATCH","score":0.99}"#, .malformed("result 'MATCH' is none of match, noMatch, noFace, notLive, error")),
        (#"{"version":1,"id":"ID","result":"match","score":7}"#, .malformed("score 7.0 is not between 0 and 1")),
        (#"{"version":1,"id":"ID","result":"match","score":-0.5}"#, .malformed("score -0.5 is not between 0 and 1")),
        (#"{"version":1,"id":"ID","result":"match"}"#, .malformed("a match answer carries a score")),
        (#"{"version":1,"id":"ID","result":"match","score":"high"}"#, .malformed("not a JSON object with version, id and result")),
        (#"{"version":1,"result":"match","score":0.99}"#, .malformed("not a JSON object with version, id and result")),
        (#"[1,2,3]"#, .malformed("not a JSON object with version, id and result")),
        (#"<html>500</html>"#, .malformed("not a JSON object with version, id and result")),
        ("", .malformed("an empty line")),
    ])
    func brokenAnswersAreRefused(_ line: String, _ expected: VerifierError) {
        let text = line.replacingOccurrences(of: "\"ID\"", with: "\"\(Self.id)\"")
        #expect(throws: expected) { try VerifierProtocol.decodeVerify(Self.answer(text), id: Self.id) }
    }

    @Test func anOversizedAnswerIsRefused() {
        let detail = String(repeating: "x", count: VerifierProtocol.maximumAnswer)
        let line = Self.answer(#"{"version":1,"id":"\#(Self.id)","result":"noFace","detail":"\#(detail)"}"#)
        #expect(throws: VerifierError.oversized(VerifierProtocol.maximumAnswer)) { try VerifierProtocol.decodeVerify(line, id: Self.id) }
    }

    @Test func theVerifiersWordsAreCleanedAndShortened() throws {
        let long = String(repeating: "摄", count: 500)
        let answer = try VerifierProtocol.decodeVerify(
            Self.answer(#"{"version":1,"id":"\#(Self.id)","result":"error","detail":"camera\u001b[2J\r\n gone \#(long)"}"#), id: Self.id)
        let detail = try #require(answer.detail)
        #expect(!detail.unicodeScalars.contains { CharacterSet.controlCharacters.contains($0) })
        #expect(detail.hasPrefix("camera[2J gone "))
        #expect(detail.count == VerifierProtocol.maximumDetail)
    }

    @Test func aProbeThatIsNotReadyOrNamelessIsRefused() {
        #expect(throws: VerifierError.notReady("camera unplugged")) {
            try VerifierProtocol.decodeProbe(Self.answer(#"{"version":1,"id":"\#(Self.id)","result":"error","detail":"camera unplugged"}"#), id: Self.id)
        }
        #expect(throws: VerifierError.malformed("a probe answer names the verifier")) {
            try VerifierProtocol.decodeProbe(Self.answer(#"{"version":1,"id":"\#(Self.id)","result":"ready","name":" \u0007"}"#), id: Self.id)
        }
    }

    @Test func theSimulatorAnswersEachScene() throws {
        let photo: [UInt8] = [0x57, 0x4C, 0x66] + Array(repeating: 1, count: 1021)
        let request = VerifierProtocol.verifyRequest(id: Self.id, photo: photo, format: .wlt, liveness: .blink, deadlineMilliseconds: 5000)
        let line = Array(request.bytes.dropLast())
        func verdict(_ scene: VerifierScene) throws -> VerifierAnswer {
            guard case .answer(let text) = VerifierSimulator.respond(to: line, scene: scene) else { throw VerifierError.wrongRequest }
            return try VerifierProtocol.decodeVerify(Array(text.utf8), id: Self.id)
        }
        #expect(try verdict(.holder).verdict == .match)
        #expect(try verdict(.stranger).verdict == .noMatch)
        #expect(try verdict(.noFace).verdict == .noFace)
        #expect(try verdict(.notLive).verdict == .notLive)
        #expect(try verdict(.cameraError).verdict == .error)
        #expect(VerifierSimulator.respond(to: line, scene: .hang) == .hang)
        #expect(VerifierSimulator.respond(to: line, scene: .crash) == .exit(3))
        // A photo that is not a card photo: the simulator says so, as a real verifier would.
        let bad = VerifierProtocol.verifyRequest(id: Self.id, photo: [1, 2, 3], format: .wlt, liveness: .blink, deadlineMilliseconds: 5000)
        guard case .answer(let text) = VerifierSimulator.respond(to: Array(bad.bytes.dropLast()), scene: .holder) else {
            Issue.record("no answer")
            return
        }
        #expect(try VerifierProtocol.decodeVerify(Array(text.utf8), id: Self.id).verdict == .error)
    }
}
