import Foundation

/// A deterministic verifier for tests and the demo: what its "camera" sees is a scene named in a
/// file (read at every call), and it speaks the verifier protocol as a real one would, or breaks it
/// on purpose.
public enum VerifierScene: String, Sendable, CaseIterable {
    /// The card's holder is at the camera and blinks: `match`.
    case holder
    /// Another person: `noMatch`.
    case stranger
    /// Nobody: `noFace`.
    case noFace = "no-face"
    /// A printed photo held up: `notLive`.
    case notLive = "not-live"
    /// A camera fault: `error`.
    case cameraError = "camera-error"
    /// Never answers.
    case hang
    /// Ends without answering.
    case crash
    /// Answers a line that is not JSON.
    case garbage
    /// Writes without end and no line end.
    case flood
    /// Answers another request's id.
    case wrongId = "wrong-id"
    /// Answers `match` with a score of 7.
    case badScore = "bad-score"
    /// Answers `match` with a low score (0.41), for the kiosk's own minimum.
    case weakMatch = "weak-match"
}

/// What the simulator does with one request.
public enum SimulatorAction: Sendable, Equatable {
    /// Write this line (with a line end) and exit 0.
    case answer(String)
    /// Sleep forever.
    case hang
    /// Exit with this code without writing.
    case exit(Int32)
    /// Write bytes without end.
    case flood
}

/// The simulator's decisions, apart from its process.
public enum VerifierSimulator {
    /// The scene in `path`: its first word; `holder` when the file is missing or empty.
    /// A scene file naming no known scene.
    public struct UnknownScene: Error, CustomStringConvertible {
        public let description: String
    }

    public static func scene(at path: String?) -> Result<VerifierScene, UnknownScene> {
        guard let path, let text = try? String(contentsOfFile: path, encoding: .utf8) else { return .success(.holder) }
        let word = text.split(whereSeparator: \.isWhitespace).first.map(String.init) ?? "holder"
        guard let scene = VerifierScene(rawValue: word) else {
            return .failure(UnknownScene(description: "unknown scene '\(word)' in \(path): one of \(VerifierScene.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        return .success(scene)
    }

    struct Request: Decodable {
        struct Photo: Decodable { var format: String; var base64: String }
        var version: Int
        var op: String
        var id: String
        var liveness: String?
        var photo: Photo?
    }

    /// A JSON line answering `id`.
    static func line(_ id: String, _ fields: [String: Any]) -> String {
        var object = fields
        object["version"] = VerifierProtocol.version
        object["id"] = id
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// Whether `photo` is a card photo of `format`: WLT data starts `WLf`, a decoded photo is a
    /// 102×126 BMP.
    static func photoProblem(_ photo: Request.Photo) -> String? {
        guard let bytes = Data(base64Encoded: photo.base64) else { return "the photo is not base64" }
        switch photo.format {
        case PhotoFormat.wlt.rawValue:
            return bytes.starts(with: [0x57, 0x4C, 0x66]) && bytes.count >= 256 ? nil : "the photo is not WLT data"
        case PhotoFormat.bmp.rawValue:
            return bytes.starts(with: [0x42, 0x4D]) ? nil : "the photo is not a BMP"
        default:
            return "unknown photo format \(photo.format)"
        }
    }

    /// What to do with `request` (one line) in `scene`.
    public static func respond(to request: [UInt8], scene: VerifierScene) -> SimulatorAction {
        guard let parsed = try? JSONDecoder().decode(Request.self, from: Data(request)) else {
            return .answer(line("", ["result": "error", "detail": "the request is not a protocol request"]))
        }
        let id = parsed.id
        // A broken verifier is broken for every request.
        switch scene {
        case .hang: return .hang
        case .crash: return .exit(3)
        case .garbage: return .answer("<html>500 Internal Server Error</html>")
        case .flood: return .flood
        default: break
        }
        if parsed.op == "probe" {
            if scene == .cameraError { return .answer(line(id, ["result": "error", "detail": "camera not found"])) }
            return .answer(line(id, ["result": "ready", "name": "Yitiji verifier simulator", "model": "scene \(scene.rawValue)"]))
        }
        guard parsed.op == "verify", parsed.version == VerifierProtocol.version else {
            return .answer(line(id, ["result": "error", "detail": "unknown op \(parsed.op) or version \(parsed.version)"]))
        }
        guard let photo = parsed.photo else { return .answer(line(id, ["result": "error", "detail": "no photo"])) }
        if let problem = photoProblem(photo) { return .answer(line(id, ["result": "error", "detail": problem])) }
        switch scene {
        case .holder: return .answer(line(id, ["result": "match", "score": 0.96]))
        case .stranger: return .answer(line(id, ["result": "noMatch", "score": 0.18]))
        case .noFace: return .answer(line(id, ["result": "noFace"]))
        case .notLive: return .answer(line(id, ["result": "notLive", "detail": "no blink seen"]))
        case .cameraError: return .answer(line(id, ["result": "error", "detail": "camera not found"]))
        case .hang, .crash, .garbage, .flood: return .hang
        case .wrongId: return .answer(line("00000000-0000-0000-0000-000000000000", ["result": "match", "score": 0.99]))
        case .badScore: return .answer(line(id, ["result": "match", "score": 7]))
        case .weakMatch: return .answer(line(id, ["result": "match", "score": 0.41]))
        }
    }
}
