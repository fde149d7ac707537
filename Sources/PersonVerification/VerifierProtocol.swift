import Foundation
import KioskCore

/// What the verifier decided about the person at the camera.
public enum VerifierVerdict: String, Sendable, Codable, CaseIterable {
    /// The live face is the card's photo.
    case match
    /// A face, but another person's.
    case noMatch
    /// No face in front of the camera.
    case noFace
    /// A face that failed the liveness step (a photo, a screen, no blink).
    case notLive
    /// The verifier could not decide (camera fault, photo unreadable).
    case error
}

/// How the card photo is sent to the verifier.
public enum PhotoFormat: String, Sendable, Codable {
    /// The chip's 1024-byte WLT data, for verifiers that decode it themselves.
    case wlt
    /// A 102×126 24-bit BMP decoded by the vendor's WLT library in kioskd.
    case bmp
}

/// The liveness step the verifier asks of the person.
public enum LivenessStep: String, Sendable, Codable {
    /// A blink in front of the camera.
    case blink
    /// None: a still capture is enough.
    case none
}

/// A verifier's answer to a check, validated.
public struct VerifierAnswer: Sendable, Equatable {
    public var verdict: VerifierVerdict
    /// Similarity from 0 to 1 where the verifier gave one.
    public var score: Double?
    /// The verifier's own words (no personal data by contract), at most 200 characters.
    public var detail: String?

    public init(verdict: VerifierVerdict, score: Double?, detail: String?) {
        self.verdict = verdict
        self.score = score
        self.detail = detail
    }
}

/// A verifier's answer to a probe: it is installed and ready.
public struct VerifierIdentity: Sendable, Equatable, Codable {
    public var name: String
    public var model: String?

    public init(name: String, model: String?) {
        self.name = name
        self.model = model
    }
}

/// Why a verifier call gave no usable answer.
public enum VerifierError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No `verifier.command` in the configuration.
    case notConfigured
    /// The command could not be started.
    case launchFailed(String)
    /// No answer within the deadline: the verifier was killed.
    case timedOut(seconds: Double)
    /// It ended without answering: its exit code or signal.
    case endedWithoutAnswer(String)
    /// Its answer line was longer than the protocol allows.
    case oversized(Int)
    /// Its answer was not a valid protocol answer.
    case malformed(String)
    /// It answered another request than the one asked.
    case wrongRequest
    /// The card photo could not be prepared for it.
    case photoUnreadable(String)
    /// It answered a probe: not ready, and why (e.g. the camera is missing).
    case notReady(String)

    public var description: String {
        switch self {
        case .notConfigured:
            return "no face verifier is configured (verifier.command in kiosk.yaml): services that need a face match are refused"
        case .launchFailed(let why): return "the verifier could not be started: \(why)"
        case .timedOut(let seconds):
            return "the verifier gave no answer within \(seconds == seconds.rounded() ? String(Int(seconds)) : String(format: "%.1f", seconds)) s and was killed"
        case .endedWithoutAnswer(let how): return "the verifier ended without an answer (\(how))"
        case .oversized(let count): return "the verifier's answer exceeded \(count) bytes without a line end"
        case .malformed(let why): return "the verifier's answer is not valid: \(why)"
        case .wrongRequest: return "the verifier answered another request than the one asked"
        case .photoUnreadable(let why): return "the card photo could not be prepared: \(why)"
        case .notReady(let why): return "the verifier is not ready: \(why)"
        }
    }
}

/// The verifier protocol: one JSON request line on the verifier's standard input, one JSON answer
/// line on its standard output, one process per call.
///
/// A verify request carries the card photo; it is built in a buffer the caller wipes, never in a
/// `String`, so the photo leaves no copy behind.
public enum VerifierProtocol {
    /// The protocol version this kiosk speaks.
    public static let version = 1
    /// The longest answer line read; a longer one is refused.
    public static let maximumAnswer = 16 * 1024
    /// The longest `detail` kept from an answer.
    public static let maximumDetail = 200

    /// `{"version":1,"op":"probe","id":"…"}` and a line end.
    public static func probeRequest(id: String) -> [UInt8] {
        Array(#"{"version":1,"op":"probe","id":"\#(id)"}"#.utf8) + [0x0A]
    }

    /// A verify request for `photo`, with a line end; wipe it after sending.
    public static func verifyRequest(id: String, photo: [UInt8], format: PhotoFormat, liveness: LivenessStep,
                                     deadlineMilliseconds: Int) -> SensitiveBytes {
        var line = Array(#"{"version":1,"op":"verify","id":"\#(id)","liveness":"\#(liveness.rawValue)","deadlineMs":\#(deadlineMilliseconds),"photo":{"format":"\#(format.rawValue)","base64":""#.utf8)
        line.reserveCapacity(line.count + (photo.count + 2) / 3 * 4 + 4)
        Base64.append(photo, to: &line)
        line += Array(#""}}"#.utf8) + [0x0A]
        let result = SensitiveBytes(line)
        wipeBytes(&line)
        return result
    }

    private struct WireAnswer: Decodable {
        var version: Int
        var id: String
        var result: String
        var score: Double?
        var detail: String?
        var name: String?
        var model: String?
    }

    private static func wire(_ line: [UInt8], id: String) throws(VerifierError) -> WireAnswer {
        guard line.count <= maximumAnswer else { throw .oversized(maximumAnswer) }
        let answer: WireAnswer
        do { answer = try JSONDecoder().decode(WireAnswer.self, from: Data(line)) } catch {
            throw .malformed(line.isEmpty ? "an empty line" : "not a JSON object with version, id and result")
        }
        guard answer.version == version else { throw .malformed("protocol version \(answer.version), this kiosk speaks \(version)") }
        guard answer.id == id else { throw .wrongRequest }
        return answer
    }

    /// Text from the verifier as it may be logged: control characters dropped, at most `maximumDetail` characters.
    static func clean(_ text: String?) -> String? {
        guard let text else { return nil }
        let kept = String(String.UnicodeScalarView(text.unicodeScalars.filter { !CharacterSet.controlCharacters.contains($0) }))
        return String(kept.prefix(maximumDetail))
    }

    /// Validates a verify answer to request `id`.
    public static func decodeVerify(_ line: [UInt8], id: String) throws(VerifierError) -> VerifierAnswer {
        let answer = try wire(line, id: id)
        guard let verdict = VerifierVerdict(rawValue: answer.result) else {
            throw .malformed("result '\(clean(answer.result) ?? "")' is none of \(VerifierVerdict.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let score = answer.score, !(score.isFinite && (0...1).contains(score)) {
            throw .malformed("score \(score) is not between 0 and 1")
        }
        if [.match, .noMatch].contains(verdict), answer.score == nil {
            throw .malformed("a \(verdict.rawValue) answer carries a score")
        }
        return VerifierAnswer(verdict: verdict, score: answer.score, detail: clean(answer.detail))
    }

    /// Validates a probe answer to request `id`.
    public static func decodeProbe(_ line: [UInt8], id: String) throws(VerifierError) -> VerifierIdentity {
        let answer = try wire(line, id: id)
        guard answer.result == "ready" else {
            throw .notReady(clean(answer.detail) ?? clean(answer.result) ?? "no reason given")
        }
        guard let name = clean(answer.name)?.trimmingCharacters(in: .whitespaces), !name.isEmpty else { throw .malformed("a probe answer names the verifier") }
        return VerifierIdentity(name: name, model: clean(answer.model))
    }
}

/// Base64 straight into a byte buffer (no intermediate `String` or `Data` to leave behind).
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Appends the base64 of `bytes` to `output`.
    public static func append(_ bytes: [UInt8], to output: inout [UInt8]) {
        var index = 0
        while index + 2 < bytes.count {
            let n = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            output += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            index += 3
        }
        let rest = bytes.count - index
        if rest == 1 {
            let n = UInt32(bytes[index]) << 16
            output += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], 0x3D, 0x3D]
        } else if rest == 2 {
            let n = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
            output += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], 0x3D]
        }
    }
}
