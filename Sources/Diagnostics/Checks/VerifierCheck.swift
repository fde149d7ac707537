import Foundation
import KioskConfig
import PersonVerification

/// `verifier`: the person–card verifier answers a probe. Asked through kioskd while it runs (its
/// view includes the demo's simulator), else the configured program is probed directly. With no
/// verifier, the services that need a face match are refused: a failure when any does.
public struct VerifierCheck: DiagnosticCheck {
    public let id = "verifier"
    public let area = DiagnosticArea.verifier

    public init() {}

    static let installAction = "install the camera vendor's verifier and name it in kiosk.yaml (verifier.command), then run `kioskctl diag verifier`"

    public func run(_ context: DiagnosticContext) async -> CheckResult {
        let needing = (try? context.configuration.get().services.items.filter(\.needsFaceMatch).map(\.code)) ?? []
        if let provider = context.environment.verifier, let figures = try? await provider.verifierFigures() {
            return Self.result(figures)
        }
        guard let settings = context.settings?.verifier else {
            return Self.result(VerifierFigures(verifier: nil, probe: .failure(.notConfigured), servicesNeedingIt: needing))
        }
        let probe: Result<VerifierIdentity, VerifierError>
        do {
            probe = await CommandVerifier(command: try VerifierCommand(settings.command), timeout: settings.timeout,
                                          probeTimeout: min(5, context.environment.checkDeadlineSeconds - 0.5)).probe()
        } catch {
            probe = .failure(error)
        }
        return Self.result(VerifierFigures(verifier: settings.command.first, probe: probe, servicesNeedingIt: needing))
    }

    static func result(_ figures: VerifierFigures) -> CheckResult {
        let services = figures.servicesNeedingIt.isEmpty ? "no service needs it" : "needed by \(figures.servicesNeedingIt.joined(separator: ", "))"
        switch figures.state {
        case "ready":
            return .ok("verifier", "\(figures.verifier ?? "verifier"): \(figures.detail); \(services)")
        case "notConfigured":
            if figures.servicesNeedingIt.isEmpty { return .ok("verifier", "none configured; \(services)") }
            return .fail("verifier", "none configured: \(figures.servicesNeedingIt.joined(separator: ", ")) are refused", action: installAction)
        default:
            let refused = figures.servicesNeedingIt.isEmpty ? "" : "; \(figures.servicesNeedingIt.joined(separator: ", ")) are refused"
            return .fail("verifier", "\(figures.verifier ?? "verifier"): \(figures.detail)\(refused)",
                         action: "check the camera's cable and the program \(figures.verifier ?? "in verifier.command"), then run `kioskctl diag verifier`")
        }
    }
}
