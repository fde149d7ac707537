import Crypto
import Foundation
import KioskCore

/// The request-signing scheme between kiosks and registryd, shared by client and server.
///
/// Every `/v1` request except `GET /v1/health` carries four headers:
///
/// - `X-Kiosk-Id`: the kiosk's registered ID (`[A-Za-z0-9._-]{1,64}`);
/// - `X-Kiosk-Timestamp`: Unix time in whole seconds, 1 to 12 ASCII digits; refused when more
///   than 300 s from the registry's clock;
/// - `X-Kiosk-Nonce`: 16 to 64 of `A-Z a-z 0-9 _ -`, fresh for every request (the registry
///   refuses a nonce it has seen from the kiosk within the skew window: a replay);
/// - `X-Kiosk-Signature`: standard base64 of the Ed25519 signature, by the kiosk's private key,
///   of the UTF-8 bytes of
///
///   ```
///   YITIJI-KIOSK-SIG-V2\n<METHOD>\n<path and query, as sent>\n<timestamp>\n<nonce>\n<kiosk id>\n<Idempotency-Key or empty>\n<hex SHA-256 of the body>
///   ```
///
/// (the body hash of an empty body is the hash of zero bytes). Binding the `Idempotency-Key`
/// means a captured write cannot be sent again under another key as a new submission.
public enum KioskSignature {
    /// The header naming the kiosk.
    public static let kioskIdHeader = "X-Kiosk-Id"
    /// The header carrying Unix seconds.
    public static let timestampHeader = "X-Kiosk-Timestamp"
    /// The header carrying the request's nonce.
    public static let nonceHeader = "X-Kiosk-Nonce"
    /// The header carrying the base64 signature.
    public static let signatureHeader = "X-Kiosk-Signature"
    /// The idempotency header of writes, bound into the signature.
    public static let idempotencyKeyHeader = "Idempotency-Key"
    /// How far a request's timestamp may be from the registry's clock.
    public static let allowedSkew: TimeInterval = 300

    /// The bytes that are signed.
    public static func message(method: String, pathAndQuery: String, timestamp: String, nonce: String, kioskId: String,
                               idempotencyKey: String?, body: some DataProtocol) -> Data {
        let hash = SHA256.hash(data: body).hexString
        return Data("YITIJI-KIOSK-SIG-V2\n\(method.uppercased())\n\(pathAndQuery)\n\(timestamp)\n\(nonce)\n\(kioskId)\n\(idempotencyKey ?? "")\n\(hash)".utf8)
    }

    /// Whether `id` is acceptable as a kiosk ID.
    public static func isValidKioskId(_ id: String) -> Bool { KioskIdentifier.isValid(id) }

    /// Whether `nonce` is acceptable: 16 to 64 of `A-Z a-z 0-9 _ -`.
    public static func isValidNonce(_ nonce: String) -> Bool {
        (16...64).contains(nonce.utf8.count) && nonce.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D
        }
    }

    /// Parses a timestamp header: 1 to 12 ASCII digits (no sign, no spaces), else nil.
    public static func parseTimestamp(_ text: String) -> Int64? {
        guard (1...12).contains(text.utf8.count), text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        var value: Int64 = 0
        for c in text.utf8 { value = value * 10 + Int64(c - 0x30) }  // at most 12 digits: no overflow
        return value
    }

    /// A fresh random nonce (22 characters of base64url, 128 bits).
    public static func makeNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
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

    /// The four signature headers for a request; `idempotencyKey` (a write's `Idempotency-Key`)
    /// is bound into the signature. `now` is the kiosk's idea of the registry's time.
    public func headers(method: String, pathAndQuery: String, body: some DataProtocol, idempotencyKey: String? = nil,
                        now: Date = Date(), nonce: String = KioskSignature.makeNonce()) -> [(String, String)] {
        let timestamp = String(Int64(max(0, now.timeIntervalSince1970).rounded(.down)))
        let message = KioskSignature.message(method: method, pathAndQuery: pathAndQuery, timestamp: timestamp, nonce: nonce,
                                             kioskId: kioskId, idempotencyKey: idempotencyKey, body: body)
        let signature = (try? key.signature(for: message)) ?? Data()
        return [(KioskSignature.kioskIdHeader, kioskId), (KioskSignature.timestampHeader, timestamp),
                (KioskSignature.nonceHeader, nonce), (KioskSignature.signatureHeader, signature.base64EncodedString())]
    }
}

/// A bad kiosk ID or key.
public enum KioskKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A kiosk ID outside 1 to 64 of A-Z a-z 0-9 . _ -.
    case invalidKioskId(String)
    /// The key file or base64 key is not a raw 32-byte Ed25519 key; says why.
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
    /// One of the headers is missing, repeated or malformed (`which` names it).
    case missingHeaders(String)
    /// The kiosk ID is not registered (or was removed).
    case unknownKiosk(String)
    /// The timestamp is more than 5 minutes from the registry's clock.
    case clockSkew(seconds: Int64)
    /// The signature does not verify with the kiosk's key.
    case badSignature
    /// The nonce was already used by this kiosk: the request is a replay.
    case replayed

    /// The stable problem code.
    public var code: String {
        switch self {
        case .missingHeaders: return "auth.missing"
        case .unknownKiosk: return "auth.unknown-kiosk"
        case .clockSkew: return "auth.clock-skew"
        case .badSignature: return "auth.bad-signature"
        case .replayed: return "auth.replayed"
        }
    }

    /// What to do about it.
    public var detail: String {
        switch self {
        case .missingHeaders(let which):
            return "sign the request (\(which)): X-Kiosk-Id, X-Kiosk-Timestamp (1 to 12 digits), X-Kiosk-Nonce (16 to 64 of A-Z a-z 0-9 _ -) and X-Kiosk-Signature (base64 of 64 bytes) are required, once each"
        case .unknownKiosk(let id): return "kiosk '\(id.prefix(64))' is not registered; register its public key with `registryd kiosk add`"
        case .clockSkew(let s): return "the request's timestamp is \(s) s from the registry's clock (at most 300 s); set the kiosk's clock (GET /v1/health gives the registry's time)"
        case .badSignature: return "the signature does not verify with the kiosk's registered key; check the kiosk's key file"
        case .replayed: return "this request's nonce was already used; every request needs a fresh X-Kiosk-Nonce"
        }
    }

    /// The problem document registryd answers with (401).
    public var problem: Problem {
        Problem(statusCode: 401, code: code, title: "Request not authenticated", detail: detail)
    }
}

/// A request's signature headers, checked for form before anything else is read.
public struct SignedRequestHeaders: Sendable, Equatable {
    /// The kiosk that claims to have signed.
    public let kioskId: String
    /// The timestamp as sent (it is signed as sent).
    public let timestamp: String
    /// Its value in Unix seconds.
    public let seconds: Int64
    /// The request's nonce.
    public let nonce: String
    /// The 64 signature bytes.
    public let signature: Data
    /// The write's idempotency key, if any (signed).
    public let idempotencyKey: String?

    /// Checks each header's form; `values(name)` gives every value a header has in the request.
    public init(values: (String) -> [String]) throws(SignatureFailure) {
        func one(_ name: String) throws(SignatureFailure) -> String {
            let all = values(name)
            guard all.count == 1, let value = all.first else {
                throw .missingHeaders(all.isEmpty ? "\(name) is missing" : "\(name) is repeated")
            }
            return value
        }
        let id = try one(KioskSignature.kioskIdHeader)
        guard KioskSignature.isValidKioskId(id) else { throw .missingHeaders("X-Kiosk-Id is not 1 to 64 of A-Z a-z 0-9 . _ -") }
        let timestamp = try one(KioskSignature.timestampHeader)
        guard let seconds = KioskSignature.parseTimestamp(timestamp) else { throw .missingHeaders("X-Kiosk-Timestamp is not 1 to 12 digits") }
        let nonce = try one(KioskSignature.nonceHeader)
        guard KioskSignature.isValidNonce(nonce) else { throw .missingHeaders("X-Kiosk-Nonce is not 16 to 64 of A-Z a-z 0-9 _ -") }
        let signature = try one(KioskSignature.signatureHeader)
        guard signature.utf8.count == 88, let bytes = Data(base64Encoded: signature), bytes.count == 64 else {
            throw .missingHeaders("X-Kiosk-Signature is not base64 of 64 bytes")
        }
        let keys = values(KioskSignature.idempotencyKeyHeader)
        guard keys.count <= 1 else { throw .missingHeaders("Idempotency-Key is repeated") }
        kioskId = id
        self.timestamp = timestamp
        self.seconds = seconds
        self.nonce = nonce
        self.signature = bytes
        idempotencyKey = keys.first
    }

    /// Throws `clockSkew` when the timestamp is more than `KioskSignature.allowedSkew` from `now`.
    public func checkClock(now: Date) throws(SignatureFailure) {
        let reference = Int64(max(0, min(now.timeIntervalSince1970, 1e12)).rounded(.down))
        let skew = seconds - reference  // both within 0...10^12: cannot overflow
        guard skew.magnitude <= UInt64(KioskSignature.allowedSkew) else { throw .clockSkew(seconds: skew) }
    }

    /// Verifies the signature over the request with the kiosk's raw Ed25519 public key.
    public func verify(method: String, pathAndQuery: String, body: some DataProtocol, publicKey raw: Data) throws(SignatureFailure) {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else { throw .unknownKiosk(kioskId) }
        let message = KioskSignature.message(method: method, pathAndQuery: pathAndQuery, timestamp: timestamp, nonce: nonce,
                                             kioskId: kioskId, idempotencyKey: idempotencyKey, body: body)
        guard key.isValidSignature(signature, for: message) else { throw .badSignature }
    }
}

/// Checks signed requests on the registry's side.
public enum KioskSignatureVerifier {
    /// Verifies a whole request in one step (headers, clock, signature): `publicKey` looks a
    /// kiosk's registered raw Ed25519 key up by ID. Returns the kiosk ID. Replays are the
    /// caller's to refuse (`ReplayGuard`).
    public static func verify(method: String, pathAndQuery: String, headers: (String) -> [String],
                              body: some DataProtocol, now: Date = Date(),
                              publicKey: (String) async throws -> Data?) async throws -> SignedRequestHeaders {
        let signed = try SignedRequestHeaders(values: headers)
        guard let raw = try await publicKey(signed.kioskId) else { throw SignatureFailure.unknownKiosk(signed.kioskId) }
        try signed.checkClock(now: now)
        try signed.verify(method: method, pathAndQuery: pathAndQuery, body: body, publicKey: raw)
        return signed
    }
}
