import Foundation
import KioskAPI
import KioskCore

/// The outcome of one person–card check, as kioskd acts on it.
public enum FaceCheckOutcome: Sendable, Equatable {
    /// The verifier's decision (`match` only at or above the kiosk's minimum score).
    case decided(VerifierAnswer)
    /// No decision: the verifier is missing, failed, hung or answered nonsense.
    case failed(VerifierError)

    /// Whether the person at the camera is the card's holder.
    public var passed: Bool {
        if case .decided(let answer) = self { return answer.verdict == .match }
        return false
    }
}

/// Person–card verification (人证核验) as kioskd uses it: is it there, and is the person at the
/// camera the holder of this photo.
public protocol FaceVerifier: Sendable {
    /// The verifier's name when it is installed and ready.
    func probe() async -> Result<VerifierIdentity, VerifierError>
    /// Compares a live capture with `photo` (personal data: not kept, not logged).
    func verify(photo: SensitiveBytes, format: PhotoFormat, liveness: LivenessStep) async -> FaceCheckOutcome
}

/// No verifier: every check fails with `notConfigured`.
public struct MissingVerifier: FaceVerifier {
    public init() {}
    public func probe() async -> Result<VerifierIdentity, VerifierError> { .failure(.notConfigured) }
    public func verify(photo: SensitiveBytes, format: PhotoFormat, liveness: LivenessStep) async -> FaceCheckOutcome {
        .failed(.notConfigured)
    }
}

/// A verifier program spoken to over the verifier protocol, one process per call, on a thread of
/// its own so a hung verifier never holds the concurrency pool.
public struct CommandVerifier: FaceVerifier {
    public let command: VerifierCommand
    /// Seconds a check may take, the person's blink included.
    public let timeout: Double
    /// A probe's deadline.
    public let probeTimeout: Double
    /// A `match` below this score counts as `noMatch`.
    public let minimumScore: Double

    public init(command: VerifierCommand, timeout: Double, probeTimeout: Double = 5, minimumScore: Double = 0) {
        self.command = command
        self.timeout = timeout
        self.probeTimeout = probeTimeout
        self.minimumScore = minimumScore
    }

    public func probe() async -> Result<VerifierIdentity, VerifierError> {
        let id = UUID().uuidString.lowercased()
        let command = command, timeout = probeTimeout
        let line = await runBlocking { command.exchange(VerifierProtocol.probeRequest(id: id), timeout: timeout) }
        return line.flatMap { line in Result { () throws(VerifierError) in try VerifierProtocol.decodeProbe(line, id: id) } }
    }

    public func verify(photo: SensitiveBytes, format: PhotoFormat, liveness: LivenessStep) async -> FaceCheckOutcome {
        let id = UUID().uuidString.lowercased()
        let command = command, timeout = timeout
        let request = VerifierProtocol.verifyRequest(id: id, photo: photo.bytes, format: format, liveness: liveness,
                                                     deadlineMilliseconds: Int(timeout * 1000))
        defer { request.wipe() }
        let line = await runBlocking { command.exchange(request.bytes, timeout: timeout) }
        switch line {
        case .failure(let error): return .failed(error)
        case .success(let line):
            do {
                var answer = try VerifierProtocol.decodeVerify(line, id: id)
                if answer.verdict == .match, let score = answer.score, score < minimumScore {
                    answer.verdict = .noMatch
                    answer.detail = "score \(score) is below the kiosk's minimum \(minimumScore)"
                }
                return .decided(answer)
            } catch { return .failed(error) }
        }
    }
}

extension VerifierFigures {
    /// What a probe of the verifier named `verifier` says, for the technician.
    public init(verifier: String?, probe: Result<VerifierIdentity, VerifierError>, servicesNeedingIt: [String]) {
        switch probe {
        case .success(let identity):
            self.init(verifier: verifier, state: "ready", detail: identity.name + (identity.model.map { " (\($0))" } ?? ""),
                      servicesNeedingIt: servicesNeedingIt)
        case .failure(.notConfigured):
            self.init(verifier: nil, state: "notConfigured", detail: VerifierError.notConfigured.description, servicesNeedingIt: servicesNeedingIt)
        case .failure(let error):
            self.init(verifier: verifier, state: "failed", detail: error.description, servicesNeedingIt: servicesNeedingIt)
        }
    }
}
