import Foundation
import KioskCore

/// `kiosk.yaml`: who this kiosk is and how it reaches its devices and the registry.
public struct KioskSettings: Codable, Sendable, Equatable {
    /// The kiosk's identity.
    public struct Identity: Codable, Sendable, Equatable {
        /// Unique kiosk id, as registered with the registry, e.g. `dg-hall-01`.
        public var id: String
        /// The site this kiosk belongs to; site overrides apply to every kiosk of a site.
        public var site: String
        /// Display name, e.g. 东莞市民服务中心 1 号机.
        public var name: String
        /// Who provides the service, printed in each document's copy line.
        public var provider: String
    }

    /// How to reach the central registry.
    public struct RegistrySettings: Codable, Sendable, Equatable {
        /// Base URL, `http` or `https`, e.g. `https://registry.example.gov.cn`.
        public var url: String
        /// Deadline of one request, in seconds.
        public var requestTimeoutSeconds: Double
        /// Path of the kiosk's Ed25519 private key (base64), relative to the state directory
        /// unless absolute.
        public var keyFile: String
        /// The PEM certificate of the CA that issued the registry's TLS certificate, relative to
        /// the configuration directory unless absolute. Required for an `https` URL; plain `http`
        /// is accepted for a loopback registry only.
        public var caFile: String?
        /// Seconds without a fresh signed statement from the configuration feed after which the
        /// kiosk calls its feed frozen (`diag`, metrics). Default one day.
        public var freezeWindowSeconds: Int?

        /// The freeze window in seconds, with its default.
        public var freezeWindow: TimeInterval { TimeInterval(freezeWindowSeconds ?? 86_400) }

        /// The CA file's path, with a relative one taken in `configurationDirectory`.
        public func caPath(in configurationDirectory: URL) -> String? {
            guard let caFile else { return nil }
            return caFile.hasPrefix("/") ? caFile : configurationDirectory.appendingPathComponent(caFile).path
        }
    }

    /// A printer role (`a4`, `receipt`) bound to a CUPS queue.
    public struct PrinterSettings: Codable, Sendable, Equatable {
        /// The CUPS queue name.
        public var queue: String
        /// IPP media keyword, e.g. `iso_a4_210x297mm`.
        public var media: String
        /// `one-sided`, `two-sided-long-edge` or `two-sided-short-edge`.
        public var sides: String
        /// Copies per print, 1–9.
        public var copies: Int
        /// `draft`, `normal` or `high`.
        public var quality: String
        /// The daemon's own deadline for one job, in seconds.
        public var jobTimeoutSeconds: Double
    }

    /// Which ID-card reader to use.
    public struct ReaderSettings: Codable, Sendable, Equatable {
        /// `auto` (first known model found), a `VID:PID` such as `0400:C35A`, or `serial`.
        public var select: String
        /// Serial device path when `select` is `serial`, e.g. `/dev/ttyUSB0`.
        public var device: String?
        /// Card presence polling interval, milliseconds.
        public var pollIntervalMilliseconds: Int
    }

    /// Citizen session timing.
    public struct SessionSettings: Codable, Sendable, Equatable {
        /// Idle time after which the session ends and personal data is wiped.
        public var idleTimeoutSeconds: Int
        /// How long before the timeout the citizen is warned.
        public var idleWarningSeconds: Int
    }

    /// The service hall around the kiosk.
    public struct HallSettings: Codable, Sendable, Equatable {
        /// The kiosk's own letter for numbers it gives while the registry is unreachable (AK007):
        /// one capital letter, different for each kiosk of a site. Without it the kiosk gives no
        /// number offline.
        public var offlineLetter: String?
    }

    /// Person–card verification (人证核验): the vendor's face-matching program, spoken to over the
    /// verifier protocol.
    public struct VerifierSettings: Codable, Sendable, Equatable {
        /// The program's absolute path and its arguments.
        public var command: [String]
        /// The vendor's WLT photo library; without it the verifier gets the chip's WLT data.
        public var photoDecoder: String?
        /// Seconds one check may take, the person's blink included (default 20).
        public var timeoutSeconds: Int?
        /// A match below this score (0–1) counts as no match (default 0: the verifier's decision).
        public var minimumScore: Double?
        /// Checks one card may try in a visit (default 3).
        public var attemptsPerVisit: Int?

        public var timeout: Double { Double(timeoutSeconds ?? 20) }
        public var attempts: Int { attemptsPerVisit ?? 3 }
    }

    public var kiosk: Identity
    /// The face verifier; none: services that need a face match are refused.
    public var verifier: VerifierSettings?
    /// The hall settings; none: defaults.
    public var hall: HallSettings?
    public var registry: RegistrySettings
    /// Printer roles by name; `a4` is required, `receipt` optional.
    public var printers: [String: PrinterSettings]
    public var reader: ReaderSettings
    public var session: SessionSettings
    /// Interface languages, first is the default; each needs a texts file.
    public var languages: [String]
}

extension KioskSettings {
    static let sides: Set<String> = ["one-sided", "two-sided-long-edge", "two-sided-short-edge"]
    static let qualities: Set<String> = ["draft", "normal", "high"]

    /// 2–63 lowercase ASCII letters, digits and '-', not starting with '-'.
    static func isIdentifier(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (2...63).contains(bytes.count), bytes[0] != UInt8(ascii: "-") else { return false }
        return bytes.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == UInt8(ascii: "-") }
    }

    func validate(in file: YAMLFile) throws(ConfigurationError) {
        if let letter = hall?.offlineLetter, !(letter.count == 1 && letter.allSatisfy { $0.isASCII && $0.isUppercase }) {
            throw file.error(at: ["hall", "offlineLetter"], "'\(letter)' is not one capital letter (each kiosk of a site its own, e.g. K)")
        }
        if let verifier {
            guard let program = verifier.command.first, program.hasPrefix("/") else {
                throw file.error(at: ["verifier", "command"], "must list the program's absolute path first, e.g. [/usr/lib/yitiji/verifier/face-verify]")
            }
            if let decoder = verifier.photoDecoder, !decoder.hasPrefix("/") {
                throw file.error(at: ["verifier", "photoDecoder"], "'\(decoder)' is not an absolute path, e.g. /usr/lib/yitiji/libwlt2bmp.so")
            }
            if let seconds = verifier.timeoutSeconds, !(3...120).contains(seconds) {
                throw file.error(at: ["verifier", "timeoutSeconds"], "must be between 3 and 120 seconds")
            }
            if let score = verifier.minimumScore, !(score.isFinite && (0...1).contains(score)) {
                throw file.error(at: ["verifier", "minimumScore"], "must be between 0 and 1")
            }
            if let attempts = verifier.attemptsPerVisit, !(1...10).contains(attempts) {
                throw file.error(at: ["verifier", "attemptsPerVisit"], "must be between 1 and 10")
            }
        }
        if !Self.isIdentifier(kiosk.id) {
            throw file.error(at: ["kiosk", "id"], "'\(kiosk.id)' is not a kiosk id: use 2–63 lowercase letters, digits and '-'")
        }
        if !Self.isIdentifier(kiosk.site) {
            throw file.error(at: ["kiosk", "site"], "'\(kiosk.site)' is not a site id: use 2–63 lowercase letters, digits and '-'")
        }
        for (path, value) in [(["kiosk", "name"], kiosk.name), (["kiosk", "provider"], kiosk.provider),
                              (["registry", "keyFile"], registry.keyFile)] where value.trimmingCharacters(in: .whitespaces).isEmpty {
            throw file.error(at: path, "must not be empty")
        }
        guard let url = URL(string: registry.url), let scheme = url.scheme, ["http", "https"].contains(scheme),
              url.host != nil else {
            throw file.error(at: ["registry", "url"], "'\(registry.url)' is not an http(s) URL")
        }
        if scheme == "http", let host = url.host, !Loopback.isLoopback(host) {
            throw file.error(at: ["registry", "url"], "plain http to \(host) would send ID numbers in clear: use https and registry.caFile (http is for a registry on this machine only)")
        }
        if scheme == "https", (registry.caFile ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
            throw file.error(at: ["registry", "caFile"], "an https registry needs caFile: the PEM certificate of the CA that issued its certificate")
        }
        if let window = registry.freezeWindowSeconds, !(1...30 * 86_400).contains(window) {
            throw file.error(at: ["registry", "freezeWindowSeconds"], "must be between 1 second and 30 days (2592000)")
        }
        guard (0.5...120).contains(registry.requestTimeoutSeconds) else {
            throw file.error(at: ["registry", "requestTimeoutSeconds"], "must be between 0.5 and 120 seconds")
        }
        guard printers["a4"] != nil else {
            throw file.error(at: ["printers"], "needs an 'a4' printer role")
        }
        for (role, printer) in printers.sorted(by: { $0.key < $1.key }) {
            let base = ["printers", role]
            guard ["a4", "receipt"].contains(role) else {
                throw file.error(at: base, "unknown printer role '\(role)': use a4 or receipt")
            }
            if printer.queue.isEmpty || printer.queue.contains(where: { $0 == "/" || $0 == "#" || $0.isWhitespace }) {
                throw file.error(at: base + ["queue"], "'\(printer.queue)' is not a CUPS queue name")
            }
            guard Self.sides.contains(printer.sides) else {
                throw file.error(at: base + ["sides"], "'\(printer.sides)' is not one of \(Self.sides.sorted().joined(separator: ", "))")
            }
            guard Self.qualities.contains(printer.quality) else {
                throw file.error(at: base + ["quality"], "'\(printer.quality)' is not one of draft, normal, high")
            }
            guard (1...9).contains(printer.copies) else {
                throw file.error(at: base + ["copies"], "must be between 1 and 9")
            }
            guard (5...600).contains(printer.jobTimeoutSeconds) else {
                throw file.error(at: base + ["jobTimeoutSeconds"], "must be between 5 and 600 seconds")
            }
        }
        let select = reader.select
        if select != "auto", select != "serial", (try? /^[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}$/.wholeMatch(in: select)) == nil {
            throw file.error(at: ["reader", "select"], "'\(select)' is not auto, serial or a VID:PID such as 0400:C35A")
        }
        if select == "serial", (reader.device ?? "").isEmpty {
            throw file.error(at: ["reader", "device"], "is needed when reader.select is serial, e.g. /dev/ttyUSB0")
        }
        guard (100...2000).contains(reader.pollIntervalMilliseconds) else {
            throw file.error(at: ["reader", "pollIntervalMilliseconds"], "must be between 100 and 2000")
        }
        guard (15...3600).contains(session.idleTimeoutSeconds) else {
            throw file.error(at: ["session", "idleTimeoutSeconds"], "must be between 15 and 3600 seconds")
        }
        guard session.idleWarningSeconds > 0, session.idleWarningSeconds < session.idleTimeoutSeconds else {
            throw file.error(at: ["session", "idleWarningSeconds"], "must be positive and shorter than idleTimeoutSeconds")
        }
        guard !languages.isEmpty, Set(languages).count == languages.count,
              languages.allSatisfy({ ["zh", "en"].contains($0) }) else {
            throw file.error(at: ["languages"], "must list zh and/or en, each once")
        }
    }
}
