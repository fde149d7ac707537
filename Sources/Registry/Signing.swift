import Crypto
import Foundation

/// The request-signing scheme between kiosks and registryd, shared by client and server.
///
/// Every `/v1` request except `GET /v1/health` carries three headers:
///
/// - `X-Kiosk-Id`: the kiosk's registered ID (`[A-Za-z0-9._-]{1,64}`);
/// - `X-Kiosk-Timestamp`: Unix time in whole seconds; refused when more than 300 s from the
///   registry's clock;
/// - `X-Kiosk-Signature`: standard base64 of the Ed25519 signature, by the kiosk's private key,
///   of the UTF-8 bytes of
///
///   ```
///   YITIJI-KIOSK-SIG-V1\n<METHOD>\n<path and query, as sent>\n<timestamp>\n<kiosk id>\n<hex SHA-256 of the body>
///   ```
///
/// (the body hash of an empty body is the hash of zero bytes).
public enum KioskSignature {
    /// The header naming the kiosk.
    public static let kioskIdHeader = "X-Kiosk-Id"
    /// The header carrying Unix seconds.
    public static let timestampHeader = "X-Kiosk-Timestamp"
    /// The header carrying the base64 signature.
    public static let signatureHeader = "X-Kiosk-Signature"
    /// How far a request's timestamp may be from the registry's clock.
    public static let allowedSkew: TimeInterval = 300

    /// The bytes that are signed.
    public static func message(method: String, pathAndQuery: String, timestamp: String, kioskId: String, body: some DataProtocol) -> Data {
        let hash = SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined()
        return Data("YITIJI-KIOSK-SIG-V1\n\(method.uppercased())\n\(pathAndQuery)\n\(timestamp)\n\(kioskId)\n\(hash)".utf8)
    }

    /// Whether `id` is acceptable as a kiosk ID.
    public static func isValidKioskId(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count) && id.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E || c == 0x5F || c == 0x2D
        }
    }
}

/// A kiosk's signing identity: its ID and Ed25519 private key.
public struct KioskCredentials: Sendable {
    /// The kiosk's registered ID.
    public let kioskId: String
    let key: Curve25519.Signing.PrivateKey

    /// Credentials from a raw 32-byte Ed25519 private key.
    public init(kioskId: String, privateKey: Data) throws(KioskKeyError) {
        guard KioskSignature.isValidKioskId(kioskId) else { throw .invalidKioskId(kioskId) }
        do { key = try Curve25519.Signing.PrivateKey(rawRepresentation: privateKey) } catch {
            throw .invalidKey("the private key must be 32 raw bytes")
        }
        self.kioskId = kioskId
    }

    /// New credentials with a fresh key (for enrolment and tests).
    public static func generate(kioskId: String) throws(KioskKeyError) -> KioskCredentials {
        try KioskCredentials(kioskId: kioskId, privateKey: Curve25519.Signing.PrivateKey().rawRepresentation)
    }

    /// Reads a key file holding the base64 private key (as `write(to:)` makes it).
    public static func load(kioskId: String, keyFile: String) throws(KioskKeyError) -> KioskCredentials {
        guard let data = FileManager.default.contents(atPath: keyFile),
              let raw = Data(base64Encoded: String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw .invalidKey("\(keyFile) is missing or not base64")
        }
        return try KioskCredentials(kioskId: kioskId, privateKey: raw)
    }

    /// Writes the private key as base64 to `path`, mode 0600.
    public func write(to path: String) throws(KioskKeyError) {
        let text = Data((key.rawRepresentation.base64EncodedString() + "\n").utf8)
        guard FileManager.default.createFile(atPath: path, contents: text, attributes: [.posixPermissions: 0o600]) else {
            throw .invalidKey("cannot write \(path)")
        }
    }

    /// The public key to register with `registryd kiosk add`, base64 of its 32 raw bytes.
    public var publicKeyBase64: String { key.publicKey.rawRepresentation.base64EncodedString() }

    /// The three signature headers for a request.
    public func headers(method: String, pathAndQuery: String, body: some DataProtocol, now: Date = Date()) -> [(String, String)] {
        let timestamp = String(Int64(now.timeIntervalSince1970.rounded(.down)))
        let message = KioskSignature.message(method: method, pathAndQuery: pathAndQuery, timestamp: timestamp, kioskId: kioskId, body: body)
        let signature = (try? key.signature(for: message)) ?? Data()
        return [(KioskSignature.kioskIdHeader, kioskId), (KioskSignature.timestampHeader, timestamp),
                (KioskSignature.signatureHeader, signature.base64EncodedString())]
    }
}

/// A bad kiosk ID or key.
public enum KioskKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidKioskId(String)
    case invalidKey(String)

    public var description: String {
        switch self {
        case .invalidKioskId(let id): return "kiosk ID '\(id.prefix(70))' must be 1 to 64 of A-Z a-z 0-9 . _ -"
        case .invalidKey(let why): return "kiosk key: \(why)"
        }
    }
}

/// Why a request's signature was refused; each has a stable problem code.
public enum SignatureFailure: Error, Sendable, Equatable {
    /// One of the three headers is missing or malformed.
    case missingHeaders
    /// The kiosk ID is not registered (or was removed).
    case unknownKiosk(String)
    /// The timestamp is more than 5 minutes from the registry's clock.
    case clockSkew(seconds: Int64)
    /// The signature does not verify with the kiosk's key.
    case badSignature

    /// The stable problem code.
    public var code: String {
        switch self {
        case .missingHeaders: return "auth.missing"
        case .unknownKiosk: return "auth.unknown-kiosk"
        case .clockSkew: return "auth.clock-skew"
        case .badSignature: return "auth.bad-signature"
        }
    }

    /// What to do about it.
    public var detail: String {
        switch self {
        case .missingHeaders: return "sign the request: X-Kiosk-Id, X-Kiosk-Timestamp and X-Kiosk-Signature are required"
        case .unknownKiosk(let id): return "kiosk '\(id.prefix(64))' is not registered; register its public key with `registryd kiosk add`"
        case .clockSkew(let s): return "the request's timestamp is \(s) s from the registry's clock (at most 300 s); set the kiosk's clock (GET /v1/health gives the registry's time)"
        case .badSignature: return "the signature does not verify with the kiosk's registered key; check the kiosk's key file"
        }
    }

    /// The problem document registryd answers with (401).
    public var problem: Problem {
        Problem(statusCode: 401, code: code, title: "Request not authenticated", detail: detail)
    }
}

/// Checks signed requests on the registry's side.
public enum KioskSignatureVerifier {
    /// Verifies a request: `publicKey` looks a kiosk's registered raw Ed25519 key up by ID.
    /// Returns the kiosk ID.
    public static func verify(method: String, pathAndQuery: String, kioskId: String?, timestamp: String?, signature: String?,
                              body: some DataProtocol, now: Date = Date(),
                              publicKey: (String) async throws -> Data?) async throws -> String {
        guard let kioskId, let timestamp, let signature, KioskSignature.isValidKioskId(kioskId),
              timestamp.utf8.count <= 20, let seconds = Int64(timestamp),
              let signatureBytes = Data(base64Encoded: signature), signatureBytes.count == 64 else {
            throw SignatureFailure.missingHeaders
        }
        guard let raw = try await publicKey(kioskId), let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
            throw SignatureFailure.unknownKiosk(kioskId)
        }
        let skew = seconds - Int64(now.timeIntervalSince1970.rounded(.down))
        guard abs(skew) <= Int64(KioskSignature.allowedSkew) else { throw SignatureFailure.clockSkew(seconds: skew) }
        let message = KioskSignature.message(method: method, pathAndQuery: pathAndQuery, timestamp: timestamp, kioskId: kioskId, body: body)
        guard key.isValidSignature(signatureBytes, for: message) else { throw SignatureFailure.badSignature }
        return kioskId
    }
}
