import Crypto
import Foundation
import KioskCore

/// A signed document in the DSSE envelope format: the payload's exact bytes travel base64-encoded
/// beside the signatures, so nothing has to be re-serialised to be verified.
///
/// Signatures are Ed25519 over the DSSE pre-authentication encoding
/// `"DSSEv1" SP len(type) SP type SP len(body) SP body`.
public struct SignedEnvelope: Codable, Sendable, Equatable {
    /// One signature and the id of the key that made it.
    public struct Signature: Codable, Sendable, Equatable {
        public var keyid: String
        /// Base64 of the 64-byte Ed25519 signature.
        public var sig: String
    }

    /// Media type of the payload, e.g. `application/vnd.yitiji.config+json`.
    public var payloadType: String
    /// Base64 of the payload bytes.
    public var payload: String
    public var signatures: [Signature]

    /// Payload type of trusted root metadata.
    public static let rootType = "application/vnd.yitiji.root+json"
    /// Payload type of a configuration bundle.
    public static let configType = "application/vnd.yitiji.config+json"

    public init(payloadType: String, payload: Data, signatures: [Signature] = []) {
        self.payloadType = payloadType
        self.payload = payload.base64EncodedString()
        self.signatures = signatures
    }

    /// The bytes that signatures cover.
    public static func preAuthEncoding(type: String, body: Data) -> Data {
        var data = Data("DSSEv1 \(type.utf8.count) \(type) \(body.count) ".utf8)
        data.append(body)
        return data
    }

    /// Adds a signature by `key`.
    public mutating func sign(with key: Curve25519.Signing.PrivateKey) throws {
        guard let body = Data(base64Encoded: payload) else { throw BundleError.malformed("payload is not base64") }
        let signature = try key.signature(for: Self.preAuthEncoding(type: payloadType, body: body))
        signatures.append(Signature(keyid: KeyID.of(key.publicKey), sig: signature.base64EncodedString()))
    }

    /// Decodes an envelope from bytes received from outside, with a size limit.
    public static func decode(_ data: Data, limit: Int = 16 << 20) throws(BundleError) -> SignedEnvelope {
        guard data.count <= limit else { throw BundleError.tooLarge(bytes: data.count, limit: limit) }
        do {
            return try JSONDecoder().decode(SignedEnvelope.self, from: data)
        } catch {
            throw BundleError.malformed("not a signed envelope (truncated or corrupted download?): \(Self.describe(error))")
        }
    }

    /// Checks the signatures against `role` of `root` and returns the payload bytes.
    /// - Throws: `.unknownKey` for a signature by a key the role does not trust, `.badSignature`
    ///   for one that does not verify, `.thresholdNotMet` when too few valid signatures remain.
    public func verifiedPayload(type: String, role: String, root: RootMetadata) throws(BundleError) -> Data {
        guard payloadType == type else {
            throw BundleError.malformed("payload type is '\(payloadType)', expected '\(type)'")
        }
        guard let body = Data(base64Encoded: payload) else { throw BundleError.malformed("payload is not base64") }
        guard let roleKeys = root.roles[role] else { throw BundleError.malformed("trusted root defines no '\(role)' role") }
        let message = Self.preAuthEncoding(type: payloadType, body: body)
        var valid = Set<String>()
        var firstProblem: BundleError?
        for signature in signatures {
            guard roleKeys.keyids.contains(signature.keyid), let key = root.publicKey(signature.keyid) else {
                firstProblem = firstProblem ?? .unknownKey(keyid: signature.keyid, role: role)
                continue
            }
            guard let sig = Data(base64Encoded: signature.sig), key.isValidSignature(sig, for: message) else {
                firstProblem = firstProblem ?? .badSignature(keyid: signature.keyid)
                continue
            }
            valid.insert(signature.keyid)
        }
        guard valid.count >= roleKeys.threshold else {
            if let firstProblem { throw firstProblem }
            throw BundleError.thresholdNotMet(role: role, valid: valid.count, needed: roleKeys.threshold)
        }
        return body
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case let DecodingError.keyNotFound(key, context):
            return "field \((context.codingPath + [key]).map(\.stringValue).joined(separator: ".")) is missing"
        case let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context):
            return "field \(context.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type"
        case let DecodingError.dataCorrupted(context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? "invalid JSON" : "field \(path): \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }
}

/// Key ids: the first 16 bytes of SHA-256 over the raw public key, in hex.
public enum KeyID {
    /// The key id of an Ed25519 public key.
    public static func of(_ key: Curve25519.Signing.PublicKey) -> String {
        SHA256.hash(data: key.rawRepresentation).prefix(16).hexString
    }
}
