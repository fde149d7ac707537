import Foundation
import KioskCore

/// Why a support bundle could not be written.
public struct SupportBundleError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A tar.gz a technician sends to support: versions, the configuration without secrets, the
/// diag JSON, recent logs (ID numbers masked) and the outbox figures.
///
/// What goes in is an allow-list: nothing of the state directory is copied except log files and
/// the configuration history, so the outbox, caches, ledgers and spooled documents (which may
/// hold personal data) never travel.
public struct SupportBundle: Sendable {
    public var environment: DiagnosticEnvironment
    /// The diag report to include.
    public var report: DiagnosticReport
    /// The daemon's version, when it answered.
    public var daemonVersion: String?
    /// Most bytes kept of each log file (its end).
    public var logTailBytes = 1 << 20
    /// Journal lines kept.
    public var journalLines = 5000

    public init(environment: DiagnosticEnvironment, report: DiagnosticReport, daemonVersion: String? = nil) {
        self.environment = environment
        self.report = report
        self.daemonVersion = daemonVersion
    }

    /// Files of a configuration directory that may travel: YAML, templates, public keys.
    static func configFileAllowed(_ relative: String) -> Bool {
        let lower = relative.lowercased()
        if lower.hasSuffix(".key") || lower.contains("private") || lower.hasSuffix(".pem") { return false }
        return lower.hasSuffix(".yaml") || lower.hasSuffix(".yml") || lower.hasSuffix(".json") || lower.hasSuffix(".pub")
    }

    /// Replaces the values of secret-looking YAML/JSON keys and URL credentials.
    public static func stripSecrets(_ text: String) -> String {
        var out: [String] = []
        let secretKey = #"(?i)^(\s*-?\s*"?[A-Za-z0-9_.-]*(secret|password|passwd|token|privatekey|private_key|apikey|api_key|credential)[A-Za-z0-9_.-]*"?\s*:\s*)(.+)$"#
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            var line = line
            if let range = line.range(of: secretKey, options: .regularExpression) {
                let match = String(line[range])
                if let colon = match.firstIndex(of: ":") {
                    line = String(match[...colon]) + " \"<redacted>\"" + (match.hasSuffix(",") ? "," : "")
                }
            }
            line = line.replacingOccurrences(of: #"://[^/@\s:]+:[^/@\s]+@"#, with: "://<redacted>@", options: .regularExpression)
            out.append(line)
        }
        return out.joined(separator: "\n")
    }

    /// Masks resident ID numbers (18 characters, or 15 digits) and personal names in log text:
    /// the values of name-like JSON and YAML keys (`name`, `holderName`, `legalRepresentative`,
    /// `applicant` …), `key=value` pairs of the same, and what follows 姓名 or 法定代表人.
    public static func maskPersonalData(_ text: String) -> String {
        var masked = text.replacingOccurrences(of: #"(?<![0-9A-Za-z])[1-9][0-9]{5}(18|19|20)[0-9]{2}(0[1-9]|1[0-2])[0-9]{2}[0-9]{3}[0-9Xx](?![0-9A-Za-z])"#,
                                               with: "<id-number>", options: .regularExpression)
        masked = masked.replacingOccurrences(of: #"(?<![0-9A-Za-z])[1-9][0-9]{14}(?![0-9A-Za-z])"#, with: "<id-number>", options: .regularExpression)
        let nameKeys = #"(name|holderName|displayName|fullName|legalRepresentative|applicant|applicantName|holder|person)"#
        // "name": "张三"  /  name: 张三  /  name=张三
        masked = masked.replacingOccurrences(of: #"(?i)("?\#(nameKeys)"?\s*[:=]\s*)"[^"\n]*""#, with: "$1\"<name>\"", options: .regularExpression)
        masked = masked.replacingOccurrences(of: #"(?i)((?<![A-Za-z])\#(nameKeys)\s*[:=]\s*)(?!")[^\s,;}\]"]+"#, with: "$1<name>", options: .regularExpression)
        masked = masked.replacingOccurrences(of: #"(姓名|法定代表人|申请人|持证人)(\s*[:：]?\s*)[\p{Han}·]{1,20}"#, with: "$1$2<name>", options: .regularExpression)
        return masked
    }

    /// Writes the bundle to `output` (a .tar.gz); returns the paths inside it.
    @discardableResult
    public func write(to output: URL, outbox: OutboxFigures?, outboxNote: String?) throws(SupportBundleError) -> [String] {
        let fm = FileManager.default
        let now = environment.now()
        let stamp = ISO8601DateFormatter().string(from: now).replacingOccurrences(of: ":", with: "")
        let name = "yitiji-support-\(stamp)"
        // Built in memory and written once, compressed: nothing lands on disk outside `output`.
        var archive = TarArchive()
        var written: [String] = []
        func put(_ relative: String, _ text: String) throws(SupportBundleError) {
            archive.add("\(name)/\(relative)", Data(text.utf8), mtime: now)
            written.append("\(name)/\(relative)")
        }

        try put("versions.txt", versions())
        try put("diag.json", report.json(verbose: true, pretty: true) + "\n")
        try put("outbox.json", outboxJSON(outbox, note: outboxNote))

        // The configuration, secrets stripped, private keys left out.
        let config = environment.configDirectory
        let files = (fm.enumerator(atPath: config.path)?.allObjects as? [String] ?? []).sorted()
        var skipped: [String] = []
        for relative in files {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: config.appendingPathComponent(relative).path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            guard Self.configFileAllowed(relative) else { skipped.append(relative); continue }
            guard let text = try? String(contentsOf: config.appendingPathComponent(relative), encoding: .utf8) else { skipped.append(relative); continue }
            try put("config/\(relative)", Self.stripSecrets(text))
        }
        try put("config/SOURCE.txt", "configuration directory: \(config.path)\nleft out (private keys, binaries and unknown kinds): \(skipped.isEmpty ? "none" : skipped.joined(separator: ", "))\n")

        // The configuration store's history (versions and results, no contents).
        let history = environment.stateDirectory.appendingPathComponent("config/history.jsonl")
        if let text = try? String(contentsOf: history, encoding: .utf8) {
            try put("config-history.jsonl", Self.maskPersonalData(Self.stripSecrets(text)))
        }

        // Logs: kioskd's journal, and files under <state>/logs.
        if let journal = journal() { try put("logs/journal-kioskd.txt", Self.maskPersonalData(journal)) }
        let logs = environment.stateDirectory.appendingPathComponent("logs")
        for relative in ((fm.enumerator(atPath: logs.path)?.allObjects as? [String]) ?? []).sorted() {
            let url = logs.appendingPathComponent(relative)
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                  relative.hasSuffix(".log") || relative.hasSuffix(".txt") || relative.hasSuffix(".jsonl") else { continue }
            guard let handle = try? FileHandle(forReadingFrom: url) else { continue }
            let size = (try? handle.seekToEnd()) ?? 0
            try? handle.seek(toOffset: size > UInt64(logTailBytes) ? size - UInt64(logTailBytes) : 0)
            let data = (try? handle.readToEnd()) ?? Data()
            try? handle.close()
            try put("logs/\(relative)", Self.maskPersonalData(String(decoding: data, as: UTF8.self)))
        }

        // gzip it straight into the output file (mode 0600).
        try Self.gzip(archive.finished(), to: output)
        return written
    }

    /// Compresses `data` with gzip into a new file at `output` (mode 0600) through a pipe.
    static func gzip(_ data: Data, to output: URL) throws(SupportBundleError) {
        let fm = FileManager.default
        try? fm.removeItem(at: output)
        guard fm.createFile(atPath: output.path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let out = try? FileHandle(forWritingTo: output) else {
            throw SupportBundleError("cannot create \(output.path): check that its folder exists and is writable")
        }
        defer { try? out.close() }
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: fm.isExecutableFile(atPath: "/bin/gzip") ? "/bin/gzip" : "/usr/bin/gzip")
        gzip.arguments = ["-c", "-6"]
        let input = Pipe()
        gzip.standardInput = input
        gzip.standardOutput = out
        gzip.standardError = FileHandle.nullDevice
        do { try gzip.run() } catch { throw SupportBundleError("cannot run gzip: \(error.localizedDescription)") }
        let writer = input.fileHandleForWriting
        do { try writer.write(contentsOf: data); try writer.close() } catch {
            gzip.terminate()
            throw SupportBundleError("gzip stopped reading: \(error.localizedDescription)")
        }
        gzip.waitUntilExit()
        guard gzip.terminationStatus == 0 else { throw SupportBundleError("gzip could not write \(output.path) (exit \(gzip.terminationStatus))") }
    }

    func outboxJSON(_ figures: OutboxFigures?, note: String?) -> String {
        struct Body: Encodable { var figures: OutboxFigures?; var note: String? }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return ((try? encoder.encode(Body(figures: figures, note: note))).map { String(decoding: $0, as: UTF8.self) } ?? "{}") + "\n"
    }

    func versions() -> String {
        var lines = ["kioskctl \(Yitiji.version)", "kioskd \(daemonVersion ?? "not running")"]
        if let release = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8),
           let pretty = release.split(separator: "\n").first(where: { $0.hasPrefix("PRETTY_NAME=") }) {
            lines.append("os \(pretty.dropFirst(12).trimmingCharacters(in: CharacterSet(charactersIn: "\"")))")
        }
        var uts = utsname()
        if uname(&uts) == 0 {
            let release = withUnsafeBytes(of: &uts.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let machine = withUnsafeBytes(of: &uts.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            lines.append("kernel \(release) \(machine)")
        }
        if let packages = Self.capture("/usr/bin/dpkg-query", ["-W", "-f", "${Package} ${Version}\\n", "libusb-1.0-0", "libcups2", "cups", "cups-daemon"]) {
            lines += packages.split(separator: "\n").map { "package \($0)" }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func journal() -> String? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/journalctl") || FileManager.default.isExecutableFile(atPath: "/bin/journalctl") else { return nil }
        let path = FileManager.default.isExecutableFile(atPath: "/usr/bin/journalctl") ? "/usr/bin/journalctl" : "/bin/journalctl"
        return Self.capture(path, ["-u", "kioskd", "--no-pager", "-n", String(journalLines), "--since", "-2d"], includeErrors: true)
    }

    /// Runs a small command and returns its output (nil when it cannot run); at most 5 s.
    static func capture(_ path: String, _ arguments: [String], includeErrors: Bool = false) -> String? {
        guard FileManager.default.isExecutableFile(atPath: path) else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        // Read through a pipe, never a file: the output may hold personal data.
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = includeErrors ? pipe : FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let pid = process.processIdentifier
        let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + 5, execute: watchdog)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        watchdog.cancel()
        process.waitUntilExit()
        return String(data: data, encoding: .utf8)
    }
}
