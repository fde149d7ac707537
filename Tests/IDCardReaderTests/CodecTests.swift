import Foundation
import IDCardReader
import KioskCore
import TestSupport
import Testing

/// Golden frames from the protocol reference, and the streaming decoder byte by byte.
@Suite struct CodecTests {
    @Test("every command encodes to the reference's frame", arguments: [
        (SAMCommand.resetSAM, "AA AA AA 96 69 00 03 10 FF EC"),
        (.samStatus, "AA AA AA 96 69 00 03 11 FF ED"),
        (.readSAMID, "AA AA AA 96 69 00 03 12 FF EE"),
        (.findCard, "AA AA AA 96 69 00 03 20 01 22"),
        (.selectCard, "AA AA AA 96 69 00 03 20 02 21"),
        (.readText, "AA AA AA 96 69 00 03 30 01 32"),
        (.readTextAndFingerprint, "AA AA AA 96 69 00 03 30 10 23"),
        (.readAppendedAddress, "AA AA AA 96 69 00 03 30 03 30"),
        (.setMaxRFBytes(0x50), "AA AA AA 96 69 00 04 61 FF 50 CA"),
        (.setBaudRate(.b115200), "AA AA AA 96 69 00 03 60 00 63"),
    ])
    func commandFrames(command: SAMCommand, expected: String) {
        #expect(hexString(command.frame) == expected)
        var decoder = SAMFrameDecoder()
        decoder.append(command.frame)
        let body = try? decoder.nextBody()
        #expect(body.flatMap(SAMCommand.init(body:)) == command)
    }

    @Test func goldenSuccessAndFailureFrames() throws {
        var decoder = SAMFrameDecoder()
        decoder.append(try #require(parseHex("AA AA AA 96 69 00 04 00 00 90 94")))
        #expect(try decoder.nextResponse()?.status == .success)
        decoder.append(try #require(parseHex("AA AA AA 96 69 00 04 00 00 41 45")))
        let failure = try #require(try decoder.nextResponse())
        #expect(failure.status == .readCardFailed)
        #expect(failure.status.description == "41 (read card failed)")
    }

    @Test func goldenSAMIdentifier() throws {
        let frame = try #require(parseHex(
            "AA AA AA 96 69 00 14 00 00 90 05 00 01 00 09 B8 32 01 05 BE 12 00 AD C5 B1 11 63"))
        var decoder = SAMFrameDecoder()
        decoder.append(frame)
        let response = try #require(try decoder.nextResponse())
        #expect(SAMIdentifier(data: response.data)?.description == "05.01-20101129-0001228293-0296863149")
    }

    @Test func everyStatusCodeHasAMeaning() {
        for status in SAMStatus.known {
            #expect(SAMStatus(code: status.code) == status)
            #expect(!status.meaning.isEmpty)
            #expect(status.isSuccess || status == .noContent || !status.advice.isEmpty)
        }
        #expect(SAMStatus(code: 0x77) == .other(0x77))
    }

    /// A full `30 10` read response for a card.
    static func readFrame(_ card: CardIdentity, fingerprint: Bool = true) -> [UInt8] {
        let simulator = ReaderSimulator(card: card)
        var bytes: [UInt8] = []
        for command in [SAMCommand.findCard, .selectCard, fingerprint ? .readTextAndFingerprint : .readText] {
            bytes = simulator.receive(command.frame).flatMap(\.bytes)
        }
        return bytes
    }

    @Test func readResponseSizesMatchTheReference() {
        #expect(CodecTests.readFrame(SampleCards.resident, fingerprint: false).count == 1295)
        #expect(CodecTests.readFrame(SampleCards.resident, fingerprint: true).count == 2321)
    }

    @Test func decodesByteByByteDespiteThePreambleInsidePhotoData() throws {
        let frame = CodecTests.readFrame(SampleCards.resident)
        var decoder = SAMFrameDecoder()
        var responses: [SAMResponse] = []
        for byte in frame {
            decoder.append([byte])
            if let r = try decoder.nextResponse() { responses.append(r) }
        }
        #expect(responses.count == 1)
        let card = try CardText.decodeRead(data: responses[0].data)
        #expect(card.identity == SampleCards.resident)
        #expect(card.photo.count == 1024)
        #expect(card.fingerprint.count == 1024)
        #expect(decoder.skippedBytes == 0)
    }

    /// One decoder output, for comparing feedings.
    enum Decoded: Equatable, CustomStringConvertible {
        case body([UInt8])
        case error(FrameError)
        case held(buffered: Int, skipped: Int, vendorFrames: Int)
        var description: String {
            switch self {
            case .body(let b): return "body(\(b.count) bytes, status \(b.dropFirst(2).first.map { String($0, radix: 16) } ?? "-"))"
            case .error(let e): return "error(\(e))"
            case .held(let b, let s, let v): return "held(buffered \(b), skipped \(s), vendor frames \(v))"
            }
        }
    }

    /// Every golden frame, the read with a preamble inside its photo, junk, a vendor frame, a bad
    /// checksum and an impossible length, one after another: the same frames and errors whether the
    /// bytes come whole, one at a time, or cut anywhere.
    @Test func everyGoldenFrameDecodesTheSameHoweverTheBytesAreCut() throws {
        let vendor = SAMFrame.encode(body: [0x01, 0x02]).enumerated().map { i, b in i == 3 ? 0x69 : (i == 4 ? 0x96 : b) }
        var badChecksum = SAMResponse(status: .success).frame
        badChecksum[badChecksum.count - 1] ^= 0xFF
        let golden = try [
            "AA AA AA 96 69 00 04 00 00 90 94", "AA AA AA 96 69 00 04 00 00 41 45",
            "AA AA AA 96 69 00 14 00 00 90 05 00 01 00 09 B8 32 01 05 BE 12 00 AD C5 B1 11 63",
        ].map { try #require(parseHex($0)) }
        let input = golden.joined() + CodecTests.readFrame(SampleCards.resident) + [0x00, 0xAA, 0xAA, 0x13, 0xAA, 0xAA, 0xAA, 0x96]
            + vendor + badChecksum + SAMResponse(status: .findCardSuccess, data: [0, 0, 0, 0]).frame
            + [0xAA, 0xAA, 0xAA, 0x96, 0x69, 0xFF, 0xFF, 0x00] + CodecTests.readFrame(SampleCards.foreigner2023, fingerprint: false)
            + [0xAA, 0xAA, 0xAA, 0x96]
        let outputs = try DecoderVerifier.verify(input, randomSplits: 300, make: { SAMFrameDecoder() }, feed: { (decoder: inout SAMFrameDecoder, chunk: ArraySlice<UInt8>) -> [Decoded] in
            decoder.append(chunk)
            var out: [Decoded] = []
            while true {
                do throws(FrameError) {
                    guard let body = try decoder.nextBody() else { return out }
                    out.append(.body(body))
                } catch { out.append(.error(error)) }
            }
        }, finish: { (decoder: inout SAMFrameDecoder) -> [Decoded] in
            [.held(buffered: decoder.bufferedCount, skipped: decoder.skippedBytes, vendorFrames: decoder.skippedVendorFrames)]
        })
        let bodies = outputs.compactMap { if case .body(let b) = $0 { b } else { nil } }
        #expect(bodies.count == 6)
        #expect(outputs.contains(.error(.checksum(expected: 0x94, received: 0x6B))))
        #expect(outputs.contains(.error(.length(0xFFFF))))
        // Skipped: the 8 junk bytes and the 8 of the impossible frame; held: the last partial preamble.
        #expect(outputs.last == .held(buffered: 4, skipped: 16, vendorFrames: 1))
    }

    @Test func resynchronisesAfterJunkAndSkipsVendorFrames() throws {
        let junk: [UInt8] = [0x00, 0xAA, 0xAA, 0x13, 0xAA, 0xAA, 0xAA, 0x96]
        let vendor = SAMFrame.encode(body: [0x01, 0x02]).enumerated().map { i, b in i == 3 ? 0x69 : (i == 4 ? 0x96 : b) }
        var decoder = SAMFrameDecoder()
        decoder.append(junk + vendor + SAMResponse(status: .success).frame)
        #expect(try decoder.nextResponse()?.status == .success)
        #expect(decoder.skippedVendorFrames == 1)
        #expect(decoder.skippedBytes > 0)
    }

    @Test func reportsChecksumErrorsAndCarriesOn() throws {
        var bad = SAMResponse(status: .success).frame
        bad[bad.count - 1] ^= 0xFF
        var decoder = SAMFrameDecoder()
        decoder.append(bad + SAMResponse(status: .findCardSuccess, data: [0, 0, 0, 0]).frame)
        #expect(throws: FrameError.checksum(expected: 0x94, received: 0x6B)) { try decoder.nextResponse() }
        #expect(try decoder.nextResponse()?.status == .findCardSuccess)
    }

    @Test func reportsLengthErrors() {
        var decoder = SAMFrameDecoder()
        decoder.append([0xAA, 0xAA, 0xAA, 0x96, 0x69, 0xFF, 0xFF, 0x00])
        #expect(throws: FrameError.length(0xFFFF)) { try decoder.nextResponse() }
    }

    @Test func waitsForTheRestOfAPartialFrame() throws {
        let frame = SAMResponse(status: .success, data: [1, 2, 3]).frame
        var decoder = SAMFrameDecoder()
        decoder.append(frame.prefix(9))
        #expect(try decoder.nextResponse() == nil)
        #expect(decoder.bytesNeeded == frame.count - 9)
        decoder.append(frame.dropFirst(9))
        #expect(try decoder.nextResponse()?.data == [1, 2, 3])
    }

    @Test func randomTruncatedAndMutatedInputNeverCrashesOrHangs() async throws {
        // Seconds of CPU: on a thread of its own, not one of the concurrency pool's few threads.
        let stuck = try await offThePool { Self.roundsThatDidNotEnd() }
        #expect(stuck.isEmpty, "decoding did not end in rounds \(stuck.prefix(10))")
    }

    /// Feeds 3000 random, truncated and mutated inputs; the rounds whose decoding did not end.
    static func roundsThatDidNotEnd() -> [Int] {
        var stuck: [Int] = []
        var rng = SplitMix(seed: 0x5EED)
        let valid = CodecTests.readFrame(SampleCards.hkMacaoTaiwan)
        for round in 0..<3000 {
            var input: [UInt8]
            switch round % 3 {
            case 0: input = (0..<Int(rng.next() % 3000)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            case 1: input = Array(valid.prefix(Int(rng.next() % UInt64(valid.count))))
            default:
                input = valid
                for _ in 0..<(1 + rng.next() % 8) {
                    input[Int(rng.next() % UInt64(input.count))] = UInt8(truncatingIfNeeded: rng.next())
                }
            }
            var decoder = SAMFrameDecoder()
            decoder.append(input)
            var steps = 0
            while steps < 10_000 {
                steps += 1
                do {
                    guard let r = try decoder.nextResponse() else { break }
                    _ = try? CardText.decodeRead(data: r.data)
                } catch {}
            }
            if steps >= 10_000 { stuck.append(round) }
            _ = try? FrameTranscript.decodeCard(bytes: input)
        }
        return stuck
    }
}


@Suite struct HIDFramingTests {
    @Test func framesRideInLengthPrefixedReports() {
        let frame = CodecTests.readFrame(SampleCards.resident, fingerprint: false)
        let reports = USBHIDTransport.reports(for: frame)
        #expect(reports.allSatisfy { $0.count == 64 && $0[0] <= 63 })
        #expect(reports.count == (frame.count + 62) / 63)
        #expect(reports.compactMap(USBHIDTransport.payload(of:)).flatMap { $0 } == frame)
    }

    @Test func controlReportsCarryNoData() {
        #expect(USBHIDTransport.payload(of: [0xFF] + [UInt8](repeating: 0, count: 63)) == nil)
        #expect(USBHIDTransport.payload(of: [64] + [UInt8](repeating: 0, count: 63)) == nil)
    }

    /// Whatever a device sends as a report is a payload or nothing, never a trap: a zero length
    /// (which used to trap), lengths the report cannot hold, short and empty reports.
    /// Found by fuzzing: a frame body shorter than its three status bytes is an error, not a trap.
    @Test func aResponseBodyWithoutItsStatusBytesIsAnError() {
        for body in [[], [0x00], [0x00, 0x00]] as [[UInt8]] {
            #expect(throws: FrameError.missingStatus) { try SAMResponse(body: body) }
        }
        #expect((try? SAMResponse(body: [0x00, 0x00, 0x90]))?.status == .success)
    }

    @Test func anyReportBytesAreHandled() {
        #expect(USBHIDTransport.payload(of: [0] + [UInt8](repeating: 0xAA, count: 63)) == [])
        #expect(USBHIDTransport.payload(of: []) == nil)
        #expect(USBHIDTransport.payload(of: [5, 1, 2]) == nil)
        #expect(USBHIDTransport.payload(of: [2, 1, 2]) == [1, 2])
        for length in 0...255 {
            for size in [0, 1, 2, 8, 64, 65] {
                let report = [UInt8(length)] + [UInt8](repeating: 0x11, count: max(0, size - 1))
                if let payload = USBHIDTransport.payload(of: report) { #expect(payload.count == length) }
            }
        }
        // Report sizes out of range are clamped, never a loop without end.
        for size in [-1, 0, 1, 2, 100] {
            let reports = USBHIDTransport.reports(for: [1, 2, 3, 4, 5], reportSize: size)
            #expect(reports.compactMap(USBHIDTransport.payload(of:)).flatMap { $0 } == [1, 2, 3, 4, 5])
        }
    }

    @Test func modelDatabasesWithImpossibleSizesAreRefused() throws {
        let dir = try TemporaryDirectory(prefix: "models")
        defer { dir.remove() }
        for (transport, size) in [("usb-hid", 0), ("usb-hid", 65), ("usb-chunked", 0), ("usb-chunked", 1_000_000)] {
            let json = """
            {"models": [{"id": "x", "name": "x", "vendorId": "0483", "productId": "572b", "transport": "\(transport)",
              "endpoints": {"out": "0x01", "in": "0x81"}, "chunkSize": \(size), "timeouts": {"command": 100, "find": 100, "read": 100}}]}
            """
            let path = dir.path + "/models.json"
            FileManager.default.createFile(atPath: path, contents: Data(json.utf8))
            #expect(throws: ReaderModelError.badValue("x", "chunkSize", "\(size) (\(transport == "usb-hid" ? "a HID report is 8 to 64 bytes" : "a chunked reader's chunk is 8 to 4096 bytes"))")) {
                try ReaderModelDatabase.load(path: path)
            }
        }
    }
}
