import Crypto
import Foundation
import KioskAPI
import KioskCore

/// An append-only record of who did what and when: session start and end, prints, submissions,
/// technician operations, configuration changes. One JSON object a line in `audit.log` under the
/// state directory. Personal fields never appear in clear: `subject` is a keyed hash (HMAC-SHA256
/// with a per-kiosk secret), so two entries of the same card holder can be linked, but not read.
public final class AuditLog: Sendable {
    /// One line of the audit log, as the technician socket lists it.
    public typealias Entry = AuditEntry

    /// The log file.
    public let url: URL
    private let key: SymmetricKey
    private let handle: Locked<FileHandle?>

    /// Opens (or creates, mode 0600) `audit.log` in `stateDirectory`, with the hashing secret in
    /// `secretFile` (kept apart from the log; made at first use). A log with entries whose secret
    /// is missing is an error naming the file: a new secret would hash the same person differently.
    public init(stateDirectory: URL, secretFile secretURL: URL) throws {
        url = stateDirectory.appendingPathComponent("audit.log")
        let fm = FileManager.default
        if let data = try? Data(contentsOf: secretURL) {
            guard data.count == 32 else { throw DaemonError.key("\(secretURL.path) must hold exactly 32 bytes") }
            key = SymmetricKey(data: data)
        } else {
            let logged = ((try? fm.attributesOfItem(atPath: url.path))?[.size] as? Int) ?? 0
            if logged > 0 {
                throw DaemonError.key("\(secretURL.path) is missing, but \(url.path) has entries hashed with it: restore the secret from where it was kept")
            }
            let fresh = SymmetricKey(size: .bits256)
            let bytes = fresh.withUnsafeBytes { Data($0) }
            guard fm.createFile(atPath: secretURL.path, contents: bytes, attributes: [.posixPermissions: 0o600]) else {
                throw DaemonError.stateNotWritable(secretURL.path)
            }
            key = fresh
        }
        if !fm.fileExists(atPath: url.path) {
            guard fm.createFile(atPath: url.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw DaemonError.stateNotWritable(url.path)
            }
        }
        let file = try FileHandle(forWritingTo: url)
        _ = try? file.seekToEnd()
        handle = Locked(file)
    }

    /// The keyed hash of a personal value (e.g. an ID number): 16 hex digits.
    public func pseudonym(_ value: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(value.utf8), using: key)
        return Data(mac).prefix(8).hexString
    }

    /// Appends one entry. `subjectIdNumber` is hashed before it is written.
    public func record(actor: String, action: String, by account: String? = nil, subjectIdNumber: String? = nil, detail: String = "") {
        let entry = Entry(time: Timestamp.rfc3339(), actor: actor, by: account, action: action,
                          subject: subjectIdNumber.map(pseudonym), detail: detail)
        guard var line = try? JSONEncoder().encode(entry) else { return }
        line.append(0x0A)
        handle.withLock { file in
            try? file?.write(contentsOf: line)
            try? file?.synchronize()
        }
    }

    /// The last `limit` entries, newest last.
    public func recent(limit: Int = 100) -> [Entry] {
        guard let data = try? Data(contentsOf: url) else { return [] }
        let lines = data.split(separator: 0x0A).suffix(limit)
        return lines.compactMap { try? JSONDecoder().decode(Entry.self, from: Data($0)) }
    }

    /// Closes the file.
    public func close() {
        handle.withLock { file in
            try? file?.close()
            file = nil
        }
    }
}
