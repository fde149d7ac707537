import Crypto
import Foundation
import KioskCore

/// Why a verification code or document did not verify.
public enum VerificationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not a verification code: wrong characters, length or version; says which.
    case malformedCode(String)
    /// Signed by a key (its ID) that is not known.
    case unknownKey(String)
    /// The signature does not verify: the code was altered or forged.
    case badSignature
    /// The document's fields are not those the code was made for.
    case fieldsAltered
    /// The file is not a document this kiosk prints; says why.
    case notADocument(String)
    /// The signing key file (path) cannot be used (why).
    case keyFile(String, String)

    public var description: String {
        switch self {
        case .malformedCode(let why): return "not a verification code: \(why)"
        case .unknownKey(let id): return "signed with key \(id), which is not among the configured public keys"
        case .badSignature: return "the signature does not match: the code was mistyped or forged"
        case .fieldsAltered: return "the document's fields do not match its verification code: it was altered"
        case .notADocument(let why): return "not a Yitiji document: \(why)"
        case let .keyFile(path, why): return "key file \(path): \(why)"
        }
    }
}

/// The fields a document's code vouches for, in a fixed order.
public struct CanonicalFields: Sendable, Equatable, Codable {
    public var kind: String
    public var fields: [[String]]

    public init(kind: String, fields: [(String, String)]) {
        self.kind = kind
        self.fields = fields.map { [$0.0, $0.1] }
    }

    /// `kind` then `key=value` lines, newlines in values escaped.
    var canonicalText: String {
        ([kind] + fields.map { pair in
            let key = pair.first ?? "", value = pair.count > 1 ? pair[1] : ""
            return key + "=" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
        }).joined(separator: "\n")
    }

    /// SHA-256 over the canonical text: what the signature covers.
    public var sha256: [UInt8] { Array(SHA256.hash(data: Data(canonicalText.utf8))) }

    /// The first 8 bytes of `sha256`, carried in the code to find and compare the document.
    public var digest: [UInt8] { Array(sha256.prefix(8)) }

    /// The fields that differ from `other`'s (by name), for saying what was altered.
    public func differences(from other: CanonicalFields) -> [String] {
        var names: [String] = []
        if kind != other.kind { names.append("kind") }
        let mine = Dictionary(fields.map { ($0.first ?? "", $0.count > 1 ? $0[1] : "") }, uniquingKeysWith: { a, _ in a })
        let theirs = Dictionary(other.fields.map { ($0.first ?? "", $0.count > 1 ? $0[1] : "") }, uniquingKeysWith: { a, _ in a })
        for name in Set(mine.keys).union(theirs.keys).sorted() where mine[name] != theirs[name] { names.append(name) }
        return names
    }
}

/// A printed document's verification code: key id, print time (minutes), the first 8 bytes of the
/// fields' SHA-256 and an Ed25519 signature over the key id, the time and the whole SHA-256, in
/// Crockford base32 grouped by five. The signature can only be checked with the fields in hand:
/// from the PDF, or from the registry's verification record, which also shows what was printed.
public struct VerificationCode: Sendable, Equatable, CustomStringConvertible {
    public let keyID: [UInt8]
    /// Minutes since 2020-01-01T00:00Z.
    public let minutes: UInt32
    public let digest: [UInt8]
    public let signature: [UInt8]

    static let epoch = Date(timeIntervalSince1970: 1_577_836_800)
    static let byteCount = 4 + 4 + 8 + 64

    /// When the document was printed.
    public var printedAt: Date { VerificationCode.epoch.addingTimeInterval(Double(minutes) * 60) }

    /// The bytes the signature covers, for a document whose fields hash to `sha256`.
    static func signedMessage(sha256: [UInt8], keyID: [UInt8], minutes: UInt32) -> [UInt8] {
        Array("YTJ2".utf8) + sha256 + keyID + [UInt8(minutes >> 24), UInt8(minutes >> 16 & 0xFF), UInt8(minutes >> 8 & 0xFF), UInt8(minutes & 0xFF)]
    }

    var minuteBytes: [UInt8] { [UInt8(minutes >> 24), UInt8(minutes >> 16 & 0xFF), UInt8(minutes >> 8 & 0xFF), UInt8(minutes & 0xFF)] }

    init(keyID: [UInt8], minutes: UInt32, digest: [UInt8], signature: [UInt8]) {
        self.keyID = keyID
        self.minutes = minutes
        self.digest = digest
        self.signature = signature
    }

    /// Parses a typed or scanned code: case, dashes and spaces ignored, O read as 0 and I/L as 1.
    public init(text: String) throws(VerificationError) {
        var body = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if body.uppercased().hasPrefix("YTJ2:") { body = String(body.dropFirst(5)) }
        let bytes: [UInt8]
        switch CrockfordBase32.decode(body) {
        case .success(let decoded): bytes = decoded
        case .failure(.notACodeCharacter(let c)): throw .malformedCode("'\(c)' is not a code character")
        case .failure(.tooLong): throw .malformedCode("far too long for a code")
        }
        guard bytes.count == VerificationCode.byteCount else {
            throw .malformedCode("\(bytes.count) bytes, expected \(VerificationCode.byteCount): a group was left out or added")
        }
        keyID = Array(bytes[0..<4])
        minutes = bytes[4..<8].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        digest = Array(bytes[8..<16])
        signature = Array(bytes[16...])
    }

    /// Grouped base32, e.g. `0A1B2-C3D4E-…`.
    public var description: String { CrockfordBase32.encode(keyID + minuteBytes + digest + signature) }

    /// The QR payload.
    public var qrPayload: String { "YTJ2:" + description.replacingOccurrences(of: "-", with: "") }
}

/// A kiosk's document signing key (Ed25519).
public struct DocumentSigningKey: Sendable {
    let key: Curve25519.Signing.PrivateKey
    /// First 4 bytes of SHA-256 over the raw public key.
    public let keyID: [UInt8]

    public init(key: Curve25519.Signing.PrivateKey) {
        self.key = key
        keyID = DocumentSigningKey.keyID(of: key.publicKey.rawRepresentation)
    }

    static func keyID(of publicKey: Data) -> [UInt8] { Array(SHA256.hash(data: publicKey).prefix(4)) }

    /// Loads a key file: the 32-byte private key in base64.
    public static func load(path: String) throws(VerificationError) -> DocumentSigningKey {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw .keyFile(path, "cannot read") }
        guard let raw = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)),
              let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw) else {
            throw .keyFile(path, "not a base64 Ed25519 private key (32 bytes)")
        }
        return DocumentSigningKey(key: key)
    }

    /// The public key, base64, as `.pub` files hold it.
    public var publicKeyBase64: String { key.publicKey.rawRepresentation.base64EncodedString() }

    /// A new random key.
    public static func generate() -> DocumentSigningKey { DocumentSigningKey(key: Curve25519.Signing.PrivateKey()) }

    /// Writes the private key as base64 to a new file at `path` (mode 0600); never replaces one.
    public func write(to path: String) throws(VerificationError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .keyFile(path, "cannot create: \(String(cString: strerror(errno)))") }
        let text = Array((key.rawRepresentation.base64EncodedString() + "\n").utf8)
        let written = text.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == text.count, synced else { throw .keyFile(path, "could not be written completely") }
    }

    /// Signs `fields` as printed at `date`.
    public func sign(_ fields: CanonicalFields, at date: Date) -> VerificationCode {
        let minutes = UInt32(clamping: Int(max(0, date.timeIntervalSince(VerificationCode.epoch)) / 60))
        let message = VerificationCode.signedMessage(sha256: fields.sha256, keyID: keyID, minutes: minutes)
        let signature = (try? key.signature(for: Data(message))).map(Array.init) ?? []
        return VerificationCode(keyID: keyID, minutes: minutes, digest: fields.digest, signature: signature)
    }
}

/// Checks codes and documents against configured public keys.
public struct DocumentVerifier: Sendable {
    var keys: [[UInt8]: Curve25519.Signing.PublicKey] = [:]

    public init(publicKeys: [Data]) {
        for raw in publicKeys {
            if let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) {
                keys[DocumentSigningKey.keyID(of: raw)] = key
            }
        }
    }

    /// Loads every `*.pub` (base64 raw Ed25519 public key) in `directory`.
    public static func load(directory: String) -> DocumentVerifier {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let keys = names.filter { $0.hasSuffix(".pub") }.compactMap { name -> Data? in
            guard let text = try? String(contentsOfFile: directory + "/" + name, encoding: .utf8) else { return nil }
            return Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return DocumentVerifier(publicKeys: keys)
    }

    /// This verifier with more raw public keys.
    public func adding(publicKeys: [Data]) -> DocumentVerifier {
        var copy = self
        for raw in publicKeys {
            if let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) { copy.keys[DocumentSigningKey.keyID(of: raw)] = key }
        }
        return copy
    }

    /// Whether the code's key is among the configured public keys (no signature check: that
    /// needs the document's fields).
    public func knows(_ code: VerificationCode) -> Bool { keys[code.keyID] != nil }

    /// Verifies a code against the document fields it is said to vouch for: the digest and the
    /// signature over their whole SHA-256. Returns the code.
    @discardableResult
    public func verify(code: VerificationCode, fields: CanonicalFields) throws(VerificationError) -> VerificationCode {
        guard let key = keys[code.keyID] else {
            throw .unknownKey(code.keyID.hexString)
        }
        let sha256 = fields.sha256
        guard Array(sha256.prefix(8)) == code.digest else { throw .fieldsAltered }
        let message = VerificationCode.signedMessage(sha256: sha256, keyID: code.keyID, minutes: code.minutes)
        guard key.isValidSignature(Data(code.signature), for: Data(message)) else { throw .badSignature }
        return code
    }

    /// The code and fields a PDF rendered by Yitiji carries in its metadata, unchecked.
    public static func contents(pdf: Data) throws(VerificationError) -> (VerificationCode, CanonicalFields) {
        let text = String(decoding: pdf, as: UTF8.self)
        guard let codeText = PDFMetadata.value(after: "yitiji-code:", in: text) else {
            throw .notADocument("no verification code in its metadata")
        }
        guard let fieldsText = PDFMetadata.value(after: "yitiji-fields:", in: text),
              let json = Data(base64Encoded: fieldsText),
              let fields = try? JSONDecoder().decode(CanonicalFields.self, from: json) else {
            throw .notADocument("no document fields in its metadata")
        }
        return (try VerificationCode(text: codeText), fields)
    }

    /// Verifies a PDF rendered by Yitiji: its code, and that its fields match the code.
    public func verify(pdf: Data) throws(VerificationError) -> (VerificationCode, CanonicalFields) {
        let (code, fields) = try Self.contents(pdf: pdf)
        try verify(code: code, fields: fields)
        return (code, fields)
    }
}

enum PDFMetadata {
    /// The token after `marker` in a PDF's uncompressed Info dictionary.
    static func value(after marker: String, in text: String) -> String? {
        guard let range = text.range(of: marker) else { return nil }
        let rest = text[range.upperBound...]
        let token = rest.prefix { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "+" || $0 == "/" || $0 == "=" || $0 == ":" }
        return token.isEmpty ? nil : String(token)
    }
}
