import Foundation
import IDCardReader
import KioskAPI
import KioskConfig
import KioskCore
import Logging
import PersonVerification

/// Person–card verification (人证核验) for the visit in progress: one check at a time (one camera),
/// the card's photo handed to the verifier and wiped, the outcome kept in the session. The audit
/// says only that a check passed or failed; photos, captures and scores are never logged.
public actor FaceCheckDesk {
    /// The verifier in use and how the technician's view names it.
    struct Setup: Sendable {
        var verifier: any FaceVerifier
        var name: String?
        var decoder: Result<WLTPhotoDecoder, PhotoDecodeError>?
        var attempts: Int
    }

    private var setup: Setup
    private let fallback: VerifierCommand?
    private let sessions: SessionManager
    private let audit: AuditLog?
    private let logger: Logger
    private var checking = false

    /// - Parameter fallback: the verifier used when the configuration names none (the demo's simulator).
    public init(settings: KioskSettings.VerifierSettings?, fallback: VerifierCommand?, sessions: SessionManager,
                audit: AuditLog?, logger: Logger) {
        self.fallback = fallback
        self.sessions = sessions
        self.audit = audit
        self.logger = logger
        setup = Self.setup(settings, fallback: fallback)
    }

    static func setup(_ settings: KioskSettings.VerifierSettings?, fallback: VerifierCommand?) -> Setup {
        guard let settings else {
            guard let fallback else { return Setup(verifier: MissingVerifier(), name: nil, decoder: nil, attempts: 3) }
            return Setup(verifier: CommandVerifier(command: fallback, timeout: 20), name: "simulator (demo)", decoder: nil, attempts: 3)
        }
        let decoder = settings.photoDecoder.map { path in Result { () throws(PhotoDecodeError) in try WLTPhotoDecoder(path: path) } }
        do {
            let command = try VerifierCommand(settings.command)
            return Setup(verifier: CommandVerifier(command: command, timeout: settings.timeout, minimumScore: settings.minimumScore ?? 0),
                         name: settings.command[0], decoder: decoder, attempts: settings.attempts)
        } catch {
            return Setup(verifier: FailingVerifier(error: error), name: settings.command.first, decoder: decoder, attempts: settings.attempts)
        }
    }

    /// The simulator installed beside kioskd, its scene in `<runtime>/verifier-scene`; nil when it is not there.
    public static func demoSimulator(runtimeDirectory: URL) -> VerifierCommand? {
        guard let kioskd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        let program = URL(fileURLWithPath: kioskd).deletingLastPathComponent().appendingPathComponent("yitiji-verifier-sim").path
        guard FileManager.default.isExecutableFile(atPath: program) else { return nil }
        return try? VerifierCommand([program, "--scene", runtimeDirectory.appendingPathComponent("verifier-scene").path])
    }

    /// Takes a new configuration's verifier.
    public func update(settings: KioskSettings.VerifierSettings?) {
        setup = Self.setup(settings, fallback: fallback)
    }

    /// Checks the person at the camera against the session card's photo.
    public func check() async throws -> FaceCheckView {
        guard let subject = await sessions.faceCheckSubject else {
            throw CitizenAPIError(messageKey: "card.needed", detail: "a face check compares the person with the card on the reader")
        }
        let allowed = setup.attempts
        if subject.passed { return FaceCheckView(outcome: "passed", messageKey: "face.passed", attemptsLeft: max(0, allowed - subject.attempts)) }
        guard subject.attempts < allowed else {
            throw CitizenAPIError(messageKey: "face.locked", detail: "\(allowed) face checks failed in this visit: ask the hall's staff")
        }
        guard !checking else { throw CitizenAPIError(messageKey: "face.checking", detail: "a face check is already in progress") }
        checking = true
        defer { checking = false }

        let outcome = await verify(subject.card)
        let key: String
        switch outcome {
        case .decided(let answer) where answer.verdict != .error: key = answer.verdict == .match ? "passed" : answer.verdict.rawValue
        case .decided(let answer):
            key = "unavailable"
            logger.warning("face verifier reported an error", metadata: ["detail": "\(answer.detail ?? "none")"])
        case .failed(let error):
            key = "unavailable"
            logger.warning("face verifier failed", metadata: ["error": "\(error)"])
        }
        if key == "unavailable" {
            // Not the citizen's attempt: the verifier failed.
            audit?.record(actor: "kioskd", action: "person.check", subjectIdNumber: subject.card.identity.idNumber, detail: "not done: verifier failed")
            return FaceCheckView(outcome: key, messageKey: "face.unavailable", attemptsLeft: max(0, allowed - subject.attempts))
        }
        let made = await sessions.recordFaceCheck(visit: subject.id, passed: outcome.passed) ?? allowed
        audit?.record(actor: "citizen", action: "person.check", subjectIdNumber: subject.card.identity.idNumber,
                      detail: outcome.passed ? "passed" : "failed (\(key))")
        logger.info("face check", metadata: ["outcome": "\(key)"])
        return FaceCheckView(outcome: key, messageKey: "face." + key, attemptsLeft: max(0, allowed - made))
    }

    /// The photo in the form the verifier takes (decoded when a decoder is configured), then the check.
    private func verify(_ card: CardRead) async -> FaceCheckOutcome {
        switch setup.decoder {
        case nil:
            return await setup.verifier.verify(photo: card.photo, format: .wlt, liveness: .blink)
        case .failure(let problem)?:
            return .failed(.photoUnreadable(problem.description))
        case .success(let decoder)?:
            let bitmap: SensitiveBytes
            do { bitmap = try decoder.decode(card.photo) } catch { return .failed(.photoUnreadable(error.description)) }
            defer { bitmap.wipe() }
            return await setup.verifier.verify(photo: bitmap, format: .bmp, liveness: .blink)
        }
    }

    /// The verifier as the technician sees it: probed now.
    public func figures(servicesNeedingIt: [String]) async -> VerifierFigures {
        let setup = setup
        if case .failure(let problem)? = setup.decoder {
            return VerifierFigures(verifier: setup.name, state: "failed", detail: problem.description, servicesNeedingIt: servicesNeedingIt)
        }
        return VerifierFigures(verifier: setup.name, probe: await setup.verifier.probe(), servicesNeedingIt: servicesNeedingIt)
    }
}

/// A configured verifier that cannot be used: every call fails with why.
struct FailingVerifier: FaceVerifier {
    let error: VerifierError
    func probe() async -> Result<VerifierIdentity, VerifierError> { .failure(error) }
    func verify(photo: SensitiveBytes, format: PhotoFormat, liveness: LivenessStep) async -> FaceCheckOutcome { .failed(error) }
}
