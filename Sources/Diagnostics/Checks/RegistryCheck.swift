import AsyncHTTPClient
import NIOSSL
import Foundation
import KioskConfig
import NIOCore
import NIOHTTP1
import Registry

/// `registry`: `GET {registry.url}/v1/health` under a short deadline: reachable, latency, clock
/// skew (from the answer's `serverTime`, else its `Date` header), and whether the kiosk's
/// identity (sent as `X-Yitiji-Kiosk`) is accepted.
public struct RegistryCheck: DiagnosticCheck {
    public let id = "registry"
    public let area = DiagnosticArea.registry

    public init() {}

    /// Skew beyond this warns; beyond `failSkewSeconds` fails (signatures and expiry checks break).
    static let warnSkewSeconds = 30.0
    static let failSkewSeconds = 300.0
    static let slowMilliseconds = 2000.0

    static let networkAction = "check the network cable, the router and any proxy; `curl -v URL/v1/health` from the kiosk"

    struct Health: Decodable {
        var status: String?
        var serverTime: String?
    }

    public func run(_ context: DiagnosticContext) async -> CheckResult {
        guard let settings = context.settings else {
            return .fail(id, "the registry URL is unknown: the configuration did not load", action: "fix the configuration (see the config row)")
        }
        let base = settings.registry.url.hasSuffix("/") ? String(settings.registry.url.dropLast()) : settings.registry.url
        let url = base + "/v1/health"
        let timeout = max(0.5, min(settings.registry.requestTimeoutSeconds, context.environment.checkDeadlineSeconds - 0.5))
        if let parsed = URL(string: base), let host = parsed.host {
            let port = parsed.port ?? (parsed.scheme == "https" ? 443 : 80)
            let probe = await Blocking.run { TCPProbe.probe(host: host, port: port, timeoutMilliseconds: Int32(timeout * 1000)) }
            let why: String?
            switch probe {
            case .connected: why = nil
            case .refused: why = "connection refused (nothing listens on \(host):\(port))"
            case .unresolvable: why = "the name \(host) does not resolve (DNS)"
            case .timeout: why = "no answer from \(host):\(port) within \(DiagnosticRunner.seconds(timeout)) (cable, firewall or proxy)"
            case .failed(let text): why = "\(host):\(port): \(text)"
            }
            if let why { return .fail(id, "registry unreachable at \(base): \(why)", action: Self.networkAction) }
        }
        var request = HTTPClientRequest(url: url)
        let caPath = (try? context.configuration.get()).flatMap { settings.registry.caPath(in: $0.directory) }
        var transport = "plain HTTP (loopback)"
        switch RegistryTransport.check(base, hasCA: caPath != nil) {
        case .refuse(let why):
            return .fail(id, "the kiosk will not talk to \(base): \(why)", action: "set registry.url to https and registry.caFile to the CA's PEM certificate")
        case .plain: break
        case .tls:
            guard let caPath, let roots = try? RegistryClientConfiguration.loadCA(caPath) else {
                return .fail(id, "registry.caFile \(caPath ?? "") is not a PEM CA certificate", action: "install the CA certificate central operations issued")
            }
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(roots)
            tls.minimumTLSVersion = .tlsv12
            request.tlsConfiguration = tls
            transport = "TLS verified against \(caPath)"
        }
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "X-Yitiji-Kiosk", value: settings.kiosk.id)
        let started = DispatchTime.now().uptimeNanoseconds
        let code: Int
        let body: Data
        let dateHeader: String?
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
            code = Int(response.status.code)
            dateHeader = response.headers.first(name: "Date")
            body = Data(try await response.body.collect(upTo: 1 << 20).readableBytesView)
        } catch {
            let text = "\(error)"
            let why: String
            if text.localizedCaseInsensitiveContains("refused") { why = "connection refused" }
            else if text.localizedCaseInsensitiveContains("timeout") || text.localizedCaseInsensitiveContains("deadline") { why = "no answer within \(DiagnosticRunner.seconds(timeout))" }
            else if text.localizedCaseInsensitiveContains("resolve") || text.localizedCaseInsensitiveContains("lookup") { why = "the name does not resolve (DNS)" }
            else if text.localizedCaseInsensitiveContains("ssl") || text.localizedCaseInsensitiveContains("tls") || text.localizedCaseInsensitiveContains("certificate") { why = "TLS failed: \(text)" }
            else { why = text }
            return .fail(id, "registry unreachable at \(base): \(why)", action: Self.networkAction, verbose: ["GET \(url): \(text)"])
        }
        let latency = Double(DispatchTime.now().uptimeNanoseconds - started) / 1_000_000
        let now = context.environment.now()
        var raw = ["GET \(url) → HTTP \(code) in \(String(format: "%.1f", latency)) ms", "Date: \(dateHeader ?? "(none)")",
                   "body: \(String(decoding: body.prefix(500), as: UTF8.self))"]
        var detail = "registry \(base) reachable, \(Int(latency.rounded())) ms, \(transport)"
        if code == 401 || code == 403 {
            return .fail(id, detail + "; it refused this kiosk's identity \(settings.kiosk.id) (HTTP \(code))",
                         action: "have central operations register kiosk \(settings.kiosk.id) and its public key; check kiosk.id and registry.keyFile", verbose: raw)
        }
        if code >= 500 {
            return .warn(id, detail + "; it reports a problem (HTTP \(code))", action: "tell central operations: the registry answers HTTP \(code)", verbose: raw)
        }
        var serverTime: Date?
        var healthStatus: String?
        if code == 200, let health = try? JSONDecoder().decode(Health.self, from: body) {
            healthStatus = health.status
            serverTime = health.serverTime.flatMap(Self.parseISO8601)
        } else if code == 404 {
            detail += " (no /v1/health there; skew from its Date header)"
        }
        var skewSource = "serverTime"
        if serverTime == nil, let header = dateHeader, let date = Self.parseHTTPDate(header) {
            serverTime = date
            skewSource = "Date header, 1 s resolution"
        }
        var result = CheckResult.ok(id, detail)
        if let serverTime {
            // The server stamped its time somewhere within the round trip: compare with its middle.
            let skew = now.timeIntervalSince(serverTime) - latency / 2000
            let words = "clock skew \(String(format: "%+.1f", skew)) s (\(skewSource))"
            raw.append("local time \(ISO8601DateFormatter().string(from: now)), server time \(ISO8601DateFormatter().string(from: serverTime))")
            detail += "; " + words
            if abs(skew) > Self.failSkewSeconds {
                result = .fail(id, detail, action: "set the clock: check NTP (timedatectl; chronyc tracking)")
            } else if abs(skew) > Self.warnSkewSeconds {
                result = .warn(id, detail, action: "check NTP (timedatectl; chronyc tracking)")
            } else {
                result = .ok(id, detail)
            }
        } else {
            detail += "; clock skew unknown (no server time)"
            result = .ok(id, detail)
        }
        if let healthStatus, healthStatus != "ok", result.status == .ok {
            result = .warn(id, detail + "; registry status \(healthStatus)", action: "tell central operations: the registry reports \(healthStatus)")
        } else if latency > Self.slowMilliseconds, result.status == .ok {
            result = .warn(id, detail + "; slow", action: "check the network's quality and any proxy")
        } else if code != 200, code != 404, result.status == .ok {
            result = .warn(id, detail + "; HTTP \(code) on /v1/health", action: "tell central operations: /v1/health answers HTTP \(code)")
        }
        result.verbose = raw
        return result
    }

    static func parseISO8601(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    static func parseHTTPDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}

/// `identity`: the kiosk id is set, its private key (registry.keyFile) is present and well
/// formed, and the registry accepts a request signed with it. Never prints the private key.
public struct IdentityCheck: DiagnosticCheck {
    public let id = "identity"
    public let area = DiagnosticArea.registry

    public init() {}

    public func run(_ context: DiagnosticContext) async -> CheckResult {
        guard let settings = context.settings else {
            return .fail(id, "the kiosk identity is unknown: the configuration did not load", action: "fix the configuration (see the config row)")
        }
        let keyPath = Self.keyPath(settings.registry.keyFile, state: context.environment.stateDirectory)
        guard FileManager.default.fileExists(atPath: keyPath) else {
            return .warn(id, "kiosk \(settings.kiosk.id): no private key at \(keyPath)",
                         action: "install the kiosk's key (base64 Ed25519) at \(keyPath), mode 600; central operations registers its public key")
        }
        guard let text = try? String(contentsOfFile: keyPath, encoding: .utf8) else {
            return .fail(id, "kiosk \(settings.kiosk.id): the key \(keyPath) is not readable", action: "chmod 600 \(keyPath) and chown it to kioskd's user; run kioskctl as root")
        }
        let bytes = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines))?.count ?? 0
        guard bytes == 32 || bytes == 64 else {
            return .fail(id, "kiosk \(settings.kiosk.id): \(keyPath) is not a base64 Ed25519 private key",
                         action: "install the right key file; ask central operations for the kiosk's enrolment")
        }
        let present = "kiosk \(settings.kiosk.id) at site \(settings.kiosk.site); private key present (\(keyPath))"
        guard let credentials = try? KioskCredentials.load(kioskId: settings.kiosk.id, keyFile: keyPath) else {
            return .fail(id, "kiosk \(settings.kiosk.id): \(keyPath) is not a usable Ed25519 private key",
                         action: "install the right key file; ask central operations for the kiosk's enrolment")
        }
        // A signed request the registry answers for any registered kiosk.
        var configuration = RegistryClientConfiguration(baseURL: settings.registry.url, credentials: credentials)
        if let directory = (try? context.configuration.get())?.directory {
            configuration.trustRoots = try? RegistryClientConfiguration.loadCA(optional: settings.registry.caPath(in: directory))
        }
        configuration.deadline = .milliseconds(Int64(max(0.5, context.environment.checkDeadlineSeconds - 1) * 1000))
        configuration.maxAttempts = 1
        let register = "registryd kiosk add \(settings.kiosk.id) --public-key \(credentials.publicKeyBase64)"
        do {
            _ = try await RegistryClient(configuration: configuration).configAnnouncements(site: settings.kiosk.site, etag: nil, wait: 0)
            return .ok(id, present + "; accepted by the registry")
        } catch {
            if case .refused(let problem) = error {
                switch problem.code {
                case "auth.unknown-kiosk":
                    return .fail(id, present + "; the registry does not know this kiosk", action: "central operations: \(register)")
                case "auth.bad-signature":
                    return .fail(id, present + "; the registry has another key for this kiosk",
                                 action: "central operations re-registers it: \(register)")
                case "auth.clock-skew":
                    return .fail(id, present + "; the registry refused the request's time", action: "set the clock: check NTP (timedatectl)")
                default: break
                }
            }
            return .ok(id, present + "; not confirmed by the registry (\(error))")
        }
    }

    /// `keyFile` resolved against the state directory.
    static func keyPath(_ keyFile: String, state: URL) -> String {
        keyFile.hasPrefix("/") ? keyFile : state.appendingPathComponent(keyFile).path
    }
}
