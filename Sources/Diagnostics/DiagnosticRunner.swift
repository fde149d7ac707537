import Foundation
import KioskConfig
import KioskCore

/// Runs blocking work (USB, serial, CUPS, statvfs) on a thread of its own, so that a hung
/// device holds that thread only, never the concurrency pool.
public enum Blocking {
    /// Runs `body` on a new thread and returns its value.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
            let thread = Thread { continuation.resume(returning: body()) }
            thread.name = "diagnostics"
            thread.start()
        }
    }
}

/// Resumes a continuation once; later calls are ignored.
final class ResumeOnce<T: Sendable>: Sendable {
    private let continuation: Locked<CheckedContinuation<T, Never>?>

    init(_ continuation: CheckedContinuation<T, Never>) { self.continuation = Locked(continuation) }

    func resume(_ value: T) {
        let taken = continuation.withLock { continuation -> CheckedContinuation<T, Never>? in
            defer { continuation = nil }
            return continuation
        }
        taken?.resume(returning: value)
    }
}

/// Runs checks concurrently, each under its own deadline: a check that does not answer in time
/// is reported as failed and abandoned, so a hung device never hangs the run.
public struct DiagnosticRunner: Sendable {
    public var environment: DiagnosticEnvironment

    public init(environment: DiagnosticEnvironment) { self.environment = environment }

    /// `body`'s value, or `fallback()` when it takes longer than `seconds`; the late work is
    /// abandoned (cancelled, never awaited).
    public static func within<T: Sendable>(_ seconds: Double, fallback: @escaping @Sendable () -> T,
                                           _ body: @escaping @Sendable () async -> T) async -> T {
        await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
            let once = ResumeOnce(continuation)
            let work = Task { once.resume(await body()) }
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) {
                once.resume(fallback())
                work.cancel()
            }
        }
    }

    /// Runs one check under `deadline` seconds.
    public static func run(_ check: any DiagnosticCheck, context: DiagnosticContext, deadline: Double) async -> CheckResult {
        await within(deadline, fallback: {
            .fail(check.id, "no answer within \(Self.seconds(deadline)): the check was abandoned",
                  action: DiagnosticRunner.hungAction(check.area))
        }) { await check.run(context) }
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : String(format: "%.1f s", value)
    }

    static func hungAction(_ area: DiagnosticArea) -> String {
        switch area {
        case .reader: return "unplug the reader, plug it in again, then run `kioskctl diag reader`"
        case .printer: return "check the printer and cupsd (`lpstat -t`), then run `kioskctl diag printer`"
        case .registry: return "check the network, cable and proxy, then run `kioskctl diag registry`"
        case .daemon: return "restart kioskd: systemctl restart kioskd; journalctl -u kioskd"
        case .verifier: return "check the camera and the verifier program named in verifier.command, then run `kioskctl diag verifier`"
        default: return "run `kioskctl diag --verbose` and send a support bundle"
        }
    }

    /// Runs concurrently; results in the order of `checks`.
    public static func run(_ checks: [any DiagnosticCheck], context: DiagnosticContext, deadline: Double) async -> [CheckResult] {
        await withTaskGroup(of: (Int, CheckResult).self) { group in
            for (index, check) in checks.enumerated() {
                group.addTask { (index, await DiagnosticRunner.run(check, context: context, deadline: deadline)) }
            }
            var results = [CheckResult?](repeating: nil, count: checks.count)
            for await (index, result) in group { results[index] = result }
            return results.compactMap { $0 }
        }
    }

    /// The whole run for `areas` (nil: every area): kioskd first, then the configuration, then
    /// everything else concurrently.
    public func run(areas: Set<DiagnosticArea>? = nil) async -> DiagnosticReport {
        let deadline = environment.checkDeadlineSeconds
        let daemonCheck = DaemonCheck()
        let bare = DiagnosticContext(environment: environment, daemon: .notRunning("not checked yet"),
                                     configuration: .failure(ConfigurationError(file: "kiosk.yaml", message: "not loaded yet")))
        let daemonResult = await DiagnosticRunner.run(daemonCheck, context: bare, deadline: deadline)
        let daemon: DaemonState = daemonResult.status == .fail
            ? .notRunning(daemonResult.detail) : .running(version: DaemonCheck.version(in: daemonResult))
        let directory = environment.configDirectory
        let configuration: Result<KioskConfiguration, ConfigurationError> = await Self.within(deadline, fallback: {
            .failure(ConfigurationError(file: "kiosk.yaml", message: "reading \(directory.path) took longer than \(Self.seconds(deadline)): is its file system hung?"))
        }) {
            await Blocking.run {
                do throws(ConfigurationError) { return .success(try KioskConfiguration.load(from: directory)) } catch { return .failure(error) }
            }
        }
        let context = DiagnosticContext(environment: environment, daemon: daemon, configuration: configuration)
        let checks = DiagnosticSuite.checks(for: context).filter { areas?.contains($0.area) ?? true }
        let rest = await DiagnosticRunner.run(checks, context: context, deadline: deadline)
        return DiagnosticReport(results: [daemonResult] + rest)
    }
}

/// The checks of a full run.
public enum DiagnosticSuite {
    /// Every check, in table order: reader, a printer per configured role, registry, identity,
    /// keys, heartbeat, outbox, disk, config. (The daemon check runs before these.)
    public static func checks(for context: DiagnosticContext) -> [any DiagnosticCheck] {
        var checks: [any DiagnosticCheck] = [ReaderCheck()]
        let roles = context.settings.map { $0.printers.keys.sorted() } ?? ["a4", "receipt"]
        for role in roles { checks.append(PrinterCheck(role: role)) }
        checks += [RegistryCheck(), IdentityCheck(), KeysCheck(), HeartbeatCheck(), OutboxCheck(), DiskCheck(), ConfigCheck(), FreshnessCheck(), VerifierCheck()] as [any DiagnosticCheck]
        return checks
    }
}
