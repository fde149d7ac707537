import Foundation
import Registry
import RegistryServer

/// registryd's inputs as fuzz targets (see `FuzzTargets` for the kiosk's).
public enum RegistryFuzzTargets {
    /// The targets by name, as `scripts/fuzz.sh` and the corpus folders call them.
    public static let all: [String: @Sendable ([UInt8]) -> Void] = [
        "registry-auth": registryAuthentication,
    ]

    /// registryd's door: the request target's path check, the signature headers (the input split
    /// at newlines into target, header values and body), a submission body and a batch.
    @Sendable public static func registryAuthentication(_ bytes: [UInt8]) {
        let parts = bytes.split(separator: 0x0A, maxSplits: 6, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        func part(_ i: Int) -> String { i < parts.count ? parts[i] : "" }
        _ = CanonicalPathMiddleware<RegistryRequestContext>.problem(rawTarget: part(0))
        let headers = [KioskSignature.kioskIdHeader: part(1), KioskSignature.timestampHeader: part(2),
                       KioskSignature.nonceHeader: part(3), KioskSignature.signatureHeader: part(4)]
        if let signed = try? SignedRequestHeaders(values: { headers[$0].map { [$0] } ?? [] }) {
            try? signed.checkClock(now: Date())
            try? signed.verify(method: "POST", pathAndQuery: part(0), body: Data(part(6).utf8), publicKey: Data(repeating: 7, count: 32))
        }
        let body = Data(part(6).utf8)
        for kind in SubmissionKind.allCases { _ = try? RegistryRoutes.prepare(kind: kind, key: part(5), body: body) }
        _ = try? RegistryJSON.decoder().decode(BatchRequest.self, from: body)
    }
}
